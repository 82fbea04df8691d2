import type { AppDeps } from './context.js';
import type { Sender } from './outbox.js';

/** SIEM export of the audit log (issue 5 part 4). */
export function makeSiem(_deps: AppDeps, _sinks: Record<string, Sender>) {
  return {
    /** Job: deliver the next batch to each configured sink; returns events delivered. */
    async dispatch(): Promise<number> {
      return 0;
    },
  };
}
