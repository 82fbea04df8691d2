import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { IndexChange, IndexSink, Store } from '../app/ports.js';
import { auditRepo, SqliteAuditFastPath } from './audit.js';
import { breakglassRepo, challengeRepo, identityRepo, localAccountRepo, mfaRepo, outboxRepo, scimTokenRepo, sessionRepo, throttleRepo } from './identity-repos.js';
import { loadIndexPostgres, loadIndexSqlite } from './load-index.js';
import { migrate } from './migrations.js';
import { approvalRepo, assignmentRepo, eligibilityRepo, membershipRepo, principalRepo, requestRepo, roleRepo, tokenRepo } from './repos.js';
import type { DB, Dialect } from './schema.js';
import { renewalRepo } from './renewal-repo.js';
import { statsRepo } from './stats-repo.js';
import { alertRepo } from './alerts-repo.js';
import { inventoryRepo } from './inventory-repo.js';
import { reviewRepo } from './reviews-repo.js';
import { siemRepo } from './siem-repo.js';
import { q, StorageTx } from './tx.js';

export { migrate } from './migrations.js';

export interface StoreOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; otherwise the embedded SQLite store is used. */
  databaseUrl?: string;
  /** SQLite file (parent directory created), or ':memory:'. */
  sqlitePath?: string;
  /** PostgreSQL only: keep every table (and the change channel) in this schema. */
  pgSchema?: string;
  log?: (msg: string) => void;
}

/** What differs between the two backends once Kysely is set up. */
interface Backend {
  dialect: Dialect;
  db: Kysely<DB>;
  publish(trx: Transaction<DB>, change: IndexChange): Promise<void>;
  listen(onChange: (c: IndexChange) => void, onResync?: () => void): Promise<() => Promise<void>>;
  loadIndex(sink: IndexSink): Promise<void>;
  close(): Promise<void>;
  auditFastPath: SqliteAuditFastPath | null;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const url = opts.databaseUrl?.trim();
  let backend: Backend;
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    backend = await openPostgres(url, opts.pgSchema, log);
  } else if (url) {
    throw new Error('databaseUrl must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite store)');
  } else {
    if (!opts.sqlitePath) throw new Error('sqlitePath is required when no databaseUrl is given');
    backend = openSqlite(opts.sqlitePath);
  }
  try {
    await migrate(backend.db, backend.dialect);
  } catch (e) {
    await backend.close();
    throw e;
  }
  return assemble(backend, log);
}

/**
 * Kysely's SQLite driver prepares every statement anew; SQL text repeats, so reuse the compiled
 * statement (SQLite parses and plans once). A statement still iterating is never handed out twice.
 */
function withStatementCache(raw: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    const hit = cache.get(sql);
    if (hit && !hit.busy) return hit;
    const stmt = raw.prepare(sql);
    if (cache.size >= 1000) cache.clear();
    cache.set(sql, stmt);
    return stmt;
  };
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === 'prepare') return prepare;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function openSqlite(path: string): Backend {
  const memory = path === ':memory:';
  if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // Kysely's SQLite driver owns one connection and queues everything on it: transactions from
  // concurrent callers run one after another.
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return {
    dialect: 'sqlite',
    db,
    publish: async () => {},
    listen: async () => async () => {},
    loadIndex: (sink) => loadIndexSqlite(db, raw, sink),
    close: () => db.destroy(),
    auditFastPath: new SqliteAuditFastPath(raw),
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,46}$/;

async function openPostgres(url: string, schema: string | undefined, log: (msg: string) => void): Promise<Backend> {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`pgSchema must match ${SCHEMA_NAME.source}`);
  // int8 (bigint) columns hold millisecond times and sequence numbers: read them as JS numbers.
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const config: pg.ClientConfig = { connectionString: url, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  if (schema) {
    const c = new pg.Client(config);
    await c.connect();
    try {
      await c.query(`create schema if not exists "${schema}"`);
    } finally {
      await c.end();
    }
  }
  const pool = new pg.Pool({ ...config, max: 10 });
  pool.on('error', (e) => log(`postgres pool: idle client error: ${e.message}`));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  // Channels are per schema, so stores in different schemas of one database do not hear each other.
  const channel = schema ? `elevate_changes_${schema}` : 'elevate_changes';
  const listeners = new Set<() => Promise<void>>();

  return {
    dialect: 'postgres',
    db,
    // NOTIFY inside the transaction is delivered when (and only if) it commits.
    publish: async (trx, change) => {
      await sql`select pg_notify(${channel}, ${JSON.stringify(change)})`.execute(trx);
    },
    listen: async (onChange, onResync) => {
      const close = await listenPostgres(config, channel, onChange, log, onResync);
      const unsubscribe = async () => {
        listeners.delete(unsubscribe);
        await close();
      };
      listeners.add(unsubscribe);
      return unsubscribe;
    },
    loadIndex: (sink) => loadIndexPostgres(db, sink),
    auditFastPath: null,
    close: async () => {
      await Promise.all([...listeners].map((l) => l()));
      await db.destroy();
    },
  };
}

/**
 * A dedicated connection that LISTENs on the change channel, reconnecting after a lost connection.
 * Notifications sent while it is down are lost, so after reconnecting it asks the subscriber to resync.
 */
async function listenPostgres(
  config: pg.ClientConfig,
  channel: string,
  onChange: (c: IndexChange) => void,
  log: (msg: string) => void,
  onResync?: () => void,
): Promise<() => Promise<void>> {
  let closed = false;
  let current: pg.Client | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let reconnecting = false;

  const retry = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect().catch((e: Error) => {
        log(`change feed: reconnect failed: ${e.message}`);
        retry();
      });
    }, 1000);
    retryTimer.unref();
  };

  const connect = async () => {
    const c = new pg.Client(config);
    c.on('notification', (msg) => {
      if (msg.channel !== channel || msg.payload === undefined) return;
      try {
        onChange(JSON.parse(msg.payload) as IndexChange);
      } catch (e) {
        log(`change feed: handler failed: ${(e as Error).message}`);
      }
    });
    c.on('error', (e) => log(`change feed: connection error: ${e.message}`));
    try {
      await c.connect();
      await c.query(`listen "${channel}"`);
    } catch (e) {
      await c.end().catch(() => {});
      throw e;
    }
    if (closed) {
      await c.end();
      return;
    }
    // After a reconnect, changes published while the feed was down are unknown: the subscriber reloads.
    if (reconnecting) {
      reconnecting = false;
      log('change feed: reconnected; asking for a full resync');
      onResync?.();
    }
    c.on('end', () => {
      if (current !== c) return;
      current = null;
      if (!closed) {
        log('change feed: connection lost, reconnecting');
        reconnecting = true;
        retry();
      }
    });
    current = c;
  };

  await connect();
  return async () => {
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    const c = current;
    current = null;
    if (c) await c.end();
  };
}

function assemble(b: Backend, log: (msg: string) => void): Store {
  const { db, dialect } = b;
  // Marks the async context of a running transaction, to refuse nested ones (on SQLite they would
  // wait forever for the one connection the outer transaction holds).
  const inTx = new AsyncLocalStorage<true>();
  const outsideTx = () => {
    if (inTx.getStore()) throw new Error('this call cannot run inside a transaction: pass the open Tx, or call it after the transaction');
  };

  return {
    dialect,
    principals: principalRepo(),
    members: membershipRepo(dialect),
    tokens: tokenRepo(),
    roles: roleRepo(b.dialect),
    eligibilities: eligibilityRepo(dialect),
    assignments: assignmentRepo(dialect),
    requests: requestRepo(dialect),
    identities: identityRepo(),
    localAccounts: localAccountRepo(),
    throttles: throttleRepo(dialect),
    sessions: sessionRepo(dialect),
    mfa: mfaRepo(dialect),
    challenges: challengeRepo(dialect),
    outbox: outboxRepo(dialect),
    breakglass: breakglassRepo(),
    renewals: renewalRepo(dialect),
    scimTokens: scimTokenRepo(),
    stats: statsRepo(),
    reviews: reviewRepo(dialect),
    alerts: alertRepo(dialect),
    siem: siemRepo(dialect),
    inventory: inventoryRepo(dialect),
    approvals: approvalRepo(),
    audit: auditRepo(db, dialect, outsideTx, b.auditFastPath),
    changes: { publish: (tx, change) => b.publish(q(tx), change) },

    async transaction(fn) {
      outsideTx();
      let tx: StorageTx | undefined;
      const result = await inTx.run(true, () =>
        db.transaction().execute(async (trx) => {
          tx = new StorageTx(trx);
          try {
            return await fn(tx);
          } finally {
            tx.finished = true;
          }
        }),
      );
      // Committed: now, and only now, the effects that waited for it.
      for (const cb of tx!.callbacks) {
        try {
          cb();
        } catch (e) {
          log(`afterCommit callback failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
      }
      return result;
    },

    async loadIndex(sink) {
      outsideTx();
      await b.loadIndex(sink);
    },
    listen: (onChange, onResync) => b.listen(onChange, onResync),
    close: () => b.close(),
  };
}
