import type { Kysely } from 'kysely';

/** Tables for siem (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SiemTables {}

/** Migration 0007_siem: runs inside the migration transaction. */
export async function siemMigration(_db: Kysely<SiemTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {}
