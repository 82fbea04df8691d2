import type { AppDeps } from './context.js';
import type { CheckTap } from './check-tap.js';

/** Standing-access inventory and per-role rollout (issue 5 part 2). */
export function makeInventory(_deps: AppDeps, _tap: CheckTap) {
  return {
    /** Job: write the fallback-use counts gathered by this node; returns rows written. */
    async flushUse(): Promise<number> {
      return 0;
    },
  };
}
