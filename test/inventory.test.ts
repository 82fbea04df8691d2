import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { csrfTokenOf, sessionIdOf } from '../src/app/sessions.js';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * The road from standing to just-in-time access, over HTTP on both backends: the inventory of
 * standing access (Elevate's direct assignments and imported rows), per-role rollout (awareness
 * counts uses of standing grants at the decision point; enforced refuses new direct assignments but
 * not break-glass), readiness figures, and bulk conversion to eligibility (all or nothing).
 */
const A = ADMIN_TOKEN;
const DAY = 86_400_000;
const MIN = 60_000;
const at = (ms: number) => new Date(ms).toISOString();

for (const backend of BACKENDS) {
  describe(`standing inventory and rollout on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string;
    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice', { name: 'Alice Liddell' });
      bob = await user(s, 'bob', { email: 'Bob@Example.com' });
      carol = await user(s, 'carol');
      await user(s, 'bg', { name: 'Emergency account' });
      for (const r of [
        { id: 'reader', name: 'Reader', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'legacy-ops', riskTier: 'medium', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'ops', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'wiki', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'dba', riskTier: 'high', settings: { maxActivation: 'PT2H', activeAssignment: { allowPermanent: true }, approval: { required: true, approvers: [{ principal: 'carol' }] } } },
        { id: 'conv', riskTier: 'medium', settings: { activeAssignment: { allowPermanent: true }, eligibility: { allowPermanent: false, maxDuration: 'P90D' } } },
        {
          id: 'prod-emergency', riskTier: 'critical',
          settings: { maxActivation: 'PT1H', breakGlass: true, activeAssignment: { allowPermanent: true }, approval: { required: true, approvers: [{ principal: 'admin' }] } },
        },
      ]) {
        const res = await s.call('POST', '/api/v1/roles', A, r);
        assert.equal(res.status, 201, `${r.id}: ${JSON.stringify(res.body)}`);
      }
    });
    after(async () => s?.cleanup());

    const direct = async (principalId: string, roleId: string, scope: string, endsAt: string | null = null, justification = 'legacy standing access') => {
      const r = await s.call('POST', '/api/v1/assignments', A, { principalId, roleId, scope, endsAt, justification });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; startsAt: string };
    };
    const standing = async (q = '') => {
      const r = await s.call('GET', `/api/v1/standing${q}`, A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.items as any[];
    };
    const rolloutOf = async (roleId: string) => {
      const r = await s.call('GET', '/api/v1/rollout', A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body.items as any[]).find((x) => x.roleId === roleId);
    };
    const setMode = async (roleId: string, mode: string) => {
      const r = await s.call('PUT', `/api/v1/roles/${roleId}/rollout`, A, { mode });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const audit = async (type: string) => (await s.call('GET', `/api/v1/audit?type=${type}&limit=1000`, A)).body.items as any[];
    const importCsv = (system: string, data: string) => s.call('POST', '/api/v1/standing/import', A, { system, format: 'csv', data });

    test('the inventory lists direct assignments with since and justification, permanent first; admins only', async () => {
      const bounded = await direct('bob', 'reader', '/docs', at(s.clock.now() + 10 * DAY), 'docs rota until the migration ends');
      s.clock.advance(MIN);
      const permanent = await direct('alice', 'reader', '/prod', null, 'DBA on call since 2019');
      const items = await standing('?roleId=reader');
      assert.deepEqual(items.map((i) => i.id), [permanent.id, bounded.id], 'the permanent grant comes first');
      const p = items[0];
      assert.deepEqual(
        [p.source, p.system, p.principalId, p.principalName, p.roleId, p.privilege, p.scope, p.since, p.justification, p.lastUsedAt, p.flagged, p.flagReason, p.convertible],
        ['elevate', 'elevate', 'alice', 'Alice Liddell', 'reader', 'Reader', '/prod', permanent.startsAt, 'DBA on call since 2019', null, false, null, true],
      );
      // An activation is not standing access; neither is the bootstrap admin's role filtered out.
      assert.ok((await standing()).some((i) => i.roleId === 'elevate-admin' && i.principalId === 'admin'));
      const refused = await s.call('GET', '/api/v1/standing', alice);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'not_admin');
    });

    test('an import with a bad line changes nothing and names the line; a good one appears; re-importing replaces the system', async () => {
      const header = 'principal,privilege,scope,since,last_used,justification,role\n';
      const badDate = header + 'alice,db_owner,/legacy,2021-04-01,2026-02-20,payroll database owner,reader\n' + 'dana,sysadmin,aws:prod,not-a-date,,break/fix\n';
      const r1 = await importCsv('Legacy AD', badDate);
      assert.equal(r1.status, 400, JSON.stringify(r1.body));
      assert.equal(r1.body.error.code, 'invalid_import');
      assert.deepEqual([r1.body.error.details.line, r1.body.error.details.field], [3, 'since']);
      const r2 = await importCsv('Legacy AD', header + 'alice,db_owner,/legacy,2021-04-01,,x,reader\nalice,db_owner,/legacy2,,,,no-such-role\n');
      assert.equal(r2.status, 400);
      assert.deepEqual([r2.body.error.details.line, r2.body.error.details.field, r2.body.error.details.reason], [3, 'role', 'unknown_role']);
      const r3 = await importCsv('Legacy AD', 'principal,privilege\nalice,x\n');
      assert.equal(r3.status, 400);
      assert.deepEqual([r3.body.error.details.line, r3.body.error.details.field], [1, 'scope']);
      const r4 = await s.call('POST', '/api/v1/standing/import', A, { system: 'Legacy AD', format: 'json', data: JSON.stringify([{ principal: 'alice', privilege: 'x', scope: '/a' }, { principal: '', privilege: 'x', scope: '/a' }]) });
      assert.equal(r4.status, 400);
      assert.deepEqual([r4.body.error.details.line, r4.body.error.details.field], [2, 'principal']);
      assert.deepEqual(await standing('?source=import'), [], 'nothing written');
      assert.equal((await audit('standing.imported')).length, 0);
      assert.equal((await s.call('POST', '/api/v1/standing/import', alice, { system: 'x', format: 'csv', data: header })).status, 403);

      const good =
        header +
        'alice,db_owner,/legacy,2021-04-01,2026-02-20T10:00:00Z,payroll database owner,reader\n' +
        'BOB@example.com,"Domain Admins",/corp,2019-01-15,,"inherited from the ""old"" team",\n' +
        'dana.external,sysadmin,aws:123456789012,2020-06-30,,break/fix,\n';
      const ok = await importCsv('Legacy AD', good);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.imported, 3);
      const rows = await standing('?source=import');
      assert.equal(rows.length, 3);
      const [a, b, d] = ['db_owner', 'Domain Admins', 'sysadmin'].map((p) => rows.find((r) => r.privilege === p));
      assert.deepEqual([a.source, a.system, a.principalId, a.roleId, a.scope, a.since, a.lastUsedAt, a.justification, a.convertible], [
        'import', 'Legacy AD', 'alice', 'reader', '/legacy', '2021-04-01T00:00:00.000Z', '2026-02-20T10:00:00.000Z', 'payroll database owner', true,
      ]);
      assert.deepEqual([b.principalId, b.justification, b.roleId, b.convertible], ['bob', 'inherited from the "old" team', null, false], 'matched by email; no role: not convertible');
      assert.deepEqual([d.principalId, d.principalName, d.scope, d.convertible], [null, 'dana.external', 'aws:123456789012', false], 'kept as an external name');
      const ev = (await audit('standing.imported')).at(-1);
      assert.deepEqual([ev.actorId, ev.data.system, ev.data.imported, ev.data.replaced], ['admin', 'Legacy AD', 3, 0]);

      // Re-importing the same system replaces its rows; another system's rows stay.
      const other = await s.call('POST', '/api/v1/standing/import', A, { system: 'Okta', format: 'json', data: JSON.stringify([{ principal: 'carol', privilege: 'Super Admin', scope: '/', since: '2022-01-01' }]) });
      assert.equal(other.status, 200, JSON.stringify(other.body));
      const again = await importCsv('Legacy AD', header + 'alice,db_owner,/legacy,2021-04-01,,payroll database owner,reader\n');
      assert.equal(again.status, 200, JSON.stringify(again.body));
      const after = await standing('?source=import');
      assert.deepEqual(after.map((r) => `${r.system}:${r.privilege}`).sort(), ['Legacy AD:db_owner', 'Okta:Super Admin']);
      assert.equal((await audit('standing.imported')).at(-1).data.replaced, 3);
    });

    test('enforced rollout refuses a new direct assignment (409, audited) and flags existing ones; break-glass still works', async () => {
      const old = await direct('bob', 'legacy-ops', '/ops');
      const set = await setMode('legacy-ops', 'enforced');
      assert.deepEqual([set.roleId, set.mode, set.changedBy, set.standingHolders, set.flagged], ['legacy-ops', 'enforced', 'admin', 1, 1]);
      const changed = (await audit('role.rollout_changed')).at(-1);
      assert.deepEqual([changed.roleId, changed.data.from, changed.data.to], ['legacy-ops', 'none', 'enforced']);

      const refused = await s.call('POST', '/api/v1/assignments', A, { principalId: 'alice', roleId: 'legacy-ops', scope: '/ops', endsAt: null, justification: 'needs it' });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'rollout_enforced');
      const denial = (await audit('authz.denied')).at(-1);
      assert.deepEqual([denial.principalId, denial.roleId, denial.reasons, denial.data.action], ['alice', 'legacy-ops', ['rollout_enforced'], 'assignment.create']);
      assert.equal((await s.call('GET', '/api/v1/assignments?principal=alice&role=legacy-ops', A)).body.items.length, 0, 'nothing created');

      const item = (await standing('?roleId=legacy-ops')).find((i) => i.id === old.id);
      assert.deepEqual([item.flagged, item.flagReason], [true, 'rollout_enforced']);
      assert.equal((await rolloutOf('legacy-ops')).flagged, 1);
      assert.equal((await s.call('PUT', '/api/v1/roles/legacy-ops/rollout', alice, { mode: 'none' })).status, 403);
      assert.equal((await s.call('PUT', '/api/v1/roles/nope/rollout', A, { mode: 'none' })).status, 404);
      assert.equal((await s.call('PUT', '/api/v1/roles/legacy-ops/rollout', A, { mode: 'strict' })).status, 400);

      // Break-glass on an enforced role: a designated account, local password sign-in, a fresh passkey.
      await setMode('prod-emergency', 'enforced');
      assert.equal((await s.call('PUT', '/api/v1/breakglass/accounts/bg', A)).status, 204);
      const secret = 'els_' + randomBytes(32).toString('base64url');
      const now = s.clock.now();
      await s.store.transaction((tx) =>
        s.store.sessions.insert(tx, {
          id: sessionIdOf(secret), principalId: 'bg', createdAt: now, lastSeenAt: now, expiresAt: now + 3_600_000, revokedAt: null,
          facts: { signIn: 'password', issuer: null, subject: null, groups: [], amr: ['pwd'], acr: null, deviceCompliant: null, signInRisk: null },
          mfa: [{ method: 'webauthn', at: now, credentialId: 'cred-1' }],
        }),
      );
      assert.ok(csrfTokenOf(secret));
      const bg = await s.call('POST', '/api/v1/breakglass/activate', secret, { roleId: 'prod-emergency', scope: '/prod', duration: 'PT30M', justification: 'IdP outage INC-4711: payments database is down' });
      assert.equal(bg.status, 201, JSON.stringify(bg.body));
      assert.equal(bg.body.assignment.source, 'breakglass');
      const blocked = await s.call('POST', '/api/v1/assignments', A, { principalId: 'bg', roleId: 'prod-emergency', scope: '/prod', endsAt: null, justification: 'standing emergency access' });
      assert.equal(blocked.status, 409);
      await setMode('legacy-ops', 'none');
      assert.equal((await standing('?roleId=legacy-ops')).find((i) => i.id === old.id).flagged, false);
    });

    test('awareness counts checks answered by a standing grant, not by a just-in-time one, nor for a role not in awareness', async () => {
      const standingOps = await direct('alice', 'ops', '/ops');
      const wiki = await direct('alice', 'wiki', '/wiki');
      const e = await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'alice', roleId: 'ops', scope: '/jit', endsAt: null, justification: 'on call' });
      assert.equal(e.status, 201, JSON.stringify(e.body));
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'ops', scope: '/jit', duration: 'PT1H', justification: 'Rotating certificates CHG-42' });
      assert.equal(act.body.status, 'active', JSON.stringify(act.body));
      await setMode('ops', 'awareness');

      const t = s.clock.now();
      const check = async (role: string, scope: string) => {
        const r = await s.call('GET', `/api/v1/check?principal=alice&role=${role}&scope=${encodeURIComponent(scope)}`, alice);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.allowed, true);
      };
      await check('ops', '/ops/payments');
      s.clock.advance(MIN);
      await check('ops', '/ops');
      const batch = await s.call('POST', '/api/v1/check', alice, { checks: [{ principal: 'alice', role: 'ops', scope: '/ops/x' }, { principal: 'alice', role: 'ops', scope: '/jit' }] });
      assert.deepEqual(batch.body.results.map((x: any) => x.allowed), [true, true]);
      await check('ops', '/jit'); // the activation answers: not a use of standing access
      await check('wiki', '/wiki'); // role not in awareness
      await s.jobs.tick();

      const item = (await standing('?roleId=ops')).find((i) => i.id === standingOps.id);
      assert.equal(item.lastUsedAt, at(t + MIN));
      assert.equal((await standing('?roleId=wiki')).find((i) => i.id === wiki.id).lastUsedAt, null);
      const ops = await rolloutOf('ops');
      assert.deepEqual([ops.mode, ops.readiness.fallbackUses30d, ops.standingHolders, ops.eligibleHolders], ['awareness', 3, 1, 1]);
      assert.equal((await rolloutOf('wiki')).readiness.fallbackUses30d, 0);

      // More uses add up across flushes; a flush with nothing to write writes nothing.
      await check('ops', '/ops');
      assert.equal(await s.uc.inventory.flushUse(), 1);
      assert.equal(await s.uc.inventory.flushUse(), 0);
      assert.equal((await rolloutOf('ops')).readiness.fallbackUses30d, 4);
    });

    test('readiness after one approved activation: count and approval time', async () => {
      const e = await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'bob', roleId: 'dba', scope: '/db', endsAt: null, justification: 'dba rota' });
      assert.equal(e.status, 201, JSON.stringify(e.body));
      const before = await rolloutOf('dba');
      assert.deepEqual([before.readiness.activations30d, before.readiness.approvalMedianMs, before.eligibleHolders], [0, null, 1]);
      const r = await s.call('POST', '/api/v1/requests', bob, { roleId: 'dba', scope: '/db', duration: 'PT1H', justification: 'Vacuuming the ledger tables CHG-7' });
      assert.equal(r.body.status, 'pending_approval', JSON.stringify(r.body));
      s.clock.advance(12 * MIN);
      const ok = await s.call('POST', `/api/v1/requests/${r.body.id}/approve`, carol, { reason: 'change approved in CAB' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const dba = await rolloutOf('dba');
      assert.deepEqual([dba.readiness.activations30d, dba.readiness.approvalMedianMs, dba.readiness.approvalP90Ms, dba.mode], [1, 12 * MIN, 12 * MIN, 'none']);
      s.clock.advance(31 * DAY);
      assert.equal((await rolloutOf('dba')).readiness.activations30d, 0, 'only the last 30 days count');
    });

    test('bulk convert is all or nothing; afterwards the holders are eligible and hold no standing grant', async () => {
      const a1 = await direct('alice', 'conv', '/a');
      const a2 = await direct('bob', 'conv', '/b');
      const imp = (await standing('?source=import')).find((r) => r.system === 'Legacy AD' && r.privilege === 'db_owner');
      const allowed = async (p: string, scope: string) => (await s.call('GET', `/api/v1/check?principal=${p}&role=conv&scope=${scope}`, A)).body.allowed as boolean;

      const bad = await s.call('POST', '/api/v1/standing/convert', A, { ids: [a1.id, a2.id, 'no-such-id'] });
      assert.equal(bad.status, 404, JSON.stringify(bad.body));
      assert.equal(bad.body.error.details.id, 'no-such-id');
      assert.equal(await allowed('alice', '/a'), true, 'nothing converted');
      assert.equal((await s.call('GET', `/api/v1/assignments/${a1.id}`, A)).body.status, 'active');
      assert.equal((await s.call('GET', '/api/v1/eligibilities?principal=alice&role=conv', A)).body.items.length, 0);
      const unconvertible = (await standing('?source=import')).find((r) => r.principalName === 'BOB@example.com');
      const bad2 = await s.call('POST', '/api/v1/standing/convert', A, { ids: [a1.id, unconvertible?.id ?? 'x'] });
      assert.equal(bad2.status, unconvertible ? 409 : 404, JSON.stringify(bad2.body));
      assert.equal(await allowed('alice', '/a'), true, 'still nothing converted');
      assert.equal((await s.call('POST', '/api/v1/standing/convert', alice, { ids: [a1.id] })).status, 403);

      const ok = await s.call('POST', '/api/v1/standing/convert', A, { ids: [a1.id, a2.id, imp.id], eligibilityDays: 30 });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.converted.map((c: any) => c.id), [a1.id, a2.id, imp.id]);
      assert.equal(await allowed('alice', '/a'), false);
      assert.equal(await allowed('bob', '/b'), false);
      const elig = (await s.call('GET', '/api/v1/eligibilities?principal=alice&role=conv', A)).body.items as any[];
      assert.equal(elig.length, 1);
      assert.equal(elig[0].id, ok.body.converted[0].eligibilityId);
      assert.equal(Date.parse(elig[0].endsAt) - s.clock.now(), 30 * DAY);
      const fromImport = (await s.call('GET', '/api/v1/eligibilities?principal=alice&role=reader', A)).body.items as any[];
      assert.ok(fromImport.some((x) => x.id === ok.body.converted[2].eligibilityId && x.scope === '/legacy'));
      const left = await standing();
      assert.ok(!left.some((i) => [a1.id, a2.id, imp.id].includes(i.id)), 'converted items leave the inventory');
      // alice activates what she held standing.
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'conv', scope: '/a', duration: 'PT30M', justification: 'Investigating INC-9 in the /a service' });
      assert.equal(act.body.status, 'active', JSON.stringify(act.body));
      assert.ok((await audit('standing.converted')).some((x) => x.data.count === 3));
      assert.ok((await audit('standing.import_converted')).some((x) => x.data.importId === imp.id));
      // Converted already: a second conversion is refused.
      const again = await s.call('POST', '/api/v1/standing/convert', A, { ids: [imp.id] });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'already_converted');
    });
  });
}
