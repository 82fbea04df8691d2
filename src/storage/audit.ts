import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AuditRepo } from '../app/ports.js';
import { RAW_DATA, canonical, chain, type AuditEvent, type Checkpoint, type WithRawData } from '../core/audit.js';
import { Conflict } from '../core/errors.js';
import type { AuditCheckpointsTable, AuditEventsTable, DB, Dialect } from './schema.js';
import { chunks, q } from './tx.js';

/** Kept deliberately plain: verifying a million events maps a million rows. */
const toEvent = (r: Selectable<AuditEventsTable>): AuditEvent => ({ ...toEventShell(r), data: JSON.parse(r.data) as Record<string, unknown> });
const toEventShell = (r: Selectable<AuditEventsTable>): Omit<AuditEvent, 'data'> => ({
  seq: r.seq,
  id: r.id,
  ts: r.ts,
  type: r.type,
  outcome: r.outcome,
  actorId: r.actor_id,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  requestId: r.request_id,
  reasons: parseList(r.reasons),
  prevHash: r.prev_hash,
  hash: r.hash,
});

const eventRow = (e: AuditEvent): AuditEventsTable => ({
  seq: e.seq,
  id: e.id,
  ts: e.ts,
  type: e.type,
  outcome: e.outcome,
  actor_id: e.actorId,
  principal_id: e.principalId,
  role_id: e.roleId,
  scope: e.scope,
  request_id: e.requestId,
  reasons: JSON.stringify(e.reasons),
  data: (e as WithRawData)[RAW_DATA] ?? canonical(e.data),
  prev_hash: e.prevHash,
  hash: e.hash,
});

const parseList = (s: string): string[] => (s === '[]' ? [] : (JSON.parse(s) as string[]));

/**
 * Scanned events carry their stored `data` text (canonical JSON) under RAW_DATA and parse it only
 * when someone reads `data`: verifying a million events hashes the text as stored.
 */
function withLazyData(e: Omit<AuditEvent, 'data'>, raw: string): AuditEvent {
  let parsed: Record<string, unknown> | undefined;
  Object.defineProperty(e, 'data', {
    enumerable: true,
    configurable: true,
    get: () => (parsed ??= JSON.parse(raw) as Record<string, unknown>),
  });
  (e as WithRawData)[RAW_DATA] = raw;
  return e as AuditEvent;
}

const COLUMNS = 'seq, id, ts, type, outcome, actor_id, principal_id, role_id, scope, request_id, reasons, data, prev_hash, hash';
type RawEvent = [number, string, number, string, AuditEvent['outcome'], string | null, string | null, string | null, string | null, string | null, string, string, string, string];

/**
 * SQLite hot path, straight on the better-sqlite3 connection Kysely also uses: one cached
 * prepared statement per event instead of compiling a fresh 14,000-parameter insert, and pages
 * read as arrays. Only call it while holding that connection (inside a transaction, or in
 * `db.connection()`), so it never interleaves with another caller's transaction.
 */
export class SqliteAuditFastPath {
  private insertStmt: BetterSqlite3.Statement<unknown[]> | null = null;
  private pageStmt: BetterSqlite3.Statement<[number, number], RawEvent> | null = null;

  constructor(private readonly raw: BetterSqlite3.Database) {}

  insert(events: readonly AuditEvent[]): void {
    this.insertStmt ??= this.raw.prepare(`insert into audit_events (${COLUMNS}) values (${COLUMNS.replace(/[a-z_]+/g, '?')})`);
    for (const e of events) {
      this.insertStmt.run(e.seq, e.id, e.ts, e.type, e.outcome, e.actorId, e.principalId, e.roleId, e.scope, e.requestId, JSON.stringify(e.reasons), (e as WithRawData)[RAW_DATA] ?? canonical(e.data), e.prevHash, e.hash);
    }
  }

  page(afterSeq: number, limit: number): AuditEvent[] {
    this.pageStmt ??= this.raw.prepare<[number, number], RawEvent>(`select ${COLUMNS} from audit_events where seq > ? order by seq limit ?`).raw(true);
    return this.pageStmt.all(afterSeq, limit).map((r) =>
      withLazyData(
        { seq: r[0], id: r[1], ts: r[2], type: r[3], outcome: r[4], actorId: r[5], principalId: r[6], roleId: r[7], scope: r[8], requestId: r[9], reasons: parseList(r[10]), prevHash: r[12], hash: r[13] },
        r[11],
      ),
    );
  }
}

const toCheckpoint = (r: Selectable<AuditCheckpointsTable>): Checkpoint => ({ seq: r.seq, hash: r.hash, ts: r.ts, keyId: r.key_id, signature: r.signature });

/**
 * @param db the store's root handle, for `scan`'s short reads outside any transaction
 * @param outsideTx throws when called inside one of this store's transactions (SQLite has one
 *   connection, so a read outside the open transaction would wait for it forever)
 */
export function auditRepo(db: Kysely<DB>, dialect: Dialect, outsideTx: () => void, fast: SqliteAuditFastPath | null): AuditRepo {
  const pg = dialect === 'postgres';

  const readPage = async (afterSeq: number, limit: number): Promise<AuditEvent[]> => {
    if (fast) return db.connection().execute(async () => fast.page(afterSeq, limit));
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
    return rows.map((r) => withLazyData(toEventShell(r), r.data));
  };

  async function readHead(trx: Transaction<DB>, lock: boolean): Promise<{ seq: number; hash: string }> {
    const r = await trx
      .selectFrom('audit_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .$if(pg && lock, (qb) => qb.forUpdate())
      .executeTakeFirstOrThrow();
    return { seq: Number(r.seq), hash: r.hash };
  }

  return {
    async append(tx, drafts) {
      const trx = q(tx);
      if (drafts.length === 0) return [];
      const events = chain(await readHead(trx, true), drafts);
      if (fast) fast.insert(events);
      else for (const part of chunks(events, 14, dialect)) await trx.insertInto('audit_events').values(part.map(eventRow)).execute();
      const last = events[events.length - 1]!;
      await trx.updateTable('audit_head').set({ seq: last.seq, hash: last.hash }).where('id', '=', 1).execute();
      return events;
    },

    head: (tx) => readHead(q(tx), false),
    lockHead: (tx) => readHead(q(tx), true),

    async query(tx, f) {
      const prefix = f.type?.endsWith('.*') ? f.type.slice(0, -1) : null;
      const rows = await q(tx)
        .selectFrom('audit_events')
        .selectAll()
        .$if(f.principalId !== undefined, (qb) => qb.where('principal_id', '=', f.principalId!))
        .$if(f.actorId !== undefined, (qb) => qb.where('actor_id', '=', f.actorId!))
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(f.scope === '/', (qb) => qb.where('scope', 'is not', null))
        .$if(f.scope !== undefined && f.scope !== '/', (qb) =>
          qb.where((eb) => eb.or([eb('scope', '=', f.scope!), eb(sql<string>`substr(scope, 1, ${sql.lit(f.scope!.length + 1)})`, '=', `${f.scope!}/`)])),
        )
        .$if(f.type !== undefined && prefix === null, (qb) => qb.where('type', '=', f.type!))
        .$if(prefix !== null, (qb) => qb.where(sql<string>`substr(type, 1, ${sql.lit(prefix!.length)})`, '=', prefix!))
        .$if(f.outcome !== undefined, (qb) => qb.where('outcome', '=', f.outcome as AuditEvent['outcome']))
        .$if(f.from !== undefined, (qb) => qb.where('ts', '>=', f.from!))
        .$if(f.to !== undefined, (qb) => qb.where('ts', '<=', f.to!))
        .$if(f.afterSeq !== undefined, (qb) => qb.where('seq', '>', f.afterSeq!))
        .orderBy('seq')
        .limit(f.limit)
        .execute();
      return rows.map(toEvent);
    },

    async *scan(fromSeq, pageSize) {
      outsideTx();
      // One short read per page, keyed on seq: no transaction stays open between pages. The next
      // page is already on its way while the caller works on this one.
      const prefetch = (afterSeq: number) => {
        const p = readPage(afterSeq, pageSize);
        p.catch(() => {}); // a caller that stops early never awaits it; the error still reaches one that does
        return p;
      };
      let next: Promise<AuditEvent[]> | null = prefetch(fromSeq - 1);
      while (next) {
        const page: AuditEvent[] = await next;
        next = page.length === pageSize ? prefetch(page[page.length - 1]!.seq) : null;
        if (page.length > 0) yield page;
      }
    },

    async insertCheckpoint(tx, c) {
      await q(tx).insertInto('audit_checkpoints').values({ seq: c.seq, hash: c.hash, ts: c.ts, key_id: c.keyId, signature: c.signature }).execute();
    },
    async lastCheckpoint(tx) {
      const r = await q(tx).selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return r ? toCheckpoint(r) : null;
    },
    async checkpoints(tx) {
      return (await q(tx).selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()).map(toCheckpoint);
    },

    async putKey(tx, keyId, publicKeyPem, at) {
      const trx = q(tx);
      const existing = await trx.selectFrom('audit_keys').select('public_key_pem').where('key_id', '=', keyId).executeTakeFirst();
      // A key id names one key forever: swapping the key behind an id would re-bless forged checkpoints.
      if (existing) {
        if (existing.public_key_pem !== publicKeyPem) throw new Conflict('audit_key_exists', `audit key ${keyId} is already registered with a different public key`, { keyId });
        return;
      }
      await trx.insertInto('audit_keys').values({ key_id: keyId, public_key_pem: publicKeyPem, created_at: at }).execute();
    },
    async keys(tx) {
      const rows = await q(tx).selectFrom('audit_keys').selectAll().orderBy('created_at').orderBy('key_id').execute();
      return rows.map((r) => ({ keyId: r.key_id, publicKeyPem: r.public_key_pem, createdAt: r.created_at }));
    },
  };
}
