import type { AuditEvent } from '../core/audit.js';
import { Conflict, NotFound } from '../core/errors.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import { systemActor, type Actor, type AppDeps } from './context.js';
import type { SiemDeadLetter, SiemSink } from './siem-ports.js';

/**
 * SIEM export of the audit log (issue 5 part 4), never on the request path. The audit rows are
 * the outbox: they commit with the change they record. Per sink a cursor row holds the last seq
 * handed over. `dispatch` leases the cursor (FOR UPDATE SKIP LOCKED on PostgreSQL, so one node
 * sends; the lease is a pushed-out next attempt, as in app/outbox.ts), reads the next batch after
 * it, sends it outside any transaction, then moves the cursor on. A failure counts an attempt and
 * backs off; after SIEM_MAX_ATTEMPTS the batch becomes a dead letter (visible, replayable) and the
 * cursor moves past it. At least once: a batch sent but not yet recorded is sent again after the
 * lease lapses (also after a restart). Audit seqs are gap-free and committed in order (the chain
 * head is locked by every append), so nothing is skipped.
 */

type Deps = Pick<AppDeps, 'store' | 'clock' | 'newId' | 'index'>;

export const SIEM_BATCH = 200;
export const SIEM_MAX_ATTEMPTS = 6;
const LEASE_MS = 60_000;
/** 5 s, 10 s, 20 s … at most 15 minutes. */
export const siemBackoffMs = (attempts: number): number => Math.min(15 * 60_000, 5_000 * 2 ** Math.max(0, attempts - 1));
/** Batches sent per sink in one dispatch while full ones keep coming. */
const MAX_BATCHES_PER_DISPATCH = 10;

export interface SiemSinkStatus {
  name: string;
  target: string;
  deliveredSeq: number;
  headSeq: number;
  lag: number;
  lastDeliveredAt: number | null;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  deadLetters: number;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 300) || 'delivery failed';

export function makeSiem(deps: Deps, sinks: Record<string, SiemSink>) {
  const { store, clock } = deps;
  const names = Object.keys(sinks).sort();
  const ensured = new Set<string>();
  const audit = { audit: store.audit, newId: deps.newId };

  /** One batch to one sink; returns events delivered and whether the batch was full. */
  async function deliverOne(name: string, sink: SiemSink): Promise<{ delivered: number; more: boolean }> {
    const now = clock.now();
    const leased = await store.transaction(async (tx) => {
      if (!ensured.has(name)) await store.siem.ensureCursor(tx, name, 0, now);
      const c = await store.siem.lockCursor(tx, name, 'lease', now);
      if (!c) return null;
      const events = await store.audit.query(tx, { afterSeq: c.deliveredSeq, limit: SIEM_BATCH });
      if (events.length === 0) return null;
      const leaseId = deps.newId();
      await store.siem.putCursor(tx, { ...c, nextAttemptAt: now + LEASE_MS, leaseId });
      return { events, leaseId };
    });
    ensured.add(name);
    if (!leased) return { delivered: 0, more: false };
    const { events, leaseId } = leased;
    const fromSeq = events[0]!.seq;
    const toSeq = events[events.length - 1]!.seq;

    let error: string | null = null;
    try {
      await sink.send(events);
    } catch (e) {
      error = errorText(e);
    }

    const at = clock.now();
    return store.transaction(async (tx) => {
      const c = await store.siem.lockCursor(tx, name, 'update', at);
      // Our lease lapsed and another node took the batch over: its outcome wins.
      if (!c || c.leaseId !== leaseId) return { delivered: 0, more: false };
      if (error === null) {
        await store.siem.putCursor(tx, { ...c, deliveredSeq: toSeq, lastDeliveredAt: at, attempts: 0, nextAttemptAt: at, lastError: null, leaseId: null });
        return { delivered: events.length, more: events.length === SIEM_BATCH };
      }
      const attempts = c.attempts + 1;
      if (attempts < SIEM_MAX_ATTEMPTS) {
        await store.siem.putCursor(tx, { ...c, attempts, nextAttemptAt: at + siemBackoffMs(attempts), lastError: error, leaseId: null });
        return { delivered: 0, more: false };
      }
      const dl: SiemDeadLetter = { id: deps.newId(), sink: name, fromSeq, toSeq, error, attempts, createdAt: at, replayedAt: null };
      await store.siem.insertDeadLetter(tx, dl);
      await store.siem.putCursor(tx, { ...c, deliveredSeq: toSeq, attempts: 0, nextAttemptAt: at, lastError: error, leaseId: null });
      await writeAudit(audit, tx, at, systemActor(at), {}, [
        draft('siem.dead_lettered', 'info', { deadLetterId: dl.id, sink: name, fromSeq, toSeq, attempts }, ['siem_delivery_failed']),
      ]);
      // The next batch waits for the next tick: this output has just failed many times.
      return { delivered: 0, more: false };
    });
  }

  async function statusRows(): Promise<SiemSinkStatus[]> {
    if (names.length === 0) return [];
    const { head, cursors, pending } = await store.transaction(async (tx) => ({
      head: await store.audit.head(tx),
      cursors: await store.siem.cursors(tx),
      pending: await store.siem.pendingDeadLetters(tx),
    }));
    return names.map((name) => {
      const c = cursors.find((x) => x.sink === name);
      const deliveredSeq = c?.deliveredSeq ?? 0;
      return {
        name,
        target: sinks[name]!.target,
        deliveredSeq,
        headSeq: head.seq,
        lag: Math.max(0, head.seq - deliveredSeq),
        lastDeliveredAt: c?.lastDeliveredAt ?? null,
        attempts: c?.attempts ?? 0,
        nextAttemptAt: c ? c.nextAttemptAt : null,
        lastError: c?.lastError ?? null,
        deadLetters: pending[name] ?? 0,
      };
    });
  }

  return {
    sinkNames: names,

    /** Job: deliver the next batches to each configured sink; returns events delivered. */
    async dispatch(): Promise<number> {
      let total = 0;
      for (const name of names) {
        for (let i = 0; i < MAX_BATCHES_PER_DISPATCH; i++) {
          const r = await deliverOne(name, sinks[name]!);
          total += r.delivered;
          if (!r.more) break;
        }
      }
      return total;
    },

    /** Per sink: cursor, head, lag and failures (no secrets). Unauthenticated: for metrics. */
    statusRows,

    async status(actor: Actor): Promise<SiemSinkStatus[]> {
      await requireAdmin(deps, actor, 'siem.status');
      return statusRows();
    },

    async deadLetters(actor: Actor, f: { sink?: string; limit: number }): Promise<SiemDeadLetter[]> {
      await requireAdmin(deps, actor, 'siem.dead_letters');
      return store.transaction((tx) => store.siem.deadLetters(tx, f));
    },

    /**
     * Admin: send a dead letter's events again, now (outside any transaction), and record the
     * outcome (audited). The cursor is not moved: later events were delivered already.
     */
    async replay(actor: Actor, id: string): Promise<SiemDeadLetter> {
      await requireAdmin(deps, actor, 'siem.replay', {});
      const { dl, events } = await store.transaction(async (tx) => {
        const d = await store.siem.deadLetter(tx, id);
        if (!d) throw new NotFound('not_found', 'dead letter not found');
        const span = d.toSeq - d.fromSeq + 1;
        const evs: AuditEvent[] = await store.audit.query(tx, { afterSeq: d.fromSeq - 1, limit: span });
        return { dl: d, events: evs.filter((e) => e.seq <= d.toSeq) };
      });
      const sink = sinks[dl.sink];
      if (!sink) throw new Conflict('sink_not_configured', `the ${dl.sink} SIEM output is not configured on this server`, { sink: dl.sink });
      let error: string | null = null;
      try {
        await sink.send(events);
      } catch (e) {
        error = errorText(e);
      }
      const at = clock.now();
      const out = await store.transaction(async (tx) => {
        const d = (await store.siem.deadLetter(tx, id, true)) ?? dl;
        const next: SiemDeadLetter = error === null ? { ...d, replayedAt: at } : { ...d, attempts: d.attempts + 1, error };
        await store.siem.updateDeadLetter(tx, next);
        await writeAudit(audit, tx, at, actor, {}, [
          error === null
            ? draft('siem.dead_letter_replayed', 'allowed', { deadLetterId: id, sink: dl.sink, fromSeq: dl.fromSeq, toSeq: dl.toSeq, events: events.length })
            : draft('siem.dead_letter_replay_failed', 'info', { deadLetterId: id, sink: dl.sink, fromSeq: dl.fromSeq, toSeq: dl.toSeq, error }, ['siem_delivery_failed']),
        ]);
        return next;
      });
      if (error !== null) throw new Conflict('replay_failed', `the ${dl.sink} output did not take the batch: ${error}`, { sink: dl.sink });
      return out;
    },
  };
}
