import { randomBytes, randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { Role } from '../src/core/model.js';
import { normalizeSettings } from '../src/core/settings.js';
import { buildServer, type Elevate } from '../src/server/app.js';
import { ADMIN_TOKEN, testSigner } from '../test/helpers/harness.js';
import { clock, LIMITS, log, now, Results, scaled, sqliteStore, summarize } from './lib/common.js';
import type { BenchContext } from './lib/context.js';
import { bootstrapStore } from './lib/dataset.js';
import { listen } from './lib/load.js';

const SCIM_TOKEN = `scim-bench-${randomBytes(24).toString('base64url')}`;
const SCIM_JSON = { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' };
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DEACTIVATE = JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
const WARM = 20;

async function json(r: Response, status: number, what: string): Promise<Record<string, unknown>> {
  const body = (await r.json()) as Record<string, unknown>;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * Deprovisioning to decision: N users, each provisioned by SCIM and holding an activated grant; for
 * each, time from sending the SCIM PATCH active=false to GET /api/v1/check answering false (polled
 * right after the PATCH response), over HTTP on a listening server (SQLite, one node). The PATCH
 * suspends the user, revokes her grants, cancels her requests and ends her sessions in one
 * transaction, and the index learns of it after commit, before the response. Baseline: a bare
 * Fastify route round trip, driven the same way in the same run.
 */
export async function scimRevoke(_ctx: BenchContext): Promise<Results> {
  const res = new Results('scim-revoke');
  const n = scaled(500, 200);
  const bs = await sqliteStore();
  let e: Elevate | null = null;
  const bare = Fastify({ logger: false });
  try {
    await bootstrapStore(bs.store);
    const t = clock.now();
    const role: Role = { id: 'ops', name: 'ops', description: 'benchmark', riskTier: 'low', settings: normalizeSettings({ maxActivation: 'PT8H' }, 'low', LIMITS.minActivationMs), builtin: false, createdAt: t, updatedAt: t };
    await bs.store.transaction((tx) => bs.store.roles.insert(tx, role));
    e = await buildServer({ store: bs.store, clock, signer: testSigner(), limits: LIMITS, bootstrapToken: ADMIN_TOKEN, scimToken: SCIM_TOKEN, jobs: false, logger: false });
    const url = await listen(e.app);

    // Provision through SCIM; an eligibility and an API token each through the admin API; activate over HTTP.
    const t0 = now();
    const users: { id: string; token: string }[] = [];
    for (let i = 0; i < n + WARM; i++) {
      const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `person${String(i).padStart(5, '0')}@example.com`, externalId: randomUUID(), displayName: `Person ${i}`, active: true });
      const id = String((await json(await fetch(`${url}/scim/v2/Users`, { method: 'POST', headers: SCIM_JSON, body }), 201, 'provision')).id);
      const elig = JSON.stringify({ principalId: id, roleId: 'ops', scope: '/prod', endsAt: null, justification: 'on-call rota' });
      await json(await fetch(`${url}/api/v1/eligibilities`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: elig }), 201, 'eligibility');
      const tok = await json(await fetch(`${url}/api/v1/principals/${encodeURIComponent(id)}/tokens`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '{}' }), 201, 'token');
      users.push({ id, token: String(tok.token) });
    }
    const store = bs.store;
    const checkUrl = (id: string) => `${url}/api/v1/check?principal=${encodeURIComponent(id)}&role=ops&scope=%2Fprod%2Fdb`;
    for (const u of users) {
      const body = JSON.stringify({ roleId: 'ops', scope: '/prod/db', duration: 'PT4H', justification: 'INC-4242 on call' });
      const r = await json(await fetch(`${url}/api/v1/requests`, { method: 'POST', headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' }, body }), 201, 'activate');
      if (r.status !== 'active') throw new Error(`${u.id}: expected an active grant, got ${String(r.status)}`);
      if ((await json(await fetch(checkUrl(u.id), { headers: ADMIN }), 200, 'check')).allowed !== true) throw new Error(`${u.id}: activated but check says no`);
    }
    log(`scim-revoke: ${users.length} users provisioned by SCIM, activated and checked in ${((now() - t0) / 1000).toFixed(1)} s`);

    const deprovision = async (id: string) => {
      const start = now();
      const p = await json(await fetch(`${url}/scim/v2/Users/${encodeURIComponent(id)}`, { method: 'PATCH', headers: SCIM_JSON, body: DEACTIVATE }), 200, 'deactivate');
      const patched = now();
      if (p.active !== false) throw new Error(`${id}: still active after PATCH`);
      let polls = 0;
      for (;;) {
        polls++;
        const d = await json(await fetch(checkUrl(id), { headers: ADMIN }), 200, 'check');
        if (d.allowed === false) break;
        if (now() - start > 5_000) throw new Error(`${id}: check still allowed 5 s after deactivation`);
      }
      return { ms: now() - start, patchMs: patched - start, polls };
    };

    for (const u of users.slice(0, WARM)) await deprovision(u.id);
    const total: number[] = [];
    const patchOnly: number[] = [];
    let polls = 0;
    for (const u of users.slice(WARM)) {
      const r = await deprovision(u.id);
      total.push(r.ms);
      patchOnly.push(r.patchMs);
      polls += r.polls;
    }
    // Every grant really ended, and the token of a deprovisioned user is refused.
    const live = await store.transaction((tx) => store.assignments.list(tx, { roleId: 'ops', live: true, limit: 10 }));
    if (live.length > 0) throw new Error(`${live.length} grants still live after deprovisioning everyone`);
    if ((await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${users[WARM]!.token}` } })).status !== 401) throw new Error('a deprovisioned user token still works');

    // Baselines: a bare Fastify route round trip, and one GET /check round trip, the same client.
    bare.get('/ping', async () => ({ ok: true }));
    const bareUrl = await listen(bare);
    const rtt = async (u: string, headers: Record<string, string> = {}) => {
      const out: number[] = [];
      for (let i = 0; i < n + WARM; i++) {
        const s = now();
        await json(await fetch(u, { headers }), 200, 'rtt');
        if (i >= WARM) out.push(now() - s);
      }
      return out;
    };
    const b = summarize(await rtt(`${bareUrl}/ping`));
    const c = summarize(await rtt(`${url}/api/v1/check?principal=admin&role=elevate-admin&scope=%2F`, ADMIN));
    const x = summarize(total);
    const pt = summarize(patchOnly);
    log(`scim-revoke: deactivation → check false p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)} ms (PATCH alone p99 ${pt.p99.toFixed(2)} ms, ${(polls / total.length).toFixed(2)} checks each); bare route p99 ${b.p99.toFixed(2)} ms; check RTT p99 ${c.p99.toFixed(2)} ms`);
    const extra = { users: total.length, deactivationToFalse: x, patchRoundTrip: pt, checksPerSample: polls / total.length, bareRoundTrip: b, checkRoundTrip: c };
    res.add({
      name: 'SCIM deactivation → check false, SQLite, p50',
      value: x.p50,
      unit: 'ms',
      baseline: { name: 'bare Fastify route round trip p50', value: b.p50, unit: 'ms' },
      ratio: x.p50 / b.p50,
      extra,
    });
    res.add({
      name: 'SCIM deactivation → check false, SQLite, p99',
      value: x.p99,
      unit: 'ms',
      baseline: { name: 'bare Fastify route round trip p99', value: b.p99, unit: 'ms' },
      ratio: x.p99 / b.p99,
      goal: { on: 'value', op: '<=', target: 100, text: '≤ 100 ms p99' },
      extra,
    });
  } finally {
    await bare.close();
    if (e) await e.close();
    else await bs.store.close();
    await bs.cleanup();
  }
  return res;
}
