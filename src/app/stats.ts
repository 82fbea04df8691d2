import type { Checkpoint } from '../core/audit.js';
import { Invalid } from '../core/errors.js';
import { computeStats, DAY_MS, MAX_STATS_PERIOD_MS, utcDayStart, type Stats } from '../core/stats.js';
import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';

/** The dashboard's figures and the audit chain's last checkpoint, for administrators. */
export function makeStats(deps: Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>) {
  const { store, clock } = deps;
  return {
    /**
     * Figures for [from, to): by default the last 30 UTC days up to now. One read transaction
     * gathers the facts; core/stats.ts computes the figures.
     */
    async get(actor: Actor, period: { from?: number | null; to?: number | null } = {}): Promise<Stats> {
      await requireAdmin(deps, actor, 'stats.read');
      const now = clock.now();
      const to = period.to ?? now;
      const from = period.from ?? utcDayStart(to - 1) - 29 * DAY_MS;
      if (from >= to) throw new Invalid('invalid_period', 'from must be before to', { field: 'from' });
      if (to - from > MAX_STATS_PERIOD_MS) throw new Invalid('period_too_long', `a period is at most ${MAX_STATS_PERIOD_MS / DAY_MS} days`, { field: 'to' });
      const facts = await store.transaction((tx) => store.stats.facts(tx, from, to));
      return computeStats({ from, to, now }, facts);
    },

    /** The newest signed checkpoint (null before the first): shown next to the chain's verification. */
    async lastCheckpoint(actor: Actor): Promise<Checkpoint | null> {
      await requireAdmin(deps, actor, 'audit.verify');
      return store.transaction((tx) => store.audit.lastCheckpoint(tx));
    },
  };
}
