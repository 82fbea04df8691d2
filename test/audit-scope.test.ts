import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/** The audit log filtered by scope: the scope and its subtree, never a sibling that shares a prefix. */
for (const b of BACKENDS) {
  describe(`audit filtered by scope (${b.name})`, { skip: b.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(b.name);
      await user(s, 'gus');
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'ops', riskTier: 'low' });
      for (const scope of ['/prod', '/prod/payments', '/prodx', '/dev']) {
        const r = await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'gus', roleId: 'ops', scope, endsAt: null, justification: 'rota' });
        assert.equal(r.status, 201);
      }
    });
    after(() => s.cleanup());
    const scopes = async (q: string) => (await s.call('GET', `/api/v1/audit?type=eligibility.created&${q}`, ADMIN_TOKEN)).body.items.map((e: { scope: string }) => e.scope).sort();

    it('a scope selects itself and what is below it', async () => {
      assert.deepEqual(await scopes('scope=%2Fprod'), ['/prod', '/prod/payments']);
      assert.deepEqual(await scopes('scope=%2Fprod%2Fpayments'), ['/prod/payments']);
      assert.deepEqual(await scopes('scope=%2F'), ['/dev', '/prod', '/prod/payments', '/prodx']);
    });
    it('a malformed scope is a 400 naming the problem', async () => {
      const r = await s.call('GET', '/api/v1/audit?scope=prod', ADMIN_TOKEN);
      assert.equal(r.status, 400);
      assert.equal(typeof r.body.error.code, 'string');
    });
  });
}
