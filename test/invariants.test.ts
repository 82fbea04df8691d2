import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/** Regression tests for invariant breaks found in review: lockout, coverage by eligibility, separation of duties, orphans. */
const JUST = 'Investigating INC-1234 replication lag';
const A = ADMIN_TOKEN;

for (const backend of BACKENDS) {
  describe(`invariants on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string;
    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      carol = await user(s, 'carol');
      for (const g of ['oncall', 'leads', 'admins']) assert.equal((await s.call('POST', '/api/v1/principals', A, { id: g, kind: 'group' })).status, 201);
      await s.call('PUT', '/api/v1/groups/leads/members', A, { members: ['bob', 'carol'] });
      await s.call('POST', '/api/v1/roles', A, { id: 'reader', riskTier: 'low', settings: { maxActivation: 'PT4H' } });
      await s.call('POST', '/api/v1/roles', A, {
        id: 'dba', riskTier: 'high',
        settings: { maxActivation: 'PT4H', approval: { required: true, approvers: [{ group: 'leads' }], minApprovals: 2, timeout: 'PT2H' } },
      });
      await s.call('POST', '/api/v1/roles', A, { id: 'one', riskTier: 'high', settings: { maxActivation: 'PT4H', approval: { required: true, approvers: [{ group: 'leads' }], timeout: 'PT2H' } } });
    });
    after(async () => s?.cleanup());

    const activate = (t: string, body: Record<string, unknown>) => s.call('POST', '/api/v1/requests', t, { duration: 'PT1H', justification: JUST, ...body });
    const allowed = async (p: string, role: string, scope: string) => (await s.call('GET', `/api/v1/check?principal=${p}&role=${role}&scope=${scope}`, A)).body.allowed as boolean;
    const elig = async (principalId: string, roleId: string, scope: string, endsAt: string | null = null) => {
      const r = await s.call('POST', '/api/v1/eligibilities', A, { principalId, roleId, scope, endsAt, justification: 'rota' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };

    test('removing a group’s eligibility ends the grants its members activated under it', async () => {
      await s.call('PUT', '/api/v1/groups/oncall/members', A, { members: ['alice'] });
      const e = await elig('oncall', 'reader', '/g1');
      assert.equal((await activate(alice, { roleId: 'reader', scope: '/g1' })).body.status, 'active');
      assert.equal(await allowed('alice', 'reader', '/g1'), true);
      assert.equal((await s.call('DELETE', `/api/v1/eligibilities/${e}`, A)).status, 204);
      assert.equal(await allowed('alice', 'reader', '/g1'), false);
    });

    test('leaving the group ends grants activated through it; a pending request then cannot be approved', async () => {
      await s.call('PUT', '/api/v1/groups/oncall/members', A, { members: ['alice'] });
      await elig('oncall', 'reader', '/g2');
      await elig('oncall', 'one', '/g2');
      assert.equal((await activate(alice, { roleId: 'reader', scope: '/g2' })).body.status, 'active');
      const pending = await activate(alice, { roleId: 'one', scope: '/g2' });
      assert.equal(pending.body.status, 'pending_approval');
      await s.call('PUT', '/api/v1/groups/oncall/members', A, { members: [] });
      assert.equal(await allowed('alice', 'reader', '/g2'), false);
      const ap = await s.call('POST', `/api/v1/requests/${pending.body.id}/approve`, bob, { reason: 'ok' });
      assert.equal(ap.body.status, 'activation_failed');
      assert.equal(await allowed('alice', 'one', '/g2'), false);
    });

    test('a grant shrinks to what still covers it when a wider eligibility goes', async () => {
      const wide = await elig('alice', 'reader', '/g3');
      await elig('alice', 'reader', '/g3/db', new Date(s.clock.now() + 5 * 60_000).toISOString());
      assert.equal((await activate(alice, { roleId: 'reader', scope: '/g3/db', duration: 'PT2H' })).body.status, 'active');
      await s.call('DELETE', `/api/v1/eligibilities/${wide}`, A);
      const c = await s.call('GET', '/api/v1/check?principal=alice&role=reader&scope=/g3/db', A);
      assert.equal(Date.parse(c.body.expiresAt), s.clock.now() + 5 * 60_000);
    });

    test('an approval stops counting when its approver leaves the approver group', async () => {
      await elig('alice', 'dba', '/g4');
      const r = await activate(alice, { roleId: 'dba', scope: '/g4' });
      assert.equal((await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'ok' })).body.status, 'pending_approval');
      await s.call('PUT', '/api/v1/groups/leads/members', A, { members: ['carol'] });
      assert.equal((await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, carol, { reason: 'ok' })).body.status, 'pending_approval');
      await s.call('PUT', '/api/v1/groups/leads/members', A, { members: ['bob', 'carol'] });
    });

    test('approval applies the role’s rules as they are when it is granted', async () => {
      await elig('alice', 'one', '/g5');
      const r = await activate(alice, { roleId: 'one', scope: '/g5', duration: 'PT4H' });
      await s.call('PUT', '/api/v1/roles/one', A, { riskTier: 'high', settings: { maxActivation: 'PT1H', approval: { required: true, approvers: [{ group: 'leads' }], timeout: 'PT2H' } } });
      const ok = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'ok' });
      assert.equal(ok.body.status, 'active');
      const c = await s.call('GET', '/api/v1/check?principal=alice&role=one&scope=/g5', A);
      assert.equal(Date.parse(c.body.expiresAt), s.clock.now() + 3_600_000);
    });

    test('a suspended principal’s tokens stop working, and its pending requests are cancelled', async () => {
      const dave = await user(s, 'dave');
      await elig('dave', 'one', '/g6');
      const r = await activate(dave, { roleId: 'one', scope: '/g6' });
      await s.call('PATCH', '/api/v1/principals/dave', A, { status: 'suspended' });
      assert.equal((await s.call('GET', '/api/v1/me', dave)).status, 401);
      assert.equal((await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'ok' })).body.error.code, 'request_not_pending');
      await s.call('PATCH', '/api/v1/principals/dave', A, { status: 'active' });
      assert.equal(await allowed('dave', 'one', '/g6'), false);
    });

    test('requests of a deleted principal or role are closed, and the timeout job finishes', async () => {
      const erin = await user(s, 'erin');
      await elig('erin', 'one', '/g7');
      for (let i = 0; i < 3; i++) assert.equal((await activate(erin, { roleId: 'one', scope: `/g7/s${i}` })).body.status, 'pending_approval');
      await s.call('DELETE', '/api/v1/principals/erin', A);
      s.clock.advance(3 * 3_600_000);
      await s.jobs.tick();
      const mine = await s.call('GET', '/api/v1/requests?principal=erin&status=pending_approval', A);
      assert.equal(mine.body.items.length, 0);
    });

    test('an alias of the requester (same email) cannot approve', async () => {
      const gina = await user(s, 'gina', { email: 'gina@example.com' });
      const ginaAdmin = await user(s, 'gina.admin', { email: 'Gina@Example.com' });
      await s.call('PUT', '/api/v1/groups/leads/members', A, { members: ['bob', 'carol', 'gina.admin'] });
      await elig('gina', 'one', '/g9');
      const r = await activate(gina, { roleId: 'one', scope: '/g9' });
      const ap = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, ginaAdmin, { reason: 'ok' });
      assert.equal(ap.status, 403);
      assert.equal(ap.body.error.code, 'self_approval');
      assert.equal((await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, bob, { reason: 'ok' })).body.status, 'active');
      await s.call('PUT', '/api/v1/groups/leads/members', A, { members: ['bob', 'carol'] });
    });

    test('a non-requester’s cancel is refused and audited', async () => {
      await elig('alice', 'one', '/g8');
      const r = await activate(alice, { roleId: 'one', scope: '/g8' });
      const c = await s.call('POST', `/api/v1/requests/${r.body.id}/cancel`, bob);
      assert.equal(c.body.error.code, 'not_requester');
      const ev = await s.call('GET', '/api/v1/audit?type=request.cancel_refused', A);
      assert.ok(ev.body.items.some((e: any) => e.requestId === r.body.id));
    });

    test('bad settings and token lifetimes are 400s, not 500s', async () => {
      const b1 = await s.call('POST', '/api/v1/roles', A, { id: 'x1', riskTier: 'high', settings: { approval: { required: true, approvers: null, stages: [{ approvers: [{ principal: 'bob' }] }] } } });
      assert.equal(b1.status, 201, JSON.stringify(b1.body));
      const b3 = await s.call('POST', '/api/v1/roles', A, { id: 'x2', riskTier: 'low', settings: { approval: { minApprovals: 'lots' } } });
      assert.equal(b3.body.error.details.field, 'settings.approval.minApprovals');
      const b2 = await s.call('POST', '/api/v1/principals/alice/tokens', alice, { expiresIn: 'P999999W' });
      assert.equal(b2.status, 400);
      assert.equal((await s.call('GET', '/api/v1/principals/alice/tokens', alice)).status, 200);
    });

    if (backend.name === 'postgres') {
      test('removing an eligibility while its holder activates never leaves a grant behind', async () => {
        for (let i = 0; i < 15; i++) {
          const e = await elig('alice', 'reader', `/race${i}`);
          const [, act] = await Promise.all([s.call('DELETE', `/api/v1/eligibilities/${e}`, A), activate(alice, { roleId: 'reader', scope: `/race${i}` })]);
          assert.ok([201, 403].includes(act.status), JSON.stringify(act.body));
          assert.equal(await allowed('alice', 'reader', `/race${i}`), false, `round ${i}`);
        }
      });
    }

    test('the last admin cannot be removed through a group, nor replaced by a future grant', async () => {
      await s.call('PUT', '/api/v1/groups/admins/members', A, { members: ['bob'] });
      const g = await s.call('POST', '/api/v1/assignments', A, { principalId: 'admins', roleId: 'elevate-admin', scope: '/', endsAt: null, justification: 'admin team' });
      assert.equal(g.status, 201);
      const mine = (await s.call('GET', '/api/v1/assignments?principal=admin&role=elevate-admin&live=true', A)).body.items[0];
      assert.equal((await s.call('POST', `/api/v1/assignments/${mine.id}/revoke`, A, { reason: 'bob’s team takes over' })).status, 200);
      assert.equal((await s.call('GET', '/api/v1/me', bob)).status, 200);
      for (const [m, url, body] of [
        ['PATCH', '/api/v1/principals/admins', { status: 'suspended' }],
        ['DELETE', '/api/v1/principals/admins', undefined],
        ['PUT', '/api/v1/groups/admins/members', { members: [] }],
        ['PATCH', '/api/v1/principals/bob', { status: 'suspended' }],
        ['DELETE', '/api/v1/principals/bob', undefined],
      ] as const) {
        const r = await s.call(m, url, bob, body);
        assert.equal(r.status, 409, `${m} ${url}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'last_admin');
      }
      // A permanent grant that starts next year does not count as an administrator today.
      const future = await s.call('POST', '/api/v1/assignments', bob, { principalId: 'carol', roleId: 'elevate-admin', scope: '/', startsAt: new Date(s.clock.now() + 365 * 86_400_000).toISOString(), endsAt: null, justification: 'next year' });
      assert.equal(future.status, 201);
      assert.equal((await s.call('POST', `/api/v1/assignments/${g.body.id}/revoke`, bob, { reason: 'x' })).body.error.code, 'last_admin');
      void carol;
    });

  });
}
