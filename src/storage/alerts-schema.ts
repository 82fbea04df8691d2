import { sql, type Kysely } from 'kysely';

/** Tables for alerts (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
export interface AlertsTable {
  id: string;
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  status: 'open' | 'acknowledged' | 'resolved';
  dedupe_key: string;
  title: string;
  summary: string;
  /** JSON string[] */
  principals: string;
  role_id: string | null;
  scope: string | null;
  /** JSON string[]: audit event ids, at most 100 (the first ones kept, then the latest). */
  events: string;
  /** JSON object */
  details: string;
  count: number;
  first_seen_at: number;
  last_seen_at: number;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
  note: string | null;
}

/** One row (`id = 'main'`): the last audit seq the scanner read, and when the state rules last ran. */
export interface DetectionCursorTable {
  id: string;
  seq: number;
  state_run_at: number | null;
  updated_at: number;
}

/** One row (`id = 'main'`): the detection settings as JSON (absent = defaults). */
export interface DetectionSettingsTable {
  id: string;
  settings: string;
  updated_by: string;
  updated_at: number;
}

export interface AlertTables {
  alerts: AlertsTable;
  detection_cursor: DetectionCursorTable;
  detection_settings: DetectionSettingsTable;
}

/** Migration 0006_alerts: runs inside the migration transaction. */
export async function alertsMigration(db: Kysely<AlertTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  const s = db.schema;
  await s
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('principals', 'text', (c) => c.notNull())
    .addColumn('role_id', 'text')
    .addColumn('scope', 'text')
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_by', 'text')
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', 'bigint')
    .addColumn('note', 'text')
    .execute();
  // At most one unresolved alert per rule + key, also when two raisers race.
  await s.createIndex('alerts_one_unresolved').on('alerts').columns(['rule', 'dedupe_key']).unique().where(sql<boolean>`status <> 'resolved'`).execute();
  await s.createIndex('alerts_status_seen').on('alerts').columns(['status', 'last_seen_at']).execute();
  await s.createIndex('alerts_seen').on('alerts').column('last_seen_at').execute();
  await s
    .createTable('detection_cursor')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('state_run_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('detection_cursor').values({ id: 'main', seq: 0, state_run_at: null, updated_at: 0 }).execute();
  await s
    .createTable('detection_settings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
