import type { Transaction } from 'kysely';
import type { Tx } from '../app/ports.js';
import { Conflict } from '../core/errors.js';
import type { DB, Dialect } from './schema.js';

/** The storage side of a `Tx`: the open Kysely transaction and the work waiting for its commit. */
export class StorageTx implements Tx {
  /** Set once the transaction body has returned or thrown; using the handle after that is a bug. */
  finished = false;
  readonly callbacks: (() => void)[] = [];

  constructor(readonly db: Transaction<DB>) {}

  afterCommit(fn: () => void): void {
    if (this.finished) throw new Error('afterCommit on a finished transaction');
    this.callbacks.push(fn);
  }
}

/** The Kysely transaction behind a port-level `Tx`. */
export function q(tx: Tx): Transaction<DB> {
  if (!(tx instanceof StorageTx)) throw new Error('not a storage transaction');
  if (tx.finished) throw new Error('transaction already finished');
  return tx.db;
}

function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  // PostgreSQL: unique_violation. SQLite (better-sqlite3): extended result codes.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Run an insert, turning a duplicate key into a `Conflict` the API can report as 409. */
export async function insertUnique(entity: string, id: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    // Two requests racing with one idempotency key: the loser retries and replays the winner.
    if (/idempotency/.test((e as Error).message)) throw new Conflict('idempotency_key_in_use', 'a request with this Idempotency-Key was just created; retry to get it', { entity });
    throw new Conflict('already_exists', `${entity} ${id} already exists`, { entity, id });
  }
}

/** Split rows so one statement stays below the dialect's bind-parameter limit. */
export function chunks<T>(rows: readonly T[], columns: number, dialect: Dialect): T[][] {
  const maxParams = dialect === 'sqlite' ? 32_766 : 65_535;
  const size = Math.max(1, Math.min(1000, Math.floor(maxParams / columns)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
