import type { AppDeps } from './context.js';

/** Detection rules → alerts (issue 5 part 3). */
export function makeAlerts(_deps: AppDeps) {
  return {
    /** Job: run the rules over audit events since the cursor and over current state; returns alerts raised or updated. */
    async scan(): Promise<number> {
      return 0;
    },
  };
}
