import type { Kysely } from 'kysely';

/** Tables for alerts (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AlertTables {}

/** Migration 0006_alerts: runs inside the migration transaction. */
export async function alertsMigration(_db: Kysely<AlertTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {}
