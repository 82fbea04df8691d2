import type { Kysely } from 'kysely';

/** Tables for inventory (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */

/** Standing access held outside Elevate, imported per system (CSV/JSON). Re-importing a system replaces its rows. */
export interface StandingImportsTable {
  id: string;
  system: string;
  /** Line (CSV) or item number (JSON), 1-based, in the file it came from. */
  line: number;
  /** The Elevate principal it matched, or null (then `principal_name` is the external name). */
  principal_id: string | null;
  principal_name: string;
  privilege: string;
  scope: string;
  since: number | null;
  last_used_at: number | null;
  justification: string;
  /** The Elevate role this privilege maps to (makes the row convertible when the principal is known). */
  role_id: string | null;
  imported_at: number;
  imported_by: string;
  converted_at: number | null;
  eligibility_id: string | null;
}

/** Per-role rollout mode on the road from standing to just-in-time access (no row = `none`). */
export interface RoleRolloutTable {
  role_id: string;
  mode: 'none' | 'awareness' | 'enforced';
  changed_at: number;
  changed_by: string;
}

/** Uses of standing (direct) grants of roles in awareness mode, per assignment and day (UTC). */
export interface StandingUseTable {
  assignment_id: string;
  day: number;
  role_id: string;
  principal_id: string;
  uses: number;
  last_used_at: number;
}

export interface InventoryTables {
  standing_imports: StandingImportsTable;
  role_rollout: RoleRolloutTable;
  standing_use: StandingUseTable;
}

/** Migration 0008_inventory: runs inside the migration transaction. */
export async function inventoryMigration(db: Kysely<InventoryTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  const s = db.schema;
  await s
    .createTable('standing_imports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('principal_id', 'text')
    .addColumn('principal_name', 'text', (c) => c.notNull())
    .addColumn('privilege', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('since', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('justification', 'text', (c) => c.notNull())
    .addColumn('role_id', 'text')
    .addColumn('imported_at', 'bigint', (c) => c.notNull())
    .addColumn('imported_by', 'text', (c) => c.notNull())
    .addColumn('converted_at', 'bigint')
    .addColumn('eligibility_id', 'text')
    .execute();
  await s.createIndex('standing_imports_system').on('standing_imports').columns(['system', 'line']).execute();
  await s.createIndex('standing_imports_role').on('standing_imports').columns(['role_id']).execute();

  await s
    .createTable('role_rollout')
    .addColumn('role_id', 'text', (c) => c.primaryKey())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .execute();

  await s
    .createTable('standing_use')
    .addColumn('assignment_id', 'text', (c) => c.notNull())
    .addColumn('day', 'bigint', (c) => c.notNull())
    .addColumn('role_id', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('uses', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('standing_use_pk', ['assignment_id', 'day'])
    .execute();
  await s.createIndex('standing_use_role_day').on('standing_use').columns(['role_id', 'day']).execute();
}
