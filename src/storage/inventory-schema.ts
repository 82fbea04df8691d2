import type { Kysely } from 'kysely';

/** Tables for inventory (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InventoryTables {}

/** Migration 0008_inventory: runs inside the migration transaction. */
export async function inventoryMigration(_db: Kysely<InventoryTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {}
