import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RUN_EVERY_MS, SAMPLE_EVERY } from '../src/app/selfaudit.js';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * The false-allow self-audit: sampled decision-point answers re-derived from the grant history in
 * the database. Normal traffic agrees (0 disagreements); an index that allows what the database
 * never granted is a false allow: counted, audited, a critical alert, and a metric.
 */
const A = ADMIN_TOKEN;
const MIN = 60_000;
const JUST = 'Investigating INC-4321 on the primary database';

const metric = (text: string, name: string): number | null => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};

for (const backend of BACKENDS) {
  describe(`false-allow self-audit on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string;
    const check = async (token: string, principal: string, role: string, scope: string) => {
      const r = await s.call('GET', `/api/v1/check?principal=${principal}&role=${role}&scope=${encodeURIComponent(scope)}`, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { allowed: boolean; assignmentId: string | null };
    };
    const selfAudit = async () => {
      const r = await s.call('GET', '/api/v1/self-audit', A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { runs: { at: string; sampled: number; disagreements: number; falseAllows: number }[]; falseAllowTotal: number };
    };
    const falseAllowAlerts = async () => {
      const r = await s.call('GET', '/api/v1/alerts?rule=false_allow', A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.items as any[];
    };
    const metrics = async () => (await s.app.inject({ method: 'GET', url: '/metrics' })).body;

    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      carol = await user(s, 'carol');
      for (const r of [
        { id: 'dba', riskTier: 'high', settings: { maxActivation: 'PT2H' } },
        { id: 'reader', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
      ]) assert.equal((await s.call('POST', '/api/v1/roles', A, r)).status, 201);
      assert.equal((await s.call('POST', '/api/v1/principals', A, { id: 'ops', kind: 'group', name: 'Ops' })).status, 201);
      assert.equal((await s.call('PUT', '/api/v1/groups/ops/members', A, { members: ['carol'] })).status, 200);
      const g = await s.call('POST', '/api/v1/assignments', A, { principalId: 'ops', roleId: 'reader', scope: '/prod', endsAt: null, justification: 'ops reads prod' });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      assert.equal((await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'alice', roleId: 'dba', scope: '/prod', endsAt: null, justification: 'rota' })).status, 201);
    });
    after(async () => s?.cleanup());

    test('normal traffic (grants, group grants, revocation, exact expiry): every sampled answer agrees with the history', async () => {
      s.clock.advance(MIN);
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'dba', scope: '/prod', duration: 'PT1H', justification: JUST });
      assert.equal(act.status, 201, JSON.stringify(act.body));
      s.clock.advance(MIN);
      for (let i = 0; i < 2 * SAMPLE_EVERY; i++) {
        assert.equal((await check(alice, 'alice', 'dba', '/prod/db')).allowed, true);
        assert.equal((await check(alice, 'alice', 'dba', '/staging')).allowed, false);
        assert.equal((await check(bob, 'bob', 'dba', '/prod')).allowed, false);
        assert.equal((await check(carol, 'carol', 'reader', '/prod/x')).allowed, true); // through the group
      }
      // Revoked: denied from the revocation on.
      const b = await s.call('POST', '/api/v1/assignments', A, { principalId: 'bob', roleId: 'reader', scope: '/', endsAt: new Date(s.clock.now() + 3 * 3_600_000).toISOString(), justification: 'audit week' });
      assert.equal(b.status, 201);
      s.clock.advance(MIN);
      assert.equal((await check(bob, 'bob', 'reader', '/prod')).allowed, true);
      assert.equal((await s.call('POST', `/api/v1/assignments/${b.body.id}/revoke`, A, { reason: 'done early' })).status, 200);
      s.clock.advance(MIN);
      for (let i = 0; i < SAMPLE_EVERY; i++) assert.equal((await check(bob, 'bob', 'reader', '/prod')).allowed, false);
      // Exact expiry: no job has run, and the answer is already "no".
      s.clock.advance(RUN_EVERY_MS + 60 * MIN);
      for (let i = 0; i < SAMPLE_EVERY; i++) assert.equal((await check(alice, 'alice', 'dba', '/prod/db')).allowed, false);

      const n = await s.uc.selfAudit.run();
      assert.ok(n > 2 * SAMPLE_EVERY, `${n} answers re-derived`);
      const r = await selfAudit();
      assert.equal(r.runs.length, 1);
      assert.equal(r.runs[0]!.at, new Date(s.clock.now()).toISOString());
      assert.ok(r.runs[0]!.sampled > 2 * SAMPLE_EVERY);
      assert.equal(r.runs[0]!.disagreements, 0);
      assert.equal(r.falseAllowTotal, 0);
      assert.deepEqual(await falseAllowAlerts(), []);
      const m = await metrics();
      assert.ok(metric(m, 'elevate_selfaudit_sampled_total')! > 2 * SAMPLE_EVERY);
      assert.equal(metric(m, 'elevate_false_allows_total'), 0);
      assert.equal(metric(m, 'elevate_selfaudit_disagreements_total'), 0);

      // Paced by the clock: not again before RUN_EVERY_MS.
      await check(alice, 'alice', 'dba', '/prod/db');
      assert.equal(await s.uc.selfAudit.run(), 0);
      assert.equal((await selfAudit()).runs.length, 1);
    });

    test('an index allowing a grant the database never had: a false allow, audited, a critical alert, and the metric', async () => {
      const now = s.clock.now();
      // Corrupt the in-memory index: a grant that no transaction wrote.
      s.index.upsertAssignment({ id: 'forged-1', principalId: 'bob', roleId: 'dba', scope: '/', startsAt: now - 10 * MIN, endsAt: now + 60 * MIN, status: 'active', source: 'direct' });
      const d = await check(bob, 'bob', 'dba', '/prod');
      assert.equal(d.allowed, true);
      assert.equal(d.assignmentId, 'forged-1');
      assert.equal((await check(alice, 'alice', 'dba', '/prod')).allowed, false);

      s.clock.advance(RUN_EVERY_MS);
      await s.uc.selfAudit.run();
      const r = await selfAudit();
      assert.equal(r.runs.length, 2);
      assert.equal(r.runs[0]!.disagreements, 1, JSON.stringify(r.runs));
      assert.equal(r.runs[0]!.falseAllows, 1);
      assert.equal(r.falseAllowTotal, 1);

      const alerts = await falseAllowAlerts();
      assert.equal(alerts.length, 1);
      const al = alerts[0];
      assert.deepEqual([al.severity, al.status, al.principals, al.roleId, al.scope], ['critical', 'open', ['bob'], 'dba', '/prod']);
      const ev = (await s.call('GET', '/api/v1/audit?type=selfaudit.false_allow', A)).body.items as any[];
      assert.equal(ev.length, 1);
      assert.deepEqual([ev[0].principalId, ev[0].roleId, ev[0].scope, ev[0].reasons, ev[0].data.assignmentIds], ['bob', 'dba', '/prod', ['false_allow'], ['forged-1']]);
      assert.ok(al.events.includes(ev[0].id), 'the alert names the audit event');

      const m = await metrics();
      assert.equal(metric(m, 'elevate_false_allows_total'), 1);
      assert.equal(metric(m, 'elevate_selfaudit_disagreements_total'), 1);
      assert.ok(metric(m, 'elevate_false_allow_rate')! > 0);
      assert.equal(metric(m, 'elevate_alerts_open{severity="critical"}'.replace(/[{}]/g, '\\$&')), 1);

      // Still wrong a run later: the same alert again (de-duplicated), counted again.
      await check(bob, 'bob', 'dba', '/prod');
      s.clock.advance(RUN_EVERY_MS);
      await s.uc.selfAudit.run();
      const again = await falseAllowAlerts();
      assert.equal(again.length, 1);
      assert.equal(again[0].count, 2);
      assert.equal((await selfAudit()).falseAllowTotal, 2);
      s.index.removeAssignment('forged-1');
    });

    test('an index missing a real grant: a false denial is a disagreement too, with its own critical alert (not a false allow)', async () => {
      s.clock.advance(MIN);
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'dba', scope: '/prod', duration: 'PT1H', justification: JUST });
      assert.equal(act.status, 201);
      s.clock.advance(MIN);
      s.index.removeAssignment(act.body.assignmentId);
      for (let i = 0; i < SAMPLE_EVERY; i++) assert.equal((await check(alice, 'alice', 'dba', '/prod')).allowed, false);
      s.clock.advance(RUN_EVERY_MS);
      await s.uc.selfAudit.run();
      const r = await selfAudit();
      assert.equal(r.runs[0]!.falseAllows, 0);
      assert.equal(r.runs[0]!.disagreements, 1);
      assert.equal(r.falseAllowTotal, 2);
      assert.equal((await falseAllowAlerts())[0].count, 2);
      const deny = (await s.call('GET', '/api/v1/alerts?rule=false_deny', A)).body.items;
      assert.equal(deny.length, 1);
      assert.deepEqual([deny[0].severity, deny[0].principals, deny[0].roleId, deny[0].scope], ['critical', ['alice'], 'dba', '/prod']);
      const ev = (await s.call('GET', `/api/v1/alerts/${deny[0].id}`, A)).body.eventRecords;
      assert.deepEqual(ev.map((e: { type: string }) => e.type), ['selfaudit.false_deny']);
    });

    test('a run that cannot be recorded keeps its answers: the next tick judges them', async () => {
      s.clock.advance(MIN);
      for (let i = 0; i < SAMPLE_EVERY; i++) assert.equal((await check(alice, 'alice', 'dba', '/prod')).allowed, false);
      s.clock.advance(RUN_EVERY_MS);
      const before = (await selfAudit()).runs.length;
      const insert = s.store.siem.insertSelfAuditRun;
      s.store.siem.insertSelfAuditRun = async () => {
        throw new Error('the database went away');
      };
      await assert.rejects(s.uc.selfAudit.run(), /went away/);
      s.store.siem.insertSelfAuditRun = insert;
      assert.equal((await selfAudit()).runs.length, before);
      assert.ok((await s.uc.selfAudit.run()) >= 1, 'the kept answers are judged at the next tick, without waiting five minutes');
      assert.equal((await selfAudit()).runs.length, before + 1);
    });

    test('only admins read the self-audit', async () => {
      const r = await s.call('GET', '/api/v1/self-audit', alice);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'not_admin');
    });
  });
}
