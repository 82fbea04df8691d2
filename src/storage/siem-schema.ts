import type { Kysely } from 'kysely';

/** Tables for siem (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */

/** One row per configured SIEM sink: the last audit seq handed over, and the retry state of the batch after it. */
export interface SiemCursorsTable {
  sink: string;
  delivered_seq: number;
  last_delivered_at: number | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  lease_id: string | null;
}

/** Batches given up on after too many attempts (the cursor moved on); replayable by an admin. */
export interface SiemDeadLettersTable {
  id: string;
  sink: string;
  from_seq: number;
  to_seq: number;
  error: string;
  attempts: number;
  created_at: number;
  replayed_at: number | null;
}

/** Runs of the false-allow self-audit. */
export interface SelfAuditRunsTable {
  id: string;
  at: number;
  sampled: number;
  disagreements: number;
  false_allows: number;
  inconclusive: number;
}

export interface SiemTables {
  siem_cursors: SiemCursorsTable;
  siem_dead_letters: SiemDeadLettersTable;
  selfaudit_runs: SelfAuditRunsTable;
}

/** Migration 0007_siem: runs inside the migration transaction. */
export async function siemMigration(db: Kysely<SiemTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  const s = db.schema;
  await s
    .createTable('siem_cursors')
    .addColumn('sink', 'text', (c) => c.primaryKey())
    .addColumn('delivered_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_delivered_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('lease_id', 'text')
    .execute();
  await s
    .createTable('siem_dead_letters')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sink', 'text', (c) => c.notNull())
    .addColumn('from_seq', 'bigint', (c) => c.notNull())
    .addColumn('to_seq', 'bigint', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('replayed_at', 'bigint')
    .execute();
  await s.createIndex('siem_dead_letters_sink').on('siem_dead_letters').columns(['sink', 'created_at']).execute();
  await s
    .createTable('selfaudit_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('sampled', 'integer', (c) => c.notNull())
    .addColumn('disagreements', 'integer', (c) => c.notNull())
    .addColumn('false_allows', 'integer', (c) => c.notNull())
    .addColumn('inconclusive', 'integer', (c) => c.notNull())
    .execute();
  await s.createIndex('selfaudit_runs_at').on('selfaudit_runs').column('at').execute();
}
