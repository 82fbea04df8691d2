import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Renewing an eligibility that ends soon (as in Entra PIM): the holder asks, another admin approves
 * or denies; approval extends the end by the role's longest eligibility (or by the eligibility's own
 * length where the role allows permanent eligibility). On both backends, with the manual clock.
 */
const A = ADMIN_TOKEN;
const DAY = 86_400_000;
const WHY = 'Still on the DBA on-call rota for the next quarter';

for (const backend of BACKENDS) {
  describe(`eligibility renewals on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string;
    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      carol = await user(s, 'carol');
      for (const r of [
        { id: 'dba', riskTier: 'high', settings: { maxActivation: 'PT2H', eligibility: { allowPermanent: false, maxDuration: 'P30D' } } },
        { id: 'reader', riskTier: 'low', settings: { justification: { required: true, minLength: 20 } } },
      ]) {
        const res = await s.call('POST', '/api/v1/roles', A, r);
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      assert.equal((await s.call('POST', '/api/v1/principals', A, { id: 'ops', kind: 'group', name: 'Ops' })).status, 201);
      assert.equal((await s.call('PUT', '/api/v1/groups/ops/members', A, { members: ['alice'] })).status, 200);
      // carol administers Elevate too (so she can try to approve her own renewal).
      const adm = await s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'elevate-admin', scope: '/', endsAt: null, justification: 'second administrator' });
      assert.equal(adm.status, 201, JSON.stringify(adm.body));
    });
    after(async () => s?.cleanup());

    const at = (ms: number) => new Date(ms).toISOString();
    const eligible = async (principalId: string, roleId: string, scope: string, endsAt: number | null) => {
      const r = await s.call('POST', '/api/v1/eligibilities', A, { principalId, roleId, scope, endsAt: endsAt === null ? null : at(endsAt), justification: 'rota' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; endsAt: string | null; startsAt: string };
    };
    const renew = (token: string, id: string, justification = WHY) => s.call('POST', `/api/v1/eligibilities/${id}/renewals`, token, { justification });
    const refused = (r: { status: number; body: any }, status: number, code: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code, JSON.stringify(r.body));
    };
    const auditOf = async (type: string) => (await s.call('GET', `/api/v1/audit?type=${type}&limit=1000`, A)).body.items as any[];

    test('the full path: refused too early, asked within 14 days, approved by an admin; the new end shows and activation works past the old end', async () => {
      const t0 = s.clock.now();
      const e = await eligible('alice', 'dba', '/db', t0 + 20 * DAY);
      const oldEnd = t0 + 20 * DAY;

      // 20 days left: too early.
      const early = await renew(alice, e.id);
      refused(early, 409, 'not_expiring');
      assert.equal(early.body.error.details.renewableFrom, at(oldEnd - 14 * DAY));

      s.clock.advance(7 * DAY); // 13 days left
      refused(await renew(alice, e.id, ''), 400, 'justification_required');
      refused(await renew(alice, e.id, 'asdf'), 400, 'justification_too_weak');
      refused(await renew(alice, e.id, 'need it'), 400, 'justification_too_weak');

      const asked = await renew(alice, e.id);
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      assert.equal(asked.body.status, 'pending');
      assert.deepEqual([asked.body.eligibilityId, asked.body.principalId, asked.body.roleId, asked.body.scope, asked.body.justification], [e.id, 'alice', 'dba', '/db', WHY]);
      refused(await renew(alice, e.id), 409, 'renewal_pending');

      // Audited, and admins are told through the outbox.
      const requested = (await auditOf('eligibility.renewal_requested')).filter((x) => x.data.renewalId === asked.body.id);
      assert.equal(requested.length, 1);
      assert.equal(requested[0].actorId, 'alice');
      assert.equal(requested[0].data.justification, WHY);
      const outbox = (await s.call('GET', '/api/v1/outbox?kind=notify&limit=1000', A)).body.items as any[];
      const note = outbox.find((i) => i.payload.renewalId === asked.body.id && i.payload.event === 'eligibility.renewal_requested');
      assert.ok(note, JSON.stringify(outbox));
      assert.equal(note.payload.audience, 'admins');
      assert.equal(note.payload.endsAt, at(oldEnd));

      // alice sees her own; only admins see everyone's.
      const mine = await s.call('GET', '/api/v1/eligibilities/renewals?mine=true', alice);
      assert.equal(mine.status, 200);
      assert.deepEqual(mine.body.items.map((x: any) => x.id), [asked.body.id]);
      refused(await s.call('GET', '/api/v1/eligibilities/renewals?status=pending', alice), 403, 'not_admin');
      const pending = await s.call('GET', '/api/v1/eligibilities/renewals?status=pending', A);
      assert.equal(pending.status, 200);
      assert.ok(pending.body.items.some((x: any) => x.id === asked.body.id));

      // Only an admin decides, with a reason.
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, alice, { reason: 'fine' }), 403, 'not_admin');
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, A, { reason: '  ' }), 400, 'reason_required');
      refused(await s.call('POST', '/api/v1/eligibilities/renewals/nope/approve', A, { reason: 'fine' }), 404, 'not_found');

      const ok = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, A, { reason: 'rota confirmed with the team lead' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.renewal.status, 'approved');
      assert.equal(ok.body.renewal.decidedBy, 'admin');
      assert.equal(ok.body.renewal.reason, 'rota confirmed with the team lead');
      const newEnd = oldEnd + 30 * DAY; // the role's longest eligibility, added to the old end
      assert.equal(ok.body.eligibility.endsAt, at(newEnd));
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, A, { reason: 'again' }), 409, 'renewal_not_pending');
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/deny`, A, { reason: 'again' }), 409, 'renewal_not_pending');

      const approved = (await auditOf('eligibility.renewal_approved')).find((x) => x.data.renewalId === asked.body.id);
      assert.ok(approved);
      assert.deepEqual([approved.actorId, approved.principalId, approved.roleId, approved.data.previousEndsAt, approved.data.endsAt], ['admin', 'alice', 'dba', oldEnd, newEnd]);

      // alice's own list shows the new end.
      const list = (await s.call('GET', '/api/v1/eligibilities?mine=true', alice)).body.items as any[];
      assert.equal(list.find((x) => x.id === e.id).endsAt, at(newEnd));
      assert.equal((await s.call('GET', '/api/v1/eligibilities/renewals?mine=true', alice)).body.items[0].status, 'approved');

      // Past the old end, activation works (the index and the database both hold the new end).
      s.clock.set(oldEnd + DAY);
      const act = await s.call('POST', '/api/v1/requests', alice, { roleId: 'dba', scope: '/db', duration: 'PT1H', justification: 'Rotating the replica certificates CHG-1' });
      assert.equal(act.status, 201, JSON.stringify(act.body));
      assert.equal(act.body.status, 'active');
      assert.equal((await s.call('GET', '/api/v1/check?principal=alice&role=dba&scope=/db', A)).body.allowed, true);
      // And the renewed eligibility is not renewable again before its last 14 days.
      refused(await renew(alice, e.id), 409, 'not_expiring');
    });

    test("refusals: someone else's eligibility, one held through a group, one with no end, an ended one, an unknown one", async () => {
      const now = s.clock.now();
      const e = await eligible('alice', 'reader', '/docs', now + 5 * DAY);
      const other = await renew(bob, e.id);
      refused(other, 403, 'not_yours');
      assert.deepEqual(other.body.error.details.reasons, ['not_yours']);

      const group = await eligible('ops', 'reader', '/ops', now + 5 * DAY);
      const viaGroup = await renew(alice, group.id);
      refused(viaGroup, 403, 'not_yours');
      assert.match(viaGroup.body.error.message, /through group ops/);
      const denials = (await auditOf('authz.denied')).filter((x) => x.reasons.includes('not_yours'));
      assert.ok(denials.some((x) => x.actorId === 'alice' && x.principalId === 'ops'), 'the refusal is audited');

      const permanent = await eligible('alice', 'reader', '/wiki', null);
      const none = await renew(alice, permanent.id);
      refused(none, 409, 'not_expiring');
      assert.match(none.body.error.message, /no end date/);

      const ending = await eligible('bob', 'reader', '/tmp', now + DAY);
      s.clock.advance(2 * DAY);
      const ended = await renew(bob, ending.id, 'Still cleaning up the temporary buckets');
      refused(ended, 409, 'not_expiring');
      assert.equal(ended.body.error.details.ended, true);

      refused(await renew(alice, 'no-such-eligibility'), 404, 'not_found');
      const removed = await eligible('alice', 'dba', '/removed', s.clock.now() + 3 * DAY);
      assert.equal((await s.call('DELETE', `/api/v1/eligibilities/${removed.id}`, A)).status, 204);
      refused(await renew(alice, removed.id), 404, 'not_found');
      // The role's own justification rules apply (reader wants 20 characters).
      const short = await eligible('bob', 'reader', '/short', s.clock.now() + 3 * DAY);
      refused(await renew(bob, short.id, 'need the docs'), 400, 'justification_too_weak');
    });

    test('the requester cannot approve their own renewal, even as an admin; another admin can', async () => {
      const now = s.clock.now();
      const e = await eligible('carol', 'dba', '/payments', now + 3 * DAY);
      const asked = await renew(carol, e.id, 'Payments database migration runs into next month');
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const self = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, carol, { reason: 'looks right to me' });
      refused(self, 403, 'self_approval');
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/deny`, carol, { reason: 'never mind' }), 403, 'self_approval');
      assert.ok((await auditOf('authz.denied')).some((x) => x.actorId === 'carol' && x.reasons.includes('self_approval')), 'the refusal is audited');
      assert.equal((await s.call('GET', `/api/v1/eligibilities?principal=carol&role=dba`, A)).body.items[0].endsAt, at(now + 3 * DAY), 'nothing changed');

      const ok = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, A, { reason: 'migration plan approved' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.eligibility.endsAt, at(now + 33 * DAY));
    });

    test('a denial keeps the end and says why; the holder may ask again; the requester may withdraw', async () => {
      const now = s.clock.now();
      const e = await eligible('bob', 'dba', '/analytics', now + 10 * DAY);
      const asked = await renew(bob, e.id, 'Quarterly analytics schema changes are not done');
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const denied = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/deny`, carol, { reason: 'the schema work moved to the data team' });
      assert.equal(denied.status, 200, JSON.stringify(denied.body));
      assert.equal(denied.body.renewal.status, 'denied');
      assert.equal(denied.body.renewal.decidedBy, 'carol');
      assert.equal(denied.body.eligibility.endsAt, at(now + 10 * DAY));
      const audited = (await auditOf('eligibility.renewal_denied')).find((x) => x.data.renewalId === asked.body.id);
      assert.equal(audited?.data.reason, 'the schema work moved to the data team');
      assert.equal(audited?.outcome, 'denied');

      const again = await renew(bob, e.id, 'The data team asked me to stay on for the handover');
      assert.equal(again.status, 201, JSON.stringify(again.body));
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${again.body.id}/cancel`, alice), 403, 'not_requester');
      const withdrawn = await s.call('POST', `/api/v1/eligibilities/renewals/${again.body.id}/cancel`, bob);
      assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
      assert.equal(withdrawn.body.status, 'cancelled');
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${again.body.id}/approve`, A, { reason: 'ok' }), 409, 'renewal_not_pending');
      assert.equal((await s.call('GET', `/api/v1/eligibilities?principal=bob&role=dba`, A)).body.items[0].endsAt, at(now + 10 * DAY));

      // Two requests at once: one is taken, the other is told a renewal is already waiting.
      const race = await Promise.all([renew(bob, e.id, 'Handover to the data team, first attempt'), renew(bob, e.id, 'Handover to the data team, second attempt')]);
      assert.deepEqual(race.map((r) => r.status).sort(), [201, 409], JSON.stringify(race.map((r) => r.body)));
      assert.equal(race.find((r) => r.status === 409)!.body.error.code, 'renewal_pending');
      const pending = (await s.call('GET', '/api/v1/eligibilities/renewals?status=pending&limit=1000', A)).body.items as any[];
      assert.equal(pending.filter((x) => x.eligibilityId === e.id).length, 1);
    });

    test('storage: the database itself holds one pending renewal per eligibility', async () => {
      const base = { eligibilityId: 'elig-x', principalId: 'alice', roleId: 'dba', scope: '/x', justification: 'x', createdAt: s.clock.now(), decidedBy: null, decidedAt: null, reason: null };
      await s.store.transaction((tx) => s.store.renewals.insert(tx, { ...base, id: 'r-1', status: 'pending' }));
      await assert.rejects(
        s.store.transaction((tx) => s.store.renewals.insert(tx, { ...base, id: 'r-2', status: 'pending' })),
        (e: any) => e.code === 'renewal_pending',
      );
      await s.store.transaction((tx) => s.store.renewals.insert(tx, { ...base, id: 'r-3', status: 'denied' }));
      await s.store.transaction(async (tx) => s.store.renewals.update(tx, { ...(await s.store.renewals.get(tx, 'r-1'))!, status: 'approved' }));
      await s.store.transaction((tx) => s.store.renewals.insert(tx, { ...base, id: 'r-4', status: 'pending' }));
      const rows = await s.store.transaction((tx) => s.store.renewals.list(tx, { eligibilityId: 'elig-x', limit: 10 }));
      assert.deepEqual(rows.map((r) => [r.id, r.status]), [['r-1', 'approved'], ['r-3', 'denied'], ['r-4', 'pending']]);
    });

    test("a role that allows permanent eligibility extends by the eligibility's own length; removing the eligibility closes its renewal", async () => {
      const now = s.clock.now();
      const e = await eligible('bob', 'reader', '/reports', now + 10 * DAY); // 10 days long
      const asked = await renew(bob, e.id, 'Month-end reports are still mine to run');
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const ok = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/approve`, A, { reason: 'month-end owner' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.eligibility.endsAt, at(now + 20 * DAY));

      const gone = await eligible('alice', 'dba', '/legacy', now + 2 * DAY);
      const pending = await renew(alice, gone.id, 'The legacy cluster is not decommissioned yet');
      assert.equal(pending.status, 201, JSON.stringify(pending.body));
      assert.equal((await s.call('DELETE', `/api/v1/eligibilities/${gone.id}`, A)).status, 204);
      const mine = (await s.call('GET', '/api/v1/eligibilities/renewals?mine=true', alice)).body.items as any[];
      assert.equal(mine.find((x) => x.id === pending.body.id).status, 'cancelled');
      refused(await s.call('POST', `/api/v1/eligibilities/renewals/${pending.body.id}/approve`, A, { reason: 'ok' }), 409, 'renewal_not_pending');
    });
  });
}
