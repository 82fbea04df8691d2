import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/** An approver sees who else may decide the request and the requester's recent requests; the requester does not get that view. */
for (const b of BACKENDS) {
  describe(`approver context (${b.name})`, { skip: b.skip }, () => {
    let s: TestServer;
    const t: Record<string, string> = {};
    before(async () => {
      s = await startServer(b.name);
      for (const id of ['alice', 'bob', 'carol']) t[id] = await user(s, id);
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'db', riskTier: 'high', settings: { approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'carol' }] } } });
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'reader', riskTier: 'low', settings: { justification: { required: false } } });
      for (const r of ['db', 'reader']) await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: r, scope: '/prod', endsAt: null, justification: 'team' });
    });
    after(() => s.cleanup());

    it("lists the other approvers and the requester's latest other requests, newest first", async () => {
      const earlier = await s.call('POST', '/api/v1/requests', t.alice!, { roleId: 'reader', scope: '/prod', duration: 'PT30M' });
      assert.equal(earlier.status, 201);
      s.clock.advance(60_000);
      const denied = await s.call('POST', '/api/v1/requests', t.alice!, { roleId: 'db', scope: '/prod', duration: 'PT30M', justification: 'x' });
      assert.equal(denied.status, 403);
      s.clock.advance(60_000);
      const pending = await s.call('POST', '/api/v1/requests', t.alice!, { roleId: 'db', scope: '/prod/orders', duration: 'PT45M', justification: 'fixing the orders index INC-77' });
      assert.equal(pending.body.status, 'pending_approval');

      const seen = await s.call('GET', `/api/v1/requests/${pending.body.id}`, t.bob!);
      assert.equal(seen.status, 200);
      assert.deepEqual(seen.body.context.otherApprovers, ['carol']);
      assert.deepEqual(seen.body.context.recentRequests.map((r: any) => [r.roleId, r.status]), [['db', 'denied'], ['reader', 'active']]);
      assert.equal(seen.body.context.recentRequests[1].duration, 'PT30M');

      const own = await s.call('GET', `/api/v1/requests/${pending.body.id}`, t.alice!);
      assert.equal(own.body.context, null);
      assert.equal((await s.call('GET', `/api/v1/requests/${pending.body.id}`, t.carol!)).body.context.otherApprovers[0], 'bob');
    });
  });
}
