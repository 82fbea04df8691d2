import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { raiseAlert } from '../src/app/alerts.js';
import type { SiemSink } from '../src/app/siem-ports.js';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * GET /metrics: Prometheus text from a registry per server, checked by `promtool check metrics`
 * (Debian's prometheus package), with values that move after real activity. On both backends.
 */
const A = ADMIN_TOKEN;
const TOKEN = 'metrics-token-0123456789abcdef';
const MIN = 60_000;
const JUST = 'Investigating INC-4321 on the primary database';

/** The value of one sample: `name{a="b",…}`; labels must match exactly the ones given (others ignored). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return null;
}
const sum = (text: string, name: string, labels: Record<string, string>): number => {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
};

const PROMTOOL = '/usr/bin/promtool';
/** CI installs Debian's prometheus package for promtool; elsewhere the promtool-checked test says why it skips. */
const PROMTOOL_SKIP: string | false = existsSync(PROMTOOL) ? false : `${PROMTOOL} not found: the promtool check is skipped (CI installs the prometheus package)`;

function promtool(text: string): void {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim() + r.stderr.trim(), '', `promtool found problems:\n${r.stdout}\n${r.stderr}`);
}

for (const backend of BACKENDS) {
  describe(`metrics on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let other: TestServer;
    let failing = true;
    const sink: SiemSink = {
      target: 'https://siem.example/in',
      send: async () => {
        if (failing) throw new Error('webhook answered HTTP 503');
      },
    };
    const scrape = async (srv: TestServer = s, token: string | null = TOKEN) => {
      const r = await srv.app.inject({ method: 'GET', url: '/metrics', headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.statusCode, text: r.body, type: String(r.headers['content-type']) };
    };
    before(async () => {
      s = await startServer(backend.name, { server: { metricsToken: TOKEN, siemSinks: { webhook: sink } } });
      other = await startServer(backend.name);
    });
    after(async () => {
      await s?.cleanup();
      await other?.cleanup();
    });

    test('with ELEVATE_METRICS_TOKEN set, /metrics needs it as a bearer token; without one it is open', async () => {
      assert.equal((await scrape(s, null)).status, 401);
      assert.equal((await scrape(s, 'wrong')).status, 401);
      assert.equal((await scrape(s, TOKEN.slice(0, -1))).status, 401);
      assert.equal((await s.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Basic ${TOKEN}` } })).statusCode, 401);
      const ok = await scrape(s);
      assert.equal(ok.status, 200);
      assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
      assert.ok(!ok.text.includes(TOKEN));
      assert.equal((await scrape(other, null)).status, 200);
    });

    test('activations, denials, approval latency, time to revoke, standing share, open alerts, SIEM lag move with real activity; promtool accepts the output', { skip: PROMTOOL_SKIP }, async () => {
      const m0 = (await scrape()).text;
      promtool(m0);
      assert.ok(value(m0, 'process_cpu_user_seconds_total') !== null, 'process metrics on the per-server registry');
      assert.equal(value(m0, 'elevate_activations_total', { role: 'reader' }), null);
      assert.equal(value(m0, 'elevate_alerts_open', { severity: 'critical' }), 0);
      // the bootstrap admin's standing grant
      assert.equal(value(m0, 'elevate_grants_active', { source: 'direct' }), 1);
      assert.equal(value(m0, 'elevate_standing_share'), 1);

      const alice = await user(s, 'alice');
      const bob = await user(s, 'bob');
      await user(s, 'carol');
      for (const r of [
        { id: 'reader', riskTier: 'low', settings: { maxActivation: 'PT2H' } },
        { id: 'db-admin', riskTier: 'high', settings: { maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT24H' } } },
      ]) assert.equal((await s.call('POST', '/api/v1/roles', A, r)).status, 201);
      for (const roleId of ['reader', 'db-admin']) assert.equal((await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'alice', roleId, scope: '/prod', endsAt: null, justification: 'rota' })).status, 201);

      const t0 = s.clock.now();
      assert.equal((await s.call('POST', '/api/v1/requests', alice, { roleId: 'reader', scope: '/prod', duration: 'PT1H', justification: JUST })).status, 201);
      assert.equal((await s.call('POST', '/api/v1/requests', alice, { roleId: 'reader', scope: '/prod', duration: 'PT1H', justification: 'short' })).status, 403);
      assert.equal((await s.call('POST', '/api/v1/requests', alice, { roleId: 'nope', scope: '/prod', duration: 'PT1H', justification: JUST })).status, 403);
      const pending = await s.call('POST', '/api/v1/requests', alice, { roleId: 'db-admin', scope: '/prod', duration: 'PT1H', justification: JUST });
      assert.equal(pending.status, 201);
      assert.equal(pending.body.status, 'pending_approval');
      s.clock.advance(10 * MIN);
      assert.equal((await s.call('POST', `/api/v1/requests/${pending.body.id}/approve`, bob, { reason: 'on call' })).status, 200);
      const direct = await s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'reader', scope: '/prod', endsAt: new Date(t0 + 4 * 3_600_000).toISOString(), justification: 'migration weekend' });
      assert.equal(direct.status, 201, JSON.stringify(direct.body));

      let m = (await scrape()).text;
      assert.equal(value(m, 'elevate_activations_total', { role: 'reader' }), 1);
      assert.equal(value(m, 'elevate_activations_total', { role: 'db-admin' }), 1);
      assert.ok(sum(m, 'elevate_denials_total', { reason: 'justification_too_weak' }) >= 1, 'denial by reason');
      assert.ok(sum(m, 'elevate_denials_total', { reason: 'unknown_role' }) >= 1, 'denial by reason');
      assert.equal(value(m, 'elevate_approval_latency_seconds_count'), 1);
      assert.equal(value(m, 'elevate_approval_latency_seconds_sum'), 600);
      assert.equal(value(m, 'elevate_approval_latency_seconds_bucket', { le: '300' }), 0);
      assert.equal(value(m, 'elevate_approval_latency_seconds_bucket', { le: '900' }), 1);
      // standing: admin + carol; just in time: alice's two activations
      assert.equal(value(m, 'elevate_grants_active', { source: 'direct' }), 2);
      assert.equal(value(m, 'elevate_grants_active', { source: 'activation' }), 2);
      assert.equal(value(m, 'elevate_standing_share'), 0.5);
      // SIEM: nothing delivered, the output failing
      const h = await s.store.transaction(async (tx) => (await s.store.audit.head(tx)).seq);
      assert.equal(value(m, 'elevate_siem_lag_events', { sink: 'webhook' }), h);
      await s.uc.siem.dispatch();
      m = (await scrape()).text;
      assert.equal(value(m, 'elevate_siem_failed_attempts', { sink: 'webhook' }), 1);

      // Revocation: the index drops the grant at commit. Expiry: checks deny from the end time;
      // the bookkeeping job runs later.
      assert.equal((await s.call('POST', `/api/v1/assignments/${direct.body.id}/revoke`, A, { reason: 'migration done' })).status, 200);
      s.clock.set(t0 + 90 * MIN);
      await s.jobs.tick();
      // An alert part B's rules or the self-audit would raise.
      await s.store.transaction((tx) =>
        raiseAlert({ store: s.store, newId: () => crypto.randomUUID() }, tx, { rule: 'test', severity: 'critical', dedupeKey: 'x', title: 't', summary: 's', principals: ['alice'], events: [] }, s.clock.now()),
      );
      failing = false;
      s.clock.advance(10 * MIN);
      await s.uc.siem.dispatch();

      m = (await scrape()).text;
      promtool(m);
      assert.equal(value(m, 'elevate_time_to_revoke_seconds_count', { how: 'revoked' }), 1);
      assert.equal(value(m, 'elevate_time_to_revoke_seconds_sum', { how: 'revoked' }), 0); // same clock instant on the manual clock
      // alice's reader grant ended at +60 min, her db-admin one at +70 min; the job ran at +90 min
      assert.equal(value(m, 'elevate_time_to_revoke_seconds_count', { how: 'expired' }), 2);
      assert.equal(value(m, 'elevate_time_to_revoke_seconds_sum', { how: 'expired' }), 30 * 60 + 20 * 60);
      assert.equal(value(m, 'elevate_grants_active', { source: 'direct' }), 1);
      assert.equal(value(m, 'elevate_alerts_open', { severity: 'critical' }), 1);
      assert.equal(value(m, 'elevate_siem_lag_events', { sink: 'webhook' }), 0);
      assert.equal(value(m, 'elevate_siem_failed_attempts', { sink: 'webhook' }), 0);

      // Another server in the same process has its own registry: none of this shows there.
      const o = (await scrape(other, null)).text;
      promtool(o);
      assert.equal(value(o, 'elevate_activations_total', { role: 'reader' }), null);
      assert.equal(value(o, 'elevate_approval_latency_seconds_count'), 0);
    });
  });
}
