import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import Fastify from 'fastify';
import { syslogSink } from '../src/adapters/siem/syslog.js';
import type { Actor } from '../src/app/index.js';
import type { Store } from '../src/app/ports.js';
import type { Eligibility, Principal, Role } from '../src/core/model.js';
import { normalizeSettings } from '../src/core/settings.js';
import { buildServer, type Elevate } from '../src/server/app.js';
import { ADMIN_TOKEN, testSigner } from '../test/helpers/harness.js';
import { clock, LIMITS, log, now, Results, scaled, sqliteStore, summarize } from './lib/common.js';
import type { BenchContext } from './lib/context.js';
import { bootstrapStore } from './lib/dataset.js';
import { listen } from './lib/load.js';

/**
 * Governance (issue 5), each figure against a baseline measured in the same run on the same data:
 * - detection scan and SIEM export throughput (audit events/s) against reading the same events
 *   from the store in the same pages (the floor for anything that walks the log);
 * - a review campaign's creation over N eligibilities, and the evidence report over N assignments,
 *   against listing the same rows from the store;
 * - a `/metrics` scrape against a bare Fastify route, both over HTTP on loopback.
 * SQLite, one node, jobs driven by hand.
 */

const actorFor = (principalId: string): Actor => ({
  principalId,
  auth: { method: 'token', tokenId: null, sessionId: null, signIn: null, mfa: [], authenticatedAt: clock.now() },
  sourceIp: '127.0.0.1',
  userAgent: 'bench',
});

async function seed(store: Store, n: number): Promise<string[]> {
  const t0 = clock.now();
  const role: Role = { id: 'ops', name: 'ops', description: 'benchmark', riskTier: 'low', settings: normalizeSettings({ maxActivation: 'PT8H' }, 'low', LIMITS.minActivationMs), builtin: false, createdAt: t0, updatedAt: t0 };
  await store.transaction((tx) => store.roles.insert(tx, role));
  const ids = Array.from({ length: n }, (_, i) => `u${String(i).padStart(6, '0')}`);
  for (let i = 0; i < ids.length; i += 5000) {
    const part = ids.slice(i, i + 5000);
    await store.transaction(async (tx) => {
      for (const id of part) {
        const p: Principal = { id, kind: 'user', name: id, email: null, managerId: 'admin', adminUnit: null, attributes: {}, status: 'active', createdAt: t0, updatedAt: t0 };
        await store.principals.insert(tx, p);
      }
      const es: Eligibility[] = part.map((id) => ({ id: randomUUID(), principalId: id, roleId: 'ops', scope: '/prod', startsAt: t0 - 60_000, endsAt: null, justification: 'on-call rota', createdBy: 'admin', createdAt: t0, removedAt: null }));
      await store.eligibilities.insertMany(tx, es);
    });
  }
  return ids;
}

/** Read the whole log in pages of 500, as the scanner and the exporter do: events/s. */
async function readRate(store: Store): Promise<{ rate: number; events: number }> {
  const t = now();
  let after = 0;
  let events = 0;
  for (;;) {
    const page = await store.transaction((tx) => store.audit.query(tx, { afterSeq: after, limit: 500 }));
    if (page.length === 0) break;
    events += page.length;
    after = page[page.length - 1]!.seq;
  }
  return { rate: events / ((now() - t) / 1000), events };
}

/** A TCP receiver that counts RFC 6587 octet-counted frames. */
function frameCounter(): Promise<{ server: Server; port: number; count: () => number }> {
  let frames = 0;
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) return;
        const len = Number(buf.subarray(0, sp).toString());
        if (buf.length < sp + 1 + len) return;
        buf = buf.subarray(sp + 1 + len);
        frames++;
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, count: () => frames })));
}

async function httpP50(url: string, n: number, headers: Record<string, string> = {}): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    const r = await fetch(url, { headers });
    await r.text();
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    samples.push(now() - t);
  }
  return summarize(samples.sort((a, b) => a - b)).p50;
}

export async function governance(_ctx: BenchContext): Promise<Results> {
  const res = new Results('governance');
  const n = scaled(4000, 200);
  const bs = await sqliteStore();
  const sink = await frameCounter();
  const bare = Fastify({ logger: false });
  let e: Elevate | null = null;
  try {
    await bootstrapStore(bs.store);
    const users = await seed(bs.store, n);
    e = await buildServer({
      store: bs.store, clock, signer: testSigner(), limits: LIMITS, bootstrapToken: ADMIN_TOKEN, jobs: false, logger: false,
      siemSinks: { syslog: syslogSink({ protocol: 'tcp', host: '127.0.0.1', port: sink.port, hostname: 'bench' }) },
    });
    // Real activity: two activations per user (request, grant, audit events through the use case).
    const ta = now();
    for (let round = 0; round < 2; round++) {
      for (const u of users) await e.uc.requests.activate(actorFor(u), { roleId: 'ops', scope: `/prod/s${round}`, durationMs: 30 * 60_000, justification: 'deploy hotfix for INC-4242' }, null);
    }
    log(`governance: ${2 * n} activations in ${((now() - ta) / 1000).toFixed(1)} s`);

    const base = await readRate(bs.store);
    const baseline = { name: 'read the audit log in pages of 500', value: base.rate, unit: 'events/s' };

    // Detection: the scanner over the whole log (activation rules, approver rules, state rules once).
    let t = now();
    for (let i = 0; i < 100; i++) {
      await e.uc.alerts.scan();
      const c = await bs.store.transaction((tx) => bs.store.alerts.lockCursor(tx));
      if (c && c.seq >= base.events) break;
    }
    const scanRate = base.events / ((now() - t) / 1000);
    res.add({ name: `detection scan over ${base.events} events`, value: scanRate, unit: 'events/s', baseline, ratio: scanRate / base.rate, notes: 'every rule enabled with its defaults' });

    // SIEM: export the whole log to a TCP receiver as RFC 5424 over octet-counted frames.
    t = now();
    while (sink.count() < base.events) {
      const sent = await e.uc.siem.dispatch();
      if (sent === 0 && sink.count() < base.events) await new Promise((r) => setTimeout(r, 5));
      if (now() - t > 120_000) throw new Error(`siem export stalled at ${sink.count()} of ${base.events}`);
    }
    const siemRate = base.events / ((now() - t) / 1000);
    res.add({ name: `SIEM syslog export over TCP (${base.events} events)`, value: siemRate, unit: 'events/s', baseline, ratio: siemRate / base.rate, notes: 'at least once; cursor stored per batch' });

    // Review campaign over every eligibility, reviewed by the admin.
    const admin = actorFor('admin');
    t = now();
    let listed = 0;
    await bs.store.transaction(async (tx) => {
      let after: string | undefined;
      for (;;) {
        const page = await bs.store.eligibilities.list(tx, { roleId: 'ops', limit: 1000, ...(after ? { after } : {}) });
        listed += page.length;
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
      for (let after: string | undefined; ; ) {
        const page = await bs.store.assignments.list(tx, { live: true, limit: 1000, ...(after ? { after } : {}) });
        listed += page.length;
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
    });
    const listMs = now() - t;
    t = now();
    const c = await e.uc.reviews.create(admin, { name: 'bench', filter: { roles: ['ops'] }, reviewers: { kind: 'principals', principals: ['admin'] }, durationDays: 14, defaultDecision: 'keep' });
    const createMs = now() - t;
    res.add({ name: `review campaign created over ${c.counts.total} eligibilities and assignments`, value: createMs, unit: 'ms', baseline: { name: `list the ${listed} eligibilities and live assignments`, value: listMs, unit: 'ms' }, ratio: createMs / listMs, notes: 'items, reviewers, recommendations (last activation, last sign-in), audit, one transaction' });

    // Evidence report over the period of every activation.
    t = now();
    let assignments = 0;
    await bs.store.transaction(async (tx) => {
      let after: string | undefined;
      for (;;) {
        const page = await bs.store.assignments.list(tx, { roleId: 'ops', limit: 1000, ...(after ? { after } : {}) });
        assignments += page.length;
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
    });
    const listA = now() - t;
    t = now();
    const rep = await e.uc.reports.evidence(admin, { from: clock.now() - 86_400_000, to: clock.now() + 60_000, format: 'json' });
    const repMs = now() - t;
    const items = 'items' in rep && Array.isArray(rep.items) ? rep.items.length : -1;
    res.add({ name: `evidence report (${items} assignments, JSON)`, value: repMs, unit: 'ms', baseline: { name: `list the ${assignments} assignments`, value: listA, unit: 'ms' }, ratio: repMs / listA });

    // /metrics over HTTP against a bare route.
    bare.get('/x', async () => 'ok');
    const bareUrl = await listen(bare);
    const url = await listen(e.app);
    await httpP50(`${bareUrl}/x`, 50);
    await httpP50(`${url}/metrics`, 20);
    const bareP50 = await httpP50(`${bareUrl}/x`, 300);
    const metricsP50 = await httpP50(`${url}/metrics`, 300);
    res.add({ name: 'GET /metrics p50', value: metricsP50, unit: 'ms', baseline: { name: 'bare Fastify route p50', value: bareP50, unit: 'ms' }, ratio: metricsP50 / bareP50, notes: 'per-server registry; gauges read at scrape (index counts, open alerts, SIEM lag)' });
  } finally {
    await e?.close();
    await bare.close();
    sink.server.close();
    await bs.cleanup();
  }
  return res;
}
