import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { makeAuditService } from '../src/app/maintenance.js';
import type { AuditDraftRow, Store } from '../src/app/ports.js';
import * as auditCore from '../src/core/audit.js';
import { canonical, GENESIS_HASH, type AuditEventBody } from '../src/core/audit.js';
import { testSigner } from '../test/helpers/harness.js';
import { clock, fmt, log, now, PG_URL, pgStore, Results, scaled, sqliteStore } from './lib/common.js';
import type { BenchContext } from './lib/context.js';
import { profiled } from './lib/profile.js';

/** The canonical form hashEvent uses: the app's event-specific serializer where it has one. */
const canonicalEvent: (b: AuditEventBody) => string = (auditCore as { canonicalEvent?: (b: AuditEventBody) => string }).canonicalEvent ?? canonical;

/** Events shaped like the ones activations write (request.created with the actor's auth facts). */
function drafts(n: number, t: number): AuditDraftRow[] {
  const out: AuditDraftRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const u = `u${String(i % 100_000).padStart(6, '0')}`;
    out[i] = {
      id: randomUUID(),
      ts: t + i,
      type: i % 2 ? 'assignment.activated' : 'request.created',
      outcome: i % 2 ? 'allowed' : 'info',
      actorId: u,
      principalId: u,
      roleId: `r${String(i % 50).padStart(2, '0')}`,
      scope: `/prod/t${String(i % 20).padStart(2, '0')}/s${i % 10}`,
      requestId: randomUUID(),
      reasons: [],
      data:
        i % 2
          ? { assignmentId: randomUUID(), startsAt: t, endsAt: t + 1_800_000, auth: { method: 'token', tokenId: randomUUID(), mfa: 'none' } }
          : { durationMs: 1_800_000, justification: 'deploy hotfix for INC-4242', ticket: null, startAt: null, status: 'active', assignmentId: null, sourceIp: '127.0.0.1', auth: { method: 'token', tokenId: randomUUID(), mfa: 'none' } },
    };
  }
  return out;
}

/** Append `total` events in transactions of `batch` through store.audit.append; events/s over the appends only. */
async function append(store: Store, total: number, batch: number): Promise<{ perSec: number; ms: number }> {
  let ms = 0;
  const CHUNK = 100_000;
  for (let done = 0; done < total; done += CHUNK) {
    const rows = drafts(Math.min(CHUNK, total - done), clock.now());
    const t0 = now();
    for (let i = 0; i < rows.length; i += batch) {
      const part = rows.slice(i, i + batch);
      await store.transaction((tx) => store.audit.append(tx, part));
    }
    ms += now() - t0;
  }
  return { perSec: (total / ms) * 1000, ms };
}

const DDL = `create table audit_events (seq integer primary key, id text not null, ts bigint not null, type text not null, outcome text not null,
  actor_id text, principal_id text, role_id text, scope text, request_id text, reasons text not null, data text not null, prev_hash text not null, hash text not null);
create index audit_events_type on audit_events (type, seq);
create index audit_events_principal on audit_events (principal_id, seq);
create index audit_events_ts on audit_events (ts);`;

/** Baseline: the same rows into the same table and indexes with a plain better-sqlite3 loop (no chain, no hashing, no head). */
function plainSqliteInsert(total: number, batch: number): { perSec: number } {
  const dir = mkdtempSync(join(tmpdir(), 'elevate-plain-'));
  const db = new Database(join(dir, 'plain.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(DDL);
    const stmt = db.prepare('insert into audit_events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const tx = db.transaction((rows: AuditDraftRow[], seq0: number) => {
      let seq = seq0;
      for (const e of rows) stmt.run(++seq, e.id, e.ts, e.type, e.outcome, e.actorId, e.principalId, e.roleId, e.scope, e.requestId, JSON.stringify(e.reasons), JSON.stringify(e.data), GENESIS_HASH, GENESIS_HASH);
    });
    let ms = 0;
    let seq = 0;
    for (let done = 0; done < total; done += 100_000) {
      const rows = drafts(Math.min(100_000, total - done), clock.now());
      const t0 = now();
      for (let i = 0; i < rows.length; i += batch) {
        tx(rows.slice(i, i + batch), seq);
        seq += Math.min(batch, rows.length - i);
      }
      ms += now() - t0;
    }
    return { perSec: (total / ms) * 1000 };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Baseline on PostgreSQL: the same rows as multi-row INSERTs in transactions of `batch` on one plain connection. */
async function plainPgInsert(schema: string, total: number, batch: number): Promise<{ perSec: number }> {
  const c = new pg.Client({ connectionString: PG_URL!, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await c.query(`create table plain_events (seq bigint primary key, id text not null, ts bigint not null, type text not null, outcome text not null,
      actor_id text, principal_id text, role_id text, scope text, request_id text, reasons text not null, data text not null, prev_hash text not null, hash text not null)`);
    await c.query('create index on plain_events (type, seq); create index on plain_events (principal_id, seq); create index on plain_events (ts)');
    let ms = 0;
    let seq = 0;
    for (let done = 0; done < total; done += 100_000) {
      const rows = drafts(Math.min(100_000, total - done), clock.now());
      const t0 = now();
      for (let i = 0; i < rows.length; i += batch) {
        const part = rows.slice(i, i + batch);
        const params: unknown[] = [];
        const values = part.map((e) => {
          const b = params.length;
          params.push(++seq, e.id, e.ts, e.type, e.outcome, e.actorId, e.principalId, e.roleId, e.scope, e.requestId, JSON.stringify(e.reasons), JSON.stringify(e.data), GENESIS_HASH, GENESIS_HASH);
          return `(${Array.from({ length: 14 }, (_, k) => `$${b + k + 1}`).join(',')})`;
        });
        await c.query('begin');
        await c.query(`insert into plain_events values ${values.join(',')}`, params);
        await c.query('commit');
      }
      ms += now() - t0;
    }
    return { perSec: (total / ms) * 1000 };
  } finally {
    await c.end();
  }
}

export async function audit(_ctx: BenchContext): Promise<Results> {
  const res = new Results('audit');
  const TOTAL = scaled(1_000_000, 10_000);
  const signer = testSigner();

  // ------------------------------------------------------------------ SQLite
  const bs = await sqliteStore();
  try {
    const svc = makeAuditService({ store: bs.store, clock }, signer);
    await svc.registerKey();
    // Small batches first (the per-request case), then batches of 1000 up to TOTAL events in all.
    const small = [
      { batch: 1, n: scaled(2_000, 200) },
      { batch: 10, n: scaled(10_000, 1000) },
      { batch: 100, n: scaled(50_000, 5000) },
    ];
    const rates: Record<number, number> = {};
    let appended = 0;
    for (const s of small) {
      rates[s.batch] = (await append(bs.store, s.n, s.batch)).perSec;
      appended += s.n;
    }
    const big = await profiled('audit-append-sqlite', () => append(bs.store, TOTAL - appended, 1000));
    rates[1000] = big.perSec;
    log(`audit sqlite append events/s by batch size: ${Object.entries(rates).map(([b, r]) => `${b}: ${fmt(r)}`).join(', ')}`);
    const plain = plainSqliteInsert(scaled(200_000, 10_000), 1000);
    res.add({
      name: 'append, SQLite, batches of 1000',
      value: rates[1000],
      unit: 'events/s',
      baseline: { name: 'plain better-sqlite3 insert loop, same rows and indexes', value: plain.perSec, unit: 'rows/s' },
      ratio: rates[1000] / plain.perSec,
      goal: { on: 'value', op: '>=', target: 20_000, text: '≥ 20,000 events/s' },
      extra: { byBatch: rates },
    });
    res.add({
      name: 'append, SQLite, batches of 100',
      value: rates[100]!,
      unit: 'events/s',
      baseline: { name: 'plain better-sqlite3 insert loop (batches of 1000)', value: plain.perSec, unit: 'rows/s' },
      ratio: rates[100]! / plain.perSec,
      goal: { on: 'value', op: '>=', target: 20_000, text: '≥ 20,000 events/s' },
      extra: { batch1: rates[1], batch10: rates[10] },
    });

    // ---------------------------------------------------------------- verify
    await svc.checkpoint();
    const t0 = now();
    const report = await profiled('audit-verify-sqlite', () => svc.verify());
    const verifyS = (now() - t0) / 1000;
    if (!report.ok || report.events !== TOTAL || report.checkpoints !== 1) throw new Error(`verify: ${JSON.stringify(report)}`);
    // Breakdown on the same events: reading + mapping only (scan), and raw SHA-256 over the same
    // canonical bytes (made into Buffers untimed, so only the hashing is timed). What remains of
    // the verify time is building the canonical strings and the verifier's own bookkeeping.
    let scanMs = 0;
    let hashMs = 0;
    let n = 0;
    let ts = now();
    for await (const page of bs.store.audit.scan(1, 10_000)) {
      scanMs += now() - ts;
      const bufs = page.map((e) =>
        Buffer.from(canonicalEvent({ seq: e.seq, id: e.id, ts: e.ts, type: e.type, outcome: e.outcome, actorId: e.actorId, principalId: e.principalId, roleId: e.roleId, scope: e.scope, requestId: e.requestId, reasons: e.reasons, data: e.data, prevHash: e.prevHash })),
      );
      const t = now();
      for (let i = 0; i < bufs.length; i++) if (createHash('sha256').update(bufs[i]!).digest('hex') !== page[i]!.hash) throw new Error('hash mismatch');
      hashMs += now() - t;
      n += page.length;
      ts = now();
    }
    if (n !== TOTAL) throw new Error(`scan saw ${n} events`);
    const restS = verifyS - scanMs / 1000 - hashMs / 1000;
    log(`audit verify ${TOTAL} events: ${verifyS.toFixed(2)} s = scan ${(scanMs / 1000).toFixed(2)} s + SHA-256 ${(hashMs / 1000).toFixed(2)} s + canonical JSON and the rest ${restS.toFixed(2)} s`);
    res.add({
      name: `verify ${TOTAL.toLocaleString('en-US')} events, SQLite`,
      value: verifyS,
      unit: 's',
      baseline: { name: 'raw SHA-256 over the same canonical bytes', value: hashMs / 1000, unit: 's' },
      ratio: verifyS / (hashMs / 1000),
      goal: { on: 'value', op: '<=', target: 5 * (TOTAL / 1_000_000), text: `≤ 5 s per 1M events` },
      extra: { events: TOTAL, scanOnlyS: scanMs / 1000, sha256S: hashMs / 1000, canonicalAndRestS: restS },
    });
  } finally {
    await bs.store.close();
    await bs.cleanup();
  }

  // ------------------------------------------------------------------ PostgreSQL
  if (!PG_URL) {
    log('audit: PostgreSQL part skipped (set ELEVATE_BENCH_DATABASE_URL)');
    return res;
  }
  const ps = await pgStore();
  try {
    const r100 = await append(ps.store, scaled(20_000, 2000), 100);
    const r1000 = await profiled('audit-append-pg', () => append(ps.store, scaled(100_000, 10_000), 1000));
    const plain = await plainPgInsert(ps.schema!, scaled(100_000, 10_000), 1000);
    log(`audit postgres append: batch 100 ${fmt(r100.perSec)}/s, batch 1000 ${fmt(r1000.perSec)}/s; plain insert ${fmt(plain.perSec)}/s`);
    res.add({
      name: 'append, PostgreSQL, batches of 1000',
      value: r1000.perSec,
      unit: 'events/s',
      baseline: { name: 'plain pg multi-row INSERT, same rows and indexes', value: plain.perSec, unit: 'rows/s' },
      ratio: r1000.perSec / plain.perSec,
      goal: { on: 'value', op: '>=', target: 20_000, text: '≥ 20,000 events/s' },
      extra: { batch100: r100.perSec },
    });
  } finally {
    await ps.store.close();
    await ps.cleanup();
  }
  return res;
}
