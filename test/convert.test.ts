import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Converting standing access to just-in-time access (POST /assignments/{id}/convert-to-eligible) and
 * the role editor's dry run (POST /roles/validate), on both backends.
 */
const A = ADMIN_TOKEN;
const DAY = 86_400_000;

for (const backend of BACKENDS) {
  describe(`convert to eligible and role validation on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string;
    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      for (const r of [
        { id: 'reader', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'dba', riskTier: 'high', settings: { eligibility: { allowPermanent: false, maxDuration: 'P90D' }, activeAssignment: { allowPermanent: true } } },
      ]) {
        const res = await s.call('POST', '/api/v1/roles', A, r);
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
    });
    after(async () => s?.cleanup());

    const direct = async (principalId: string, roleId: string, scope: string, endsAt: string | null = null) => {
      const r = await s.call('POST', '/api/v1/assignments', A, { principalId, roleId, scope, endsAt, justification: 'legacy standing access' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id as string;
    };
    const allowed = async (p: string, role: string, scope: string) => (await s.call('GET', `/api/v1/check?principal=${p}&role=${role}&scope=${encodeURIComponent(scope)}`, A)).body.allowed as boolean;
    const eligibilities = async (p: string, role: string) => (await s.call('GET', `/api/v1/eligibilities?principal=${p}&role=${role}`, A)).body.items as any[];
    const auditTypes = async (p: string) => ((await s.call('GET', `/api/v1/audit?principal=${p}&limit=1000`, A)).body.items as any[]).map((e) => e.type);

    test('a standing grant becomes a permanent eligibility in one step, audited', async () => {
      const id = await direct('alice', 'reader', '/prod');
      assert.equal(await allowed('alice', 'reader', '/prod/x'), true);
      const r = await s.call('POST', `/api/v1/assignments/${id}/convert-to-eligible`, A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.assignment.status, 'revoked');
      assert.equal(r.body.assignment.standing, true);
      assert.equal(r.body.eligibilityCreated, true);
      assert.deepEqual([r.body.eligibility.principalId, r.body.eligibility.roleId, r.body.eligibility.scope, r.body.eligibility.endsAt], ['alice', 'reader', '/prod', null]);
      assert.equal(await allowed('alice', 'reader', '/prod/x'), false, 'no standing access any more');
      const e = await eligibilities('alice', 'reader');
      assert.equal(e.length, 1);
      assert.equal(e[0].id, r.body.eligibility.id);
      const types = await auditTypes('alice');
      assert.ok(types.includes('assignment.converted_to_eligible'), types.join());
      const revoked = ((await s.call('GET', '/api/v1/audit?type=assignment.revoked&principal=alice', A)).body.items as any[]).at(-1);
      assert.deepEqual(revoked.reasons, ['converted_to_eligible']);
      // alice can now activate what she held standing.
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'reader', scope: '/prod', duration: 'PT30M', justification: 'Investigating INC-1 replication lag' });
      assert.equal(act.body.status, 'active', JSON.stringify(act.body));
      // Converting again: the grant has ended.
      const again = await s.call('POST', `/api/v1/assignments/${id}/convert-to-eligible`, A);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'invalid_state');
      // An activated grant is not standing access: nothing to convert.
      const notDirect = await s.call('POST', `/api/v1/assignments/${act.body.assignmentId}/convert-to-eligible`, A);
      assert.equal(notDirect.status, 409);
      assert.equal(notDirect.body.error.code, 'not_direct');
      assert.equal((await s.call('POST', '/api/v1/assignments/nope/convert-to-eligible', A)).status, 404);
    });

    test("a role without permanent eligibility gives one for the role's longest eligibility; one already there is kept", async () => {
      const id = await direct('bob', 'dba', '/db');
      const r = await s.call('POST', `/api/v1/assignments/${id}/convert-to-eligible`, A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(Date.parse(r.body.eligibility.endsAt) - s.clock.now(), 90 * DAY);

      const existing = await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'bob', roleId: 'reader', scope: '/docs', endsAt: null, justification: 'docs rota' });
      assert.equal(existing.status, 201);
      const id2 = await direct('bob', 'reader', '/docs');
      const r2 = await s.call('POST', `/api/v1/assignments/${id2}/convert-to-eligible`, A);
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assert.equal(r2.body.eligibilityCreated, false);
      assert.equal(r2.body.eligibility.id, existing.body.id);
      assert.equal((await eligibilities('bob', 'reader')).length, 1, 'no second eligibility');
      assert.equal(await allowed('bob', 'reader', '/docs'), false);
    });

    test('only an admin converts; the refusal changes nothing', async () => {
      const id = await direct('alice', 'reader', '/ops');
      const r = await s.call('POST', `/api/v1/assignments/${id}/convert-to-eligible`, alice);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'not_admin');
      assert.equal(await allowed('alice', 'reader', '/ops'), true);
    });

    test('the last standing elevate-admin cannot be converted: 409 last_admin, nothing changed', async () => {
      const admins = await s.call('GET', '/api/v1/assignments?principal=admin&role=elevate-admin&live=true', A);
      const last = admins.body.items[0].id as string;
      const before = (await eligibilities('admin', 'elevate-admin')).length;
      const r = await s.call('POST', `/api/v1/assignments/${last}/convert-to-eligible`, A);
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'last_admin');
      assert.equal((await s.call('GET', `/api/v1/assignments/${last}`, A)).body.status, 'active');
      assert.equal((await eligibilities('admin', 'elevate-admin')).length, before, 'no eligibility left behind');
      assert.equal(await allowed('admin', 'elevate-admin', '/'), true);

      // With a second standing admin the first one can be converted.
      await direct('bob', 'elevate-admin', '/');
      const ok = await s.call('POST', `/api/v1/assignments/${last}/convert-to-eligible`, A);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.eligibility.roleId, 'elevate-admin');
    });

    test('roles/validate: the normalized settings, or the 400 naming the field; writes nothing; admin only', async () => {
      // admin was converted above: bob is the standing admin now.
      const ok = await s.call('POST', '/api/v1/roles/validate', bob, { riskTier: 'high', settings: { maxActivation: 'PT4H' } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.settings.maxActivation, 'PT4H');
      assert.deepEqual(ok.body.settings.justification, { required: true, minLength: 10 }, 'safe defaults filled in');
      const bad = await s.call('POST', '/api/v1/roles/validate', bob, { id: 'x', riskTier: 'low', settings: { maxActivation: 'PT2X' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_settings');
      assert.equal(bad.body.error.details.field, 'settings.maxActivation');
      const crit = await s.call('POST', '/api/v1/roles/validate', bob, { riskTier: 'critical', settings: {} });
      assert.equal(crit.body.error.details.field, 'settings.approval.required');
      assert.equal((await s.call('GET', '/api/v1/roles/x', bob)).status, 404, 'nothing stored');
      assert.equal((await s.call('POST', '/api/v1/roles/validate', alice, { riskTier: 'low' })).status, 403);
    });
  });
}
