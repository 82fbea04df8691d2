import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { hashToken } from '../src/app/directory.js';
import type { Store } from '../src/app/ports.js';
import type { Eligibility, Principal, Role } from '../src/core/model.js';
import { normalizeSettings, type RoleSettingsInput } from '../src/core/settings.js';
import { buildServer, type Elevate } from '../src/server/app.js';
import { ADMIN_TOKEN, testSigner } from '../test/helpers/harness.js';
import { clock, fmt, LIMITS, log, now, PG_URL, pgStore, Results, scaled, sqliteStore, summarize, type BenchStore } from './lib/common.js';
import type { BenchContext } from './lib/context.js';
import { bootstrapStore } from './lib/dataset.js';
import { listen, runLoad, type LoadRequest, type LoadSummary } from './lib/load.js';
import { profiled } from './lib/profile.js';

const CONNECTIONS = 32;
const WARM_USERS = 1_000;

type Backend = 'sqlite' | 'postgres';

interface Seeded {
  users: { id: string; token: string }[];
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);

/** Users with a token each and (unless roleId is null) an eligibility for the role at /prod, written straight through the ports. */
async function seedUsers(store: Store, userIds: string[], roleId: string | null): Promise<Seeded> {
  const t0 = clock.now();
  const users = userIds.map((id) => ({ id, token: `elv_${randomBytes(32).toString('base64url')}` }));
  for (let i = 0; i < users.length; i += 5_000) {
    const part = users.slice(i, i + 5_000);
    await store.transaction(async (tx) => {
      for (const u of part) {
        const p: Principal = { id: u.id, kind: 'user', name: u.id, email: null, managerId: null, adminUnit: null, attributes: {}, status: 'active', createdAt: t0, updatedAt: t0 };
        await store.principals.insert(tx, p);
        await store.tokens.insert(tx, { id: randomUUID(), principalId: u.id, name: 'bench', hash: hashToken(u.token), createdAt: t0, expiresAt: null, revokedAt: null, lastUsedAt: null });
      }
      if (roleId === null) return;
      const es: Eligibility[] = part.map((u) => ({
        id: randomUUID(), principalId: u.id, roleId, scope: '/prod', startsAt: t0 - 60_000, endsAt: null, justification: 'on-call rota', createdBy: 'admin', createdAt: t0, removedAt: null,
      }));
      await store.eligibilities.insertMany(tx, es);
    });
  }
  return { users };
}

async function addRole(store: Store, id: string, settings: RoleSettingsInput): Promise<void> {
  const t = clock.now();
  const role: Role = { id, name: id, description: 'benchmark', riskTier: 'low', settings: normalizeSettings(settings, 'low', LIMITS.minActivationMs), builtin: false, createdAt: t, updatedAt: t };
  await store.transaction((tx) => store.roles.insert(tx, role));
}

const activation = (token: string): LoadRequest => ({
  method: 'POST',
  path: '/api/v1/requests',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ roleId: 'act', scope: '/prod/payments', duration: 'PT30M', justification: 'deploy hotfix for INC-4242' }),
});

async function startElevate(store: Store): Promise<{ e: Elevate; url: string }> {
  const e = await buildServer({ store, clock, signer: testSigner(), limits: LIMITS, bootstrapToken: ADMIN_TOKEN, jobs: false, logger: false });
  return { e, url: await listen(e.app) };
}

/** The baseline: a bare Fastify POST route doing one INSERT of the request into the same kind of database. */
async function bareInsertServer(backend: Backend, bs: BenchStore): Promise<{ app: FastifyInstance; url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  let close: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'elevate-bare-'));
    const db = new Database(join(dir, 'bare.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('create table requests (id text primary key, principal text not null, body text not null, created_at integer not null)');
    const stmt = db.prepare('insert into requests (id, principal, body, created_at) values (?, ?, ?, ?)');
    app.post('/api/v1/requests', async (req, reply) => {
      const id = randomUUID();
      stmt.run(id, String(req.headers.authorization).slice(-12), JSON.stringify(req.body), Date.now());
      reply.status(201);
      return { id, status: 'active' };
    });
    close = async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const pool = new pg.Pool({ connectionString: PG_URL!, max: 10, options: `-c search_path=${bs.schema}` });
    await pool.query('create table bare_requests (id text primary key, principal text not null, body text not null, created_at bigint not null)');
    app.post('/api/v1/requests', async (req, reply) => {
      const id = randomUUID();
      await pool.query('insert into bare_requests (id, principal, body, created_at) values ($1, $2, $3, $4)', [id, String(req.headers.authorization).slice(-12), JSON.stringify(req.body), Date.now()]);
      reply.status(201);
      return { id, status: 'active' };
    });
    close = () => pool.end();
  }
  const url = await listen(app);
  return {
    app,
    url,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

function assertAll(s: LoadSummary, status: number, what: string): void {
  if (s.errors || s.statusCodes[String(status)] !== s.total) throw new Error(`${what}: expected every response ${status}, got ${JSON.stringify(s.statusCodes)} (${s.errors} errors)`);
}

/** Auto-approved activations, each from a different user, 32 at a time, against Elevate and against the bare INSERT route. */
async function throughput(res: Results, backend: Backend, n: number, goal: number): Promise<void> {
  const bs = backend === 'sqlite' ? await sqliteStore() : await pgStore();
  let elevate: { e: Elevate; url: string } | null = null;
  let bare: Awaited<ReturnType<typeof bareInsertServer>> | null = null;
  try {
    await bootstrapStore(bs.store);
    await addRole(bs.store, 'act', { maxActivation: 'PT8H', justification: { required: true, minLength: 10 } });
    const t = now();
    const warm = await seedUsers(bs.store, ids('w', WARM_USERS), 'act');
    const seeded = await seedUsers(bs.store, ids('a', n), 'act');
    log(`activate-e2e ${backend}: seeded ${WARM_USERS + n} users with tokens and eligibilities in ${((now() - t) / 1000).toFixed(1)} s`);
    elevate = await startElevate(bs.store);
    const before = elevate.e.index.stats().assignments;

    bare = await bareInsertServer(backend, bs);
    const warmReqs = warm.users.map((u) => activation(u.token));
    const reqs = seeded.users.map((u) => activation(u.token));
    // Warm the bare server with the same requests (it ignores the token), then measure it.
    assertAll(await runLoad({ url: bare.url, connections: CONNECTIONS, amount: warmReqs.length, requests: warmReqs }), 201, 'bare warm-up');
    // The bare route may see a request twice, so it runs for a fixed time rather than once through the list.
    const b = await runLoad({ url: bare.url, connections: CONNECTIONS, duration: 5, requests: reqs });
    assertAll(b, 201, 'bare');
    await bare.close();
    bare = null;

    assertAll(await runLoad({ url: elevate.url, connections: CONNECTIONS, amount: warmReqs.length, requests: warmReqs }), 201, 'elevate warm-up');
    const x = await profiled(`activate-e2e-${backend}`, () => runLoad({ url: elevate!.url, connections: CONNECTIONS, amount: reqs.length, requests: reqs }));
    assertAll(x, 201, 'elevate');
    const made = elevate.e.index.stats().assignments - before;
    if (made !== WARM_USERS + n) throw new Error(`expected ${WARM_USERS + n} new assignments in the index, found ${made}`);
    // Every activation is live at the decision point.
    for (const u of seeded.users.slice(0, 50)) {
      if (!elevate.e.index.check(u.id, 'act', '/prod/payments', Date.now()).allowed) throw new Error(`${u.id} activated but check says no`);
    }
    log(`activate-e2e ${backend}: elevate ${fmt(x.rps)}/s p99 ${x.latency.p99} ms (server ${x.serverCores.toFixed(2)} cores); bare insert ${fmt(b.rps)}/s p99 ${b.latency.p99} ms`);
    res.add({
      name: `activation e2e, ${backend} (${CONNECTIONS} conn)`,
      value: x.rps,
      unit: 'activations/s',
      baseline: { name: `bare Fastify POST + one ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'} INSERT`, value: b.rps, unit: 'req/s' },
      ratio: x.rps / b.rps,
      goal: { on: 'value', op: '>=', target: goal, text: `≥ ${goal.toLocaleString('en-US')}/s` },
      extra: { activations: n, latency: x.latency, bareLatency: b.latency, serverCores: x.serverCores, bareServerCores: b.serverCores, clientCores: x.clientCores },
    });
  } finally {
    if (bare) await bare.close();
    if (elevate) await elevate.e.close();
    else await bs.store.close();
    await bs.cleanup();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json(r: Response, status: number, what: string): Promise<Record<string, unknown>> {
  const body = (await r.json()) as Record<string, unknown>;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Approval to decision: time from the approve call's response to GET /check answering allowed on a
 * second node on the same PostgreSQL schema (the change travels by NOTIFY and the node reloads the
 * assignment), and on the approving node itself. Baseline: PostgreSQL NOTIFY → LISTEN delivery
 * between two plain connections, and one GET /check round trip.
 */
async function visibility(res: Results, samples: number): Promise<void> {
  const bs = await pgStore();
  let a: { e: Elevate; url: string } | null = null;
  let b: { e: Elevate; url: string } | null = null;
  try {
    await bootstrapStore(bs.store);
    await addRole(bs.store, 'gated', { maxActivation: 'PT8H', justification: { required: true, minLength: 10 }, approval: { required: true, approvers: [{ principal: 'approver' }], minApprovals: 1 } });
    const seeded = await seedUsers(bs.store, ids('v', samples * 2), 'gated');
    const approverToken = (await seedUsers(bs.store, ['approver'], null)).users[0]!.token;
    a = await startElevate(bs.store);
    b = await startElevate(await bs.reopen());
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    const one = async (user: { id: string; token: string }, pollUrl: string) => {
      const created = await json(
        await fetch(`${a!.url}/api/v1/requests`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ roleId: 'gated', scope: '/prod', duration: 'PT30M', justification: 'rotate credentials CHG-77' }) }),
        201,
        'create',
      );
      if (created.status !== 'pending_approval') throw new Error(`expected pending_approval, got ${String(created.status)}`);
      const checkUrl = `${pollUrl}/api/v1/check?principal=${user.id}&role=gated&scope=%2Fprod%2Fdb`;
      if ((await json(await fetch(checkUrl, { headers: admin }), 200, 'check before')).allowed !== false) throw new Error('allowed before approval');
      await sleep(2); // let the create's own notifications settle
      await json(
        await fetch(`${a!.url}/api/v1/requests/${String(created.id)}/approve`, { method: 'POST', headers: { authorization: `Bearer ${approverToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'looks right' }) }),
        200,
        'approve',
      );
      const t0 = now();
      let polls = 0;
      for (;;) {
        polls++;
        const d = await json(await fetch(checkUrl, { headers: admin }), 200, 'check');
        if (d.allowed === true) break;
        if (now() - t0 > 5_000) throw new Error(`${user.id}: not visible at ${pollUrl} 5 s after approval`);
      }
      return { ms: now() - t0, polls };
    };

    // Warm both nodes' routes.
    for (let i = 0; i < 10; i++) await fetch(`${b.url}/api/v1/check?principal=admin&role=elevate-admin&scope=%2F`, { headers: admin });
    const cross: number[] = [];
    const same: number[] = [];
    let crossPolls = 0;
    let samePolls = 0;
    for (let i = 0; i < samples; i++) {
      const r = await one(seeded.users[i]!, b.url);
      cross.push(r.ms);
      crossPolls += r.polls;
      const s = await one(seeded.users[samples + i]!, a.url);
      same.push(s.ms);
      samePolls += s.polls;
    }
    // Baselines: one check round trip; NOTIFY → LISTEN between two plain connections.
    const rtt: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = now();
      await json(await fetch(`${b.url}/api/v1/check?principal=admin&role=elevate-admin&scope=%2F`, { headers: admin }), 200, 'rtt');
      rtt.push(now() - t0);
    }
    const notify = await notifyLatency(samples);
    const c = summarize(cross);
    const s = summarize(same);
    const rt = summarize(rtt);
    const nl = summarize(notify);
    log(`activate-e2e visibility: cross-node p50 ${c.p50.toFixed(2)} p99 ${c.p99.toFixed(2)} ms (${(crossPolls / samples).toFixed(1)} polls each); same-node p99 ${s.p99.toFixed(2)} ms; NOTIFY p99 ${nl.p99.toFixed(2)} ms; check RTT p99 ${rt.p99.toFixed(2)} ms`);
    res.add({
      name: 'approval → check allowed, other node (PostgreSQL), p99',
      value: c.p99,
      unit: 'ms',
      baseline: { name: 'PostgreSQL NOTIFY → LISTEN p99', value: nl.p99, unit: 'ms' },
      ratio: c.p99 / nl.p99,
      goal: { on: 'value', op: '<=', target: 50, text: '≤ 50 ms p99' },
      extra: { samples, cross: c, notify: nl, pollsPerSample: crossPolls / samples },
    });
    res.add({
      name: 'approval → check allowed, same node (PostgreSQL), p99',
      value: s.p99,
      unit: 'ms',
      baseline: { name: 'one GET /check round trip p99', value: rt.p99, unit: 'ms' },
      ratio: s.p99 / rt.p99,
      goal: { on: 'value', op: '<=', target: 50, text: '≤ 50 ms p99 (expected ≈ one check round trip)' },
      extra: { samples, same: s, rtt: rt, pollsPerSample: samePolls / samples },
    });
  } finally {
    if (b) await b.e.close();
    if (a) await a.e.close();
    else await bs.store.close();
    await bs.cleanup();
  }
}

/** Commit a NOTIFY on one connection, time until a second, LISTENing connection receives it. */
async function notifyLatency(samples: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: PG_URL! });
  const sender = new pg.Client({ connectionString: PG_URL! });
  await listener.connect();
  await sender.connect();
  const channel = `bench_${randomBytes(4).toString('hex')}`;
  try {
    await listener.query(`listen ${channel}`);
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const got = new Promise<number>((resolve) => listener.once('notification', () => resolve(now())));
      await sender.query('begin');
      await sender.query('select pg_notify($1, $2)', [channel, JSON.stringify({ kind: 'assignment', id: randomUUID() })]);
      const t0 = now();
      await sender.query('commit');
      out.push((await got) - t0);
    }
    return out;
  } finally {
    await listener.end();
    await sender.end();
  }
}

export async function activateE2e(_ctx: BenchContext): Promise<Results> {
  const res = new Results('activate-e2e');
  await throughput(res, 'sqlite', scaled(20_000, 500), 2_000);
  if (PG_URL) {
    await throughput(res, 'postgres', scaled(10_000, 500), 1_000);
    await visibility(res, scaled(200, 20));
  } else {
    log('activate-e2e: PostgreSQL parts skipped (set ELEVATE_BENCH_DATABASE_URL)');
  }
  return res;
}
