import type { AppDeps } from './context.js';
import type { CheckTap } from './check-tap.js';

/** The false-allow self-audit (issue 5 part 5). */
export function makeSelfAudit(_deps: AppDeps, _tap: CheckTap) {
  return {
    /** Job: re-derive sampled check answers from the grant history; returns answers re-derived. */
    async run(): Promise<number> {
      return 0;
    },
  };
}
