import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import type { OutboxItem } from './ports.js';

/**
 * Effects leave through the outbox after commit. An item is leased (its next attempt pushed out),
 * sent outside any transaction, then marked delivered, or retried with back-off; after
 * MAX_ATTEMPTS it stays undelivered and visible (a dead letter), never silently dropped.
 */

type Deps = Pick<AppDeps, 'store' | 'clock' | 'newId' | 'index'>;

/** Delivers one item; throws to have it retried. Idempotent on the receiving side by item id. */
export type Sender = (item: OutboxItem) => Promise<void>;

export const MAX_ATTEMPTS = 12;
const LEASE_MS = 60_000;
export const backoffMs = (attempts: number): number => Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));

export function makeOutbox(deps: Deps, senders: Partial<Record<string, Sender>>) {
  const { store, clock } = deps;
  return {
    /** Send what is due; returns how many items were attempted. */
    async dispatch(limit = 50): Promise<number> {
      const now = clock.now();
      const batch = await store.transaction(async (tx) => {
        const items = await store.outbox.leaseDue(tx, now, limit);
        for (const i of items) await store.outbox.update(tx, { ...i, nextAttemptAt: now + LEASE_MS });
        return items;
      });
      for (const item of batch) {
        const send = senders[item.kind];
        let error: string | null = null;
        try {
          if (!send) throw new Error(`no channel is configured for "${item.kind}" (set ELEVATE_NOTIFY_WEBHOOK_URL)`);
          await send(item);
        } catch (e) {
          error = (e instanceof Error ? e.message : String(e)).slice(0, 300);
        }
        const at = clock.now();
        const attempts = item.attempts + 1;
        const next: OutboxItem = error
          ? { ...item, attempts, lastError: error, nextAttemptAt: attempts >= MAX_ATTEMPTS ? Number.MAX_SAFE_INTEGER : at + backoffMs(attempts) }
          : { ...item, attempts, lastError: null, deliveredAt: at };
        await store.transaction((tx) => store.outbox.update(tx, next));
      }
      return batch.length;
    },

    /** Admin: what is waiting or failed (dead letters have attempts = MAX_ATTEMPTS). */
    async list(actor: Actor, f: { kind?: string; undeliveredOnly?: boolean; limit: number }): Promise<OutboxItem[]> {
      await requireAdmin(deps, actor, 'outbox.list');
      return store.transaction((tx) => store.outbox.list(tx, f));
    },
  };
}
