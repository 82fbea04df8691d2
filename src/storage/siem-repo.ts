import type { Selectable } from 'kysely';
import type { SelfAuditRun, SiemCursor, SiemDeadLetter, SiemRepo } from '../app/siem-ports.js';
import type { Dialect } from './schema.js';
import type { SiemCursorsTable, SiemDeadLettersTable } from './siem-schema.js';
import { q } from './tx.js';

const toCursor = (r: Selectable<SiemCursorsTable>): SiemCursor => ({
  sink: r.sink,
  deliveredSeq: Number(r.delivered_seq),
  lastDeliveredAt: r.last_delivered_at === null ? null : Number(r.last_delivered_at),
  attempts: r.attempts,
  nextAttemptAt: Number(r.next_attempt_at),
  lastError: r.last_error,
  leaseId: r.lease_id,
});

const toDeadLetter = (r: Selectable<SiemDeadLettersTable>): SiemDeadLetter => ({
  id: r.id,
  sink: r.sink,
  fromSeq: Number(r.from_seq),
  toSeq: Number(r.to_seq),
  error: r.error,
  attempts: r.attempts,
  createdAt: Number(r.created_at),
  replayedAt: r.replayed_at === null ? null : Number(r.replayed_at),
});

export function siemRepo(dialect: Dialect): SiemRepo {
  const pg = dialect === 'postgres';
  return {
    async ensureCursor(tx, sink, deliveredSeq, now) {
      await q(tx)
        .insertInto('siem_cursors')
        .values({ sink, delivered_seq: deliveredSeq, last_delivered_at: null, attempts: 0, next_attempt_at: now, last_error: null, lease_id: null })
        .onConflict((oc) => oc.column('sink').doNothing())
        .execute();
    },
    async lockCursor(tx, sink, mode, now) {
      const r = await q(tx)
        .selectFrom('siem_cursors')
        .selectAll()
        .where('sink', '=', sink)
        .$if(mode === 'lease', (qb) => qb.where('next_attempt_at', '<=', now))
        .$if(pg && mode === 'lease', (qb) => qb.forUpdate().skipLocked())
        .$if(pg && mode === 'update', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toCursor(r) : null;
    },
    async putCursor(tx, c) {
      await q(tx)
        .updateTable('siem_cursors')
        .set({ delivered_seq: c.deliveredSeq, last_delivered_at: c.lastDeliveredAt, attempts: c.attempts, next_attempt_at: c.nextAttemptAt, last_error: c.lastError, lease_id: c.leaseId })
        .where('sink', '=', c.sink)
        .execute();
    },
    async cursors(tx) {
      return (await q(tx).selectFrom('siem_cursors').selectAll().orderBy('sink').execute()).map(toCursor);
    },

    async insertDeadLetter(tx, d) {
      await q(tx)
        .insertInto('siem_dead_letters')
        .values({ id: d.id, sink: d.sink, from_seq: d.fromSeq, to_seq: d.toSeq, error: d.error, attempts: d.attempts, created_at: d.createdAt, replayed_at: d.replayedAt })
        .execute();
    },
    async deadLetter(tx, id, forUpdate = false) {
      const r = await q(tx)
        .selectFrom('siem_dead_letters')
        .selectAll()
        .where('id', '=', id)
        .$if(pg && forUpdate, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toDeadLetter(r) : null;
    },
    async updateDeadLetter(tx, d) {
      await q(tx).updateTable('siem_dead_letters').set({ error: d.error, attempts: d.attempts, replayed_at: d.replayedAt }).where('id', '=', d.id).execute();
    },
    async deadLetters(tx, f) {
      const rows = await q(tx)
        .selectFrom('siem_dead_letters')
        .selectAll()
        .$if(f.sink !== undefined, (qb) => qb.where('sink', '=', f.sink!))
        .orderBy('created_at', 'desc')
        .orderBy('from_seq', 'desc')
        .limit(f.limit)
        .execute();
      return rows.map(toDeadLetter);
    },
    async pendingDeadLetters(tx) {
      const rows = await q(tx)
        .selectFrom('siem_dead_letters')
        .select(['sink', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('replayed_at', 'is', null)
        .groupBy('sink')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.sink, Number(r.n)]));
    },

    async insertSelfAuditRun(tx, r: SelfAuditRun) {
      await q(tx)
        .insertInto('selfaudit_runs')
        .values({ id: r.id, at: r.at, sampled: r.sampled, disagreements: r.disagreements, false_allows: r.falseAllows, inconclusive: r.inconclusive })
        .execute();
    },
    async selfAuditRuns(tx, limit) {
      const rows = await q(tx).selectFrom('selfaudit_runs').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({ id: r.id, at: Number(r.at), sampled: r.sampled, disagreements: r.disagreements, falseAllows: r.false_allows, inconclusive: r.inconclusive }));
    },
    async falseAllowTotal(tx) {
      const r = await q(tx)
        .selectFrom('selfaudit_runs')
        .select((eb) => eb.fn.sum<number | string | null>('false_allows').as('n'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
  };
}
