import type { AppDeps } from './context.js';

/** Access reviews (issue 5 part 1). */
export function makeReviews(_deps: AppDeps) {
  return {
    /** Job: start scheduled campaigns, send reminders, end and auto-apply due ones, create the next occurrence. Returns work done. */
    async tick(): Promise<number> {
      return 0;
    },
  };
}
