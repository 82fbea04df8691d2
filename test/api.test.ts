import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

const MIN = 60_000;
const JUST = 'Investigating INC-1234 replication lag';

for (const backend of BACKENDS) {
  describe(`HTTP API on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string, dave: string, erin: string;
    const A = () => ADMIN_TOKEN;

    before(async () => {
      s = await startServer(backend.name);
      dave = await user(s, 'dave', { adminUnit: 'emea' });
      alice = await user(s, 'Alice ', { managerId: 'dave', email: 'Alice@Example.com' });
      bob = await user(s, 'bob', { adminUnit: 'emea' });
      carol = await user(s, 'carol', { adminUnit: 'amer' });
      erin = await user(s, 'erin', { adminUnit: 'emea' });
      assert.equal((await s.call('POST', '/api/v1/principals', A(), { id: 'dba-leads', kind: 'group', name: 'DBA leads' })).status, 201);
      assert.equal((await s.call('POST', '/api/v1/principals', A(), { id: 'oncall', kind: 'group', name: 'On call' })).status, 201);
      // alice is in dba-leads: she must never approve her own request through it.
      assert.equal((await s.call('PUT', '/api/v1/groups/dba-leads/members', A(), { members: ['bob', 'carol', 'alice'] })).status, 200);
      assert.equal((await s.call('PUT', '/api/v1/groups/oncall/members', A(), { members: ['alice'] })).status, 200);
      const roles = [
        { id: 'reader', riskTier: 'low', settings: { maxActivation: 'PT2H' } },
        {
          id: 'db-admin', name: 'Database admin', riskTier: 'high',
          settings: {
            maxActivation: 'PT4H', justification: { required: true, minLength: 10 }, ticket: { required: false, pattern: '^INC-[0-9]+$' },
            approval: { required: true, approvers: [{ group: 'dba-leads' }], minApprovals: 2, distinctAdminUnits: true, timeout: 'PT24H' },
          },
        },
        { id: 'staged', riskTier: 'critical', settings: { approval: { required: true, stages: [{ approvers: [{ manager: true }] }, { approvers: [{ principal: 'erin' }] }], timeout: 'PT1H' } } },
        { id: 'ticketed', riskTier: 'medium', settings: { ticket: { required: true, pattern: '^INC-[0-9]+$' }, windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', timeZone: 'Europe/Berlin' }] } },
      ];
      for (const r of roles) assert.equal((await s.call('POST', '/api/v1/roles', A(), r)).status, 201, r.id);
      for (const [p, r, scope] of [['alice', 'reader', '/prod'], ['oncall', 'db-admin', '/prod'], ['alice', 'staged', '/'], ['alice', 'ticketed', '/dev']]) {
        const res = await s.call('POST', '/api/v1/eligibilities', A(), { principalId: p, roleId: r, scope, endsAt: null, justification: 'on-call rota' });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
    });
    after(async () => s?.cleanup());

    const activate = (token: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
      s.call('POST', '/api/v1/requests', token, { duration: 'PT30M', justification: JUST, ...body }, headers);
    const check = (token: string, principal: string, role: string, scope: string) =>
      s.call('GET', `/api/v1/check?principal=${principal}&role=${role}&scope=${encodeURIComponent(scope)}`, token);

    test('identifiers are normalized: "Alice " and "alice" are one principal', async () => {
      const again = await s.call('POST', '/api/v1/principals', A(), { id: 'ALICE', kind: 'user' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'already_exists');
      const me = await s.call('GET', '/api/v1/me', alice);
      assert.equal(me.body.principal.id, 'alice');
      assert.equal(me.body.principal.email, 'alice@example.com');
      assert.equal(me.body.auth.method, 'token');
    });

    test('a low-risk role activates at once, covers its subtree, and ends exactly at its end', async () => {
      const r = await activate(alice, { roleId: 'reader', scope: '/prod/payments' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'active');
      const end = s.clock.now() + 30 * MIN;
      for (const scope of ['/prod/payments', '/prod/payments/ledger']) assert.equal((await check(alice, 'alice', 'reader', scope)).body.allowed, true, scope);
      for (const scope of ['/prod', '/prod/paymentsX', '/dev']) assert.equal((await check(alice, 'alice', 'reader', scope)).body.allowed, false, scope);
      const c = await check(alice, 'alice', 'reader', '/prod/payments');
      assert.equal(c.body.assignmentId, r.body.assignmentId);
      assert.equal(Date.parse(c.body.expiresAt), end);
      s.clock.set(end - 1);
      assert.equal((await check(alice, 'alice', 'reader', '/prod/payments')).body.allowed, true);
      s.clock.set(end);
      const gone = await check(alice, 'alice', 'reader', '/prod/payments');
      assert.deepEqual([gone.body.allowed, gone.body.reason], [false, 'no_active_assignment']);
      // The job books the expiry afterwards, once.
      await s.jobs.tick();
      await s.jobs.tick();
      const ev = await s.call('GET', `/api/v1/audit?type=assignment.expired&principal=alice`, A());
      assert.equal(ev.body.items.filter((e: any) => e.data.assignmentId === r.body.assignmentId).length, 1);
      const req = await s.call('GET', `/api/v1/requests/${r.body.id}`, alice);
      assert.equal(req.body.status, 'expired');
    });

    test('denials carry every failing reason code, are audited, and change nothing', async () => {
      const before = (await s.call('GET', '/api/v1/assignments?mine=true', alice)).body.items.length;
      const r = await activate(alice, { roleId: 'reader', scope: '/dev', duration: 'PT5H', justification: 'test' });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'not_eligible');
      assert.deepEqual(r.body.error.details.reasons, ['not_eligible', 'duration_exceeds_max', 'justification_too_weak']);
      assert.equal((await s.call('GET', '/api/v1/assignments?mine=true', alice)).body.items.length, before);
      const audit = await s.call('GET', `/api/v1/audit?type=request.denied&principal=alice`, A());
      assert.ok(audit.body.items.some((e: any) => e.requestId === r.body.error.details.requestId && e.reasons.includes('duration_exceeds_max')));
      const t = await activate(alice, { roleId: 'ticketed', scope: '/dev', ticket: 'JIRA-1' });
      assert.deepEqual(t.body.error.details.reasons, ['ticket_invalid']);
      const none = await activate(alice, { roleId: 'ticketed', scope: '/dev' });
      assert.deepEqual(none.body.error.details.reasons, ['ticket_required']);
      s.clock.set(Date.parse('2026-03-07T12:00:00Z')); // Saturday
      const w = await activate(alice, { roleId: 'ticketed', scope: '/dev', ticket: 'INC-9' });
      assert.deepEqual(w.body.error.details.reasons, ['outside_activation_window']);
      s.clock.set(Date.parse('2026-03-09T09:00:00Z')); // Monday 10:00 in Berlin
      assert.equal((await activate(alice, { roleId: 'ticketed', scope: '/dev', ticket: 'INC-9' })).body.status, 'active');
      const unknown = await activate(alice, { roleId: 'nope', scope: '/dev' });
      assert.equal(unknown.body.error.code, 'unknown_role');
    });

    test('malformed input is a 400 with a stable code and writes nothing', async () => {
      const head = (await s.call('GET', '/api/v1/audit/verify', A())).body.events;
      const cases: [string, string, unknown][] = [
        ['POST', '/api/v1/requests', { roleId: 'reader', scope: '/prod//x', duration: 'PT30M', justification: JUST }],
        ['POST', '/api/v1/requests', { roleId: 'reader', scope: '/prod/../etc', duration: 'PT30M', justification: JUST }],
        ['POST', '/api/v1/requests', { roleId: 'reader', scope: '/prod', duration: 'P1M', justification: JUST }],
        ['POST', '/api/v1/requests', { roleId: 'reader', scope: '/prod', duration: 'PT30M', justification: JUST, extra: 1 }],
        ['POST', '/api/v1/requests', { roleId: 'reader', scope: 'x'.repeat(600), duration: 'PT30M' }],
        ['POST', '/api/v1/requests', 'not json'],
      ];
      for (const [m, url, body] of cases) {
        const r = await s.call(m as 'POST', url, alice, body, typeof body === 'string' ? { 'content-type': 'application/json' } : {});
        assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.body.error.code, /^invalid_(request|scope|duration)$/);
      }
      const bad = await s.call('POST', '/api/v1/roles', A(), { id: 'x1', riskTier: 'low', settings: { approval: { required: true } } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details.field, 'settings.approval.approvers');
      const contradiction = await s.call('POST', '/api/v1/roles', A(), { id: 'x2', riskTier: 'low', settings: { eligibility: { allowPermanent: false } } });
      assert.equal(contradiction.body.error.details.field, 'settings.eligibility.maxDuration');
      assert.equal((await s.call('GET', '/api/v1/roles/x1', A())).status, 404);
      assert.equal((await s.call('GET', '/api/v1/audit/verify', A())).body.events, head);
    });

    test('unauthenticated and unauthorized calls are refused, and admin refusals are audited', async () => {
      assert.equal((await s.call('GET', '/api/v1/roles', null)).status, 401);
      assert.equal((await s.call('GET', '/api/v1/roles', 'elv_nottoken')).body.error.code, 'invalid_token');
      const r = await s.call('POST', '/api/v1/roles', alice, { id: 'sneaky', riskTier: 'low' });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'not_admin');
      const ev = await s.call('GET', '/api/v1/audit?type=authz.denied&actor=alice', A());
      assert.ok(ev.body.items.some((e: any) => e.data.action === 'role.create'));
      // The decision point cannot be used to map who holds power.
      assert.equal((await check(alice, 'bob', 'db-admin', '/prod')).status, 403);
    });

    test('a high-risk role waits for a quorum of distinct people from distinct units; never the requester', async () => {
      const r = await activate(alice, { roleId: 'db-admin', scope: '/prod/payments' }, { 'idempotency-key': 'k-1' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'pending_approval');
      assert.equal((await check(alice, 'alice', 'db-admin', '/prod/payments')).body.allowed, false);
      // Retrying with the same key returns the same request; another body with it is refused.
      const again = await activate(alice, { roleId: 'db-admin', scope: '/prod/payments' }, { 'idempotency-key': 'k-1' });
      assert.equal(again.body.id, r.body.id);
      const reused = await activate(alice, { roleId: 'db-admin', scope: '/prod' }, { 'idempotency-key': 'k-1' });
      assert.equal(reused.body.error.code, 'idempotency_key_reused');

      const self = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, alice, { reason: 'lgtm' });
      assert.equal(self.status, 403);
      assert.equal(self.body.error.code, 'self_approval');
      const outsider = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, dave, { reason: 'lgtm' });
      assert.equal(outsider.body.error.code, 'not_an_approver');
      const inbox = await s.call('GET', '/api/v1/requests?status=pending_approval', bob);
      assert.ok(inbox.body.items.some((x: any) => x.id === r.body.id));
      assert.ok(!(await s.call('GET', '/api/v1/requests?status=pending_approval', alice)).body.items.some((x: any) => x.principalId === 'alice' && x.id === r.body.id));

      const one = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'on call, ok' });
      assert.equal(one.status, 200);
      assert.equal(one.body.status, 'pending_approval');
      const twice = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'again' });
      assert.equal(twice.body.error.code, 'already_decided');
      // erin is also emea: the second approval must come from another unit.
      assert.equal((await s.call('PUT', '/api/v1/groups/dba-leads/members', A(), { members: ['bob', 'carol', 'alice', 'erin'] })).status, 200);
      const sameUnit = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, erin, { reason: 'ok' });
      assert.equal(sameUnit.body.error.code, 'admin_unit_already_counted');
      const two = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, carol, { reason: 'ok from amer' });
      assert.equal(two.body.status, 'active');
      const c = await check(alice, 'alice', 'db-admin', '/prod/payments/x');
      assert.equal(c.body.allowed, true);
      const full = await s.call('GET', `/api/v1/requests/${r.body.id}`, alice);
      assert.deepEqual(full.body.approvals.map((a: any) => a.approverId).sort(), ['bob', 'carol']);
      const cancel = await s.call('POST', `/api/v1/requests/${r.body.id}/cancel`, alice);
      assert.equal(cancel.body.error.code, 'invalid_state');
    });

    test('sequential stages go in order; a timed-out request cannot be approved', async () => {
      const r = await activate(alice, { roleId: 'staged', scope: '/ops' });
      assert.equal(r.body.status, 'pending_approval');
      const early = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, erin, { reason: 'ok' });
      assert.equal(early.body.error.code, 'stage_not_reached');
      const mgr = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, dave, { reason: 'manager ok' });
      assert.deepEqual([mgr.body.status, mgr.body.stage], ['pending_approval', 1]);
      assert.equal((await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, erin, { reason: 'ok' })).body.status, 'active');

      const late = await activate(alice, { roleId: 'staged', scope: '/ops2' });
      s.clock.advance(61 * MIN);
      const tooLate = await s.call('POST', `/api/v1/requests/${late.body.id}/approve`, dave, { reason: 'sorry' });
      assert.equal(tooLate.status, 409);
      assert.equal(tooLate.body.error.code, 'request_timed_out');
      assert.equal((await s.call('GET', `/api/v1/requests/${late.body.id}`, alice)).body.status, 'timed_out');
      const pending = await activate(alice, { roleId: 'staged', scope: '/ops3' });
      assert.equal((await s.call('POST', `/api/v1/requests/${pending.body.id}/cancel`, alice)).body.status, 'cancelled');
      const deny = await activate(alice, { roleId: 'staged', scope: '/ops4' });
      const d = await s.call('POST', `/api/v1/requests/${deny.body.id}/deny`, dave, { reason: 'not today' });
      assert.equal(d.body.status, 'denied');
    });

    test('re-activating extends coverage and never cuts it short; deactivate ends it now', async () => {
      const first = await activate(alice, { roleId: 'reader', scope: '/prod', duration: 'PT2H' });
      const end1 = Date.parse((await check(alice, 'alice', 'reader', '/prod')).body.expiresAt);
      s.clock.advance(10 * MIN);
      const second = await activate(alice, { roleId: 'reader', scope: '/prod', duration: 'PT30M' });
      assert.equal(second.body.assignmentId, first.body.assignmentId);
      assert.equal(Date.parse((await check(alice, 'alice', 'reader', '/prod')).body.expiresAt), end1);
      const ext = await s.call('POST', `/api/v1/assignments/${first.body.assignmentId}/extend`, alice, { duration: 'PT2H', justification: 'Migration runs longer than planned' });
      assert.equal(ext.status, 201, JSON.stringify(ext.body));
      const end2 = Date.parse((await check(alice, 'alice', 'reader', '/prod')).body.expiresAt);
      assert.equal(end2, s.clock.now() + 120 * MIN);
      const off = await s.call('POST', `/api/v1/assignments/${first.body.assignmentId}/deactivate`, alice);
      assert.equal(off.body.status, 'deactivated');
      assert.equal((await check(alice, 'alice', 'reader', '/prod')).body.allowed, false);
    });

    test('a scheduled activation starts exactly at its start; the job books it afterwards', async () => {
      const start = s.clock.now() + 2 * 3_600_000;
      const r = await activate(alice, { roleId: 'reader', scope: '/prod/batch', startAt: new Date(start).toISOString() });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'scheduled');
      s.clock.set(start - 1);
      assert.equal((await check(alice, 'alice', 'reader', '/prod/batch')).body.allowed, false);
      s.clock.set(start);
      assert.equal((await check(alice, 'alice', 'reader', '/prod/batch')).body.allowed, true);
      await s.jobs.tick();
      assert.equal((await s.call('GET', `/api/v1/requests/${r.body.id}`, alice)).body.status, 'active');
      const past = await activate(alice, { roleId: 'reader', scope: '/prod/batch2', startAt: new Date(s.clock.now() - 3_600_000).toISOString() });
      assert.deepEqual(past.body.error.details.reasons, ['start_in_past']);
    });

    test('direct assignments are standing access where the role allows it; the last admin cannot be removed', async () => {
      const perm = await s.call('POST', '/api/v1/assignments', A(), { principalId: 'bob', roleId: 'reader', scope: '/', endsAt: null, justification: 'legacy' });
      assert.equal(perm.body.error.code, 'permanent_not_allowed');
      const tb = await s.call('POST', '/api/v1/assignments', A(), { principalId: 'bob', roleId: 'reader', scope: '/', endsAt: new Date(s.clock.now() + 86_400_000).toISOString(), justification: 'vendor visit' });
      assert.equal(tb.status, 201);
      assert.equal(tb.body.standing, true);
      assert.equal((await check(bob, 'bob', 'reader', '/anything')).body.allowed, true);
      const rev = await s.call('POST', `/api/v1/assignments/${tb.body.id}/revoke`, A(), { reason: 'no longer needed' });
      assert.equal(rev.body.status, 'revoked');
      assert.equal((await check(bob, 'bob', 'reader', '/anything')).body.allowed, false);
      const admins = await s.call('GET', '/api/v1/assignments?principal=admin&role=elevate-admin&live=true', A());
      const last = await s.call('POST', `/api/v1/assignments/${admins.body.items[0].id}/revoke`, A(), { reason: 'oops' });
      assert.equal(last.status, 409);
      assert.equal(last.body.error.code, 'last_admin');
      assert.equal((await s.call('DELETE', '/api/v1/principals/admin', A())).body.error.code, 'last_admin');
    });

    test('group membership counts at the decision point, and suspension ends access at once', async () => {
      assert.equal((await s.call('POST', '/api/v1/principals', A(), { id: 'readers', kind: 'group' })).status, 201);
      assert.equal((await s.call('PUT', '/api/v1/groups/readers/members', A(), { members: ['oncall'] })).status, 200);
      const cyc = await s.call('PUT', '/api/v1/groups/oncall/members', A(), { members: ['alice', 'readers'] });
      assert.equal(cyc.body.error.code, 'group_cycle');
      const g = await s.call('POST', '/api/v1/assignments', A(), { principalId: 'readers', roleId: 'reader', scope: '/shared', endsAt: new Date(s.clock.now() + 3_600_000).toISOString(), justification: 'shared docs' });
      assert.equal(g.status, 201);
      assert.equal((await check(alice, 'alice', 'reader', '/shared/x')).body.allowed, true);
      assert.equal((await s.call('PATCH', '/api/v1/principals/alice', A(), { status: 'suspended' })).status, 200);
      assert.equal((await s.call('GET', '/api/v1/check?principal=alice&role=reader&scope=/shared', A())).body.reason, 'principal_suspended');
      assert.equal((await s.call('PATCH', '/api/v1/principals/alice', A(), { status: 'active' })).status, 200);
    });

    test('the checker role lets an application ask about others', async () => {
      const app = await s.call('POST', '/api/v1/principals', A(), { id: 'gateway', kind: 'service' });
      assert.equal(app.status, 201);
      const tok = (await s.call('POST', '/api/v1/principals/gateway/tokens', A(), {})).body.token;
      assert.equal((await check(tok, 'alice', 'reader', '/prod')).status, 403);
      assert.equal((await s.call('POST', '/api/v1/assignments', A(), { principalId: 'gateway', roleId: 'elevate-checker', scope: '/', endsAt: null, justification: 'API gateway' })).status, 201);
      const batch = await s.call('POST', '/api/v1/check', tok, { checks: [{ principal: 'alice', role: 'reader', scope: '/prod' }, { principal: 'admin', role: 'elevate-admin', scope: '/x' }] });
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.results.map((r: any) => r.allowed), [false, true]);
    });

    test('tokens are shown once, hashed at rest and revocable', async () => {
      const t = await s.call('POST', '/api/v1/principals/bob/tokens', A(), { name: 'ci' });
      assert.match(t.body.token, /^elv_/);
      const list = await s.call('GET', '/api/v1/principals/bob/tokens', A());
      assert.ok(list.body.items.every((x: any) => !('token' in x) && !('hash' in x)));
      assert.equal((await s.call('GET', '/api/v1/me', t.body.token)).status, 200);
      assert.equal((await s.call('DELETE', `/api/v1/principals/bob/tokens/${t.body.id}`, A())).status, 204);
      assert.equal((await s.call('GET', '/api/v1/me', t.body.token)).status, 401);
    });

    test('the audit chain verifies, is filterable, and no secret is in it', async () => {
      await s.uc.audit.checkpoint();
      const v = await s.call('GET', '/api/v1/audit/verify', A());
      assert.equal(v.body.ok, true, JSON.stringify(v.body));
      assert.ok(v.body.events > 50);
      const all = await s.uc.audit.query({ limit: 1000 });
      const text = JSON.stringify(all);
      assert.ok(!text.includes(ADMIN_TOKEN) && !text.includes(alice) && !text.includes(bob), 'a token leaked into the audit log');
      const keys = await s.call('GET', '/api/v1/audit/keys', null);
      assert.match(keys.body.keys[0].publicKeyPem, /BEGIN PUBLIC KEY/);
      const doc = await s.call('GET', '/api/v1/openapi.json', null);
      assert.equal(doc.body.openapi, '3.1.0');
      assert.ok(doc.body.paths['/api/v1/requests/{id}/approve']);
    });
  });
}
