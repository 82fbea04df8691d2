import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ADMIN_TOKEN, BACKENDS, sessionFor, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Access reviews over HTTP on both backends with the manual clock: campaigns over eligibilities and
 * assignments, reviewers resolved at start (nobody reviews their own access), decisions, the default
 * for undecided items, auto-apply at the end reaching the decision point, recurrence, reminders, export.
 */
const A = ADMIN_TOKEN;
const DAY = 86_400_000;
const WHY = 'Rotating the replica certificates CHG-1';

for (const backend of BACKENDS) {
  describe(`access reviews on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    const tok: Record<string, string> = {};
    before(async () => {
      s = await startServer(backend.name);
      tok.bob = await user(s, 'bob');
      tok.alice = await user(s, 'alice', { managerId: 'bob' });
      tok.carol = await user(s, 'carol');
      tok.dave = await user(s, 'dave');
      tok.erin = await user(s, 'erin', { managerId: 'bob', name: '=HYPERLINK("http://x","click")' });
      assert.equal((await s.call('POST', '/api/v1/principals', A, { id: 'ops', kind: 'group', name: 'Ops' })).status, 201);
      assert.equal((await s.call('PUT', '/api/v1/groups/ops/members', A, { members: ['carol'] })).status, 200);
    });
    after(async () => s?.cleanup());

    const ok = (r: { status: number; body: any }, status = 200) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      return r.body;
    };
    const refused = (r: { status: number; body: any }, status: number, code: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code, JSON.stringify(r.body));
    };
    const role = async (id: string, settings: Record<string, unknown> = {}) => ok(await s.call('POST', '/api/v1/roles', A, { id, riskTier: 'medium', settings }), 201);
    const eligible = async (principalId: string, roleId: string, scope: string) =>
      ok(await s.call('POST', '/api/v1/eligibilities', A, { principalId, roleId, scope, endsAt: null, justification: 'on the rota' }), 201) as { id: string };
    const campaign = async (body: Record<string, unknown>) => ok(await s.call('POST', '/api/v1/reviews', A, { durationDays: 7, defaultDecision: 'keep', ...body }), 201);
    const items = async (id: string, token = A, q = '') => ok(await s.call('GET', `/api/v1/reviews/${id}/items${q}`, token)).items as any[];
    const decide = (token: string, id: string, itemId: string, decision: 'approve' | 'deny', reason = 'checked with the team') =>
      s.call('POST', `/api/v1/reviews/${id}/items/${itemId}/decision`, token, { decision, reason });
    const activate = (token: string, roleId: string, scope: string) => s.call('POST', '/api/v1/requests', token, { roleId, scope, duration: 'PT1H', justification: WHY });
    const check = async (principal: string, roleId: string, scope: string) => ok(await s.call('GET', `/api/v1/check?principal=${principal}&role=${roleId}&scope=${encodeURIComponent(scope)}`, A)).allowed as boolean;
    const auditOf = async (type: string) => ok(await s.call('GET', `/api/v1/audit?type=${type}&limit=1000`, A)).items as any[];

    test('manager review: the manager sees only their items, denies; at the end the eligibility is gone and activation is refused', async () => {
      await role('dba');
      const eAlice = await eligible('alice', 'dba', '/db');
      await eligible('dave', 'dba', '/db'); // dave has no manager: the fallback reviews
      const c = await campaign({ name: 'DBA access', filter: { roles: ['dba'] }, reviewers: { kind: 'manager', fallback: ['carol'] } });
      assert.equal(c.status, 'active');
      assert.deepEqual(c.counts, { total: 2, decided: 0, approved: 0, denied: 0, pending: 2 });
      assert.equal(c.endsAt, new Date(Date.parse(c.startsAt) + 7 * DAY).toISOString());

      const all = await items(c.id);
      assert.deepEqual(all.map((i) => [i.principalId, i.reviewers]), [['alice', ['bob']], ['dave', ['carol']]]);
      assert.deepEqual(all[0].subject, { kind: 'eligibility', id: eAlice.id });
      assert.equal(all[0].recommendation.decision, 'approve', JSON.stringify(all[0].recommendation));

      // Reviewers see their own queue; someone reviewing nothing is refused (and the refusal audited).
      const bobs = await items(c.id, tok.bob!, '?mine=true');
      assert.deepEqual(bobs.map((i) => i.principalId), ['alice']);
      assert.deepEqual((await items(c.id, tok.carol!)).map((i) => i.principalId), ['dave']);
      refused(await s.call('GET', `/api/v1/reviews/${c.id}/items?mine=true`, tok.erin!), 403, 'not_reviewer');
      refused(await s.call('GET', `/api/v1/reviews/${c.id}`, tok.erin!), 403, 'not_reviewer');
      assert.ok((await auditOf('authz.denied')).some((e) => e.actorId === 'erin' && e.reasons.includes('not_reviewer')));
      assert.deepEqual(ok(await s.call('GET', '/api/v1/reviews', tok.bob!)).items.map((x: any) => x.id), [c.id]);
      assert.deepEqual(ok(await s.call('GET', '/api/v1/reviews', tok.erin!)).items, []);
      // bob may not decide dave's item.
      refused(await decide(tok.bob!, c.id, all[1].id, 'approve'), 403, 'not_reviewer');

      refused(await decide(tok.bob!, c.id, bobs[0].id, 'deny', '  '), 400, 'reason_required');
      const denied = ok(await decide(tok.bob!, c.id, bobs[0].id, 'deny', 'moved to the frontend team'));
      assert.equal(denied.decision.decision, 'deny');
      assert.equal(denied.decision.by, 'bob');
      assert.equal(denied.decision.reason, 'moved to the frontend team');
      assert.equal(denied.outcome, null);
      const decidedEvent = (await auditOf('review.decided')).find((e) => e.data.itemId === bobs[0].id);
      assert.equal(decidedEvent.actorId, 'bob');
      assert.equal(decidedEvent.data.decision, 'deny');

      // Until the end, access is untouched.
      ok(await activate(tok.alice!, 'dba', '/db'), 201);
      assert.equal(await check('alice', 'dba', '/db'), true);

      // The job ends the campaign once its end has passed.
      s.clock.advance(7 * DAY + 1000);
      assert.ok((await s.uc.reviews.tick()) >= 1);
      const done = ok(await s.call('GET', `/api/v1/reviews/${c.id}`, A));
      assert.equal(done.status, 'completed');
      assert.deepEqual(done.counts, { total: 2, decided: 1, approved: 0, denied: 1, pending: 1 });
      const end = await items(c.id);
      assert.deepEqual(end.map((i) => [i.principalId, i.finalDecision, i.byDefault, i.outcome, i.outcomeReason]), [
        ['alice', 'deny', false, 'removed', 'decided'],
        ['dave', 'approve', true, 'kept', 'default_keep'],
      ]);
      refused(await decide(tok.bob!, c.id, bobs[0].id, 'approve'), 409, 'review_closed');

      const eligs = ok(await s.call('GET', '/api/v1/eligibilities?principal=alice&role=dba', A)).items as any[];
      assert.equal(eligs.length, 0);
      const again = await activate(tok.alice!, 'dba', '/db');
      assert.equal(again.status, 403, JSON.stringify(again.body));
      assert.equal(await check('dave', 'dba', '/db'), false); // (dave never activated)
      ok(await activate(tok.dave!, 'dba', '/db'), 201);
      const removed = (await auditOf('eligibility.removed')).find((e) => e.data.eligibilityId === eAlice.id);
      assert.ok(removed, 'eligibility.removed audited');
      assert.deepEqual(removed.reasons, ['review_denied']);
      assert.equal(removed.actorId, 'system');
      assert.ok((await auditOf('review.access_removed')).some((e) => e.data.reviewId === c.id && e.principalId === 'alice'));
      assert.ok((await auditOf('review.completed')).some((e) => e.data.reviewId === c.id && e.data.removed === 1));
    });

    test('nobody reviews their own access: the holder is not a reviewer, and a decision by them is refused 403 self_review', async () => {
      await role('sre');
      await eligible('alice', 'sre', '/prod');
      await eligible('ops', 'sre', '/prod');
      const c = await campaign({ name: 'SRE', filter: { roles: ['sre'] }, reviewers: { kind: 'principals', principals: ['alice', 'bob'], groups: ['ops'] } });
      const all = await items(c.id);
      const byPrincipal = Object.fromEntries(all.map((i) => [i.principalId, i]));
      assert.deepEqual(byPrincipal.alice.reviewers, ['bob', 'carol']);
      // The group's item: carol is a member of ops, so she holds it and does not review it.
      assert.deepEqual(byPrincipal.ops.reviewers, ['alice', 'bob']);
      refused(await decide(tok.alice!, c.id, byPrincipal.alice.id, 'approve'), 403, 'self_review');
      refused(await decide(tok.carol!, c.id, byPrincipal.ops.id, 'approve'), 403, 'self_review');
      const denials = (await auditOf('authz.denied')).filter((e) => e.reasons.includes('self_review'));
      assert.deepEqual(denials.map((e) => e.actorId).sort(), ['alice', 'carol']);
      assert.equal((await items(c.id)).filter((i) => i.decision !== null).length, 0);
      ok(await decide(tok.carol!, c.id, byPrincipal.alice.id, 'approve'));
      ok(await decide(tok.alice!, c.id, byPrincipal.ops.id, 'approve'));

      // A self-review is the one exception.
      const selfie = await campaign({ name: 'Self attestation', filter: { roles: ['sre'], principalKinds: ['user'] }, reviewers: { kind: 'self' } });
      const [mine] = await items(selfie.id, tok.alice!);
      assert.deepEqual(mine.reviewers, ['alice']);
      assert.equal(ok(await decide(tok.alice!, selfie.id, mine.id, 'approve', 'still on call')).decision.decision, 'approve');
      for (const x of [c, selfie]) ok(await s.call('POST', `/api/v1/reviews/${x.id}/cancel`, A));
    });

    test("role owners review: a group of owners is expanded to its members; an owner never reviews their own access", async () => {
      refused(await s.call('POST', '/api/v1/roles', A, { id: 'bad-owners', riskTier: 'low', settings: { owners: ['not an id!'] } }), 400, 'invalid_settings');
      const r = await role('payments', { owners: ['ops', 'Bob'] });
      assert.deepEqual(r.settings.owners, ['ops', 'bob']);
      await eligible('alice', 'payments', '/pay');
      await eligible('bob', 'payments', '/pay');
      const c = await campaign({ name: 'Payments owners', filter: { roles: ['payments'] }, reviewers: { kind: 'role_owners', fallback: ['dave'] } });
      const all = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i.reviewers]));
      assert.deepEqual(all, { alice: ['bob', 'carol'], bob: ['carol'] });
      ok(await s.call('POST', `/api/v1/reviews/${c.id}/cancel`, A));
      refused(await s.call('POST', `/api/v1/reviews/${c.id}/cancel`, A), 409, 'review_closed');
    });

    test('standing only: only direct assignments that never end; denied at the end they are revoked at the decision point', async () => {
      await role('legacy', { activeAssignment: { allowPermanent: true } });
      await eligible('alice', 'legacy', '/');
      const standing = ok(await s.call('POST', '/api/v1/assignments', A, { principalId: 'dave', roleId: 'legacy', scope: '/prod', endsAt: null, justification: 'from the old system' }), 201);
      ok(await s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'legacy', scope: '/prod', endsAt: new Date(s.clock.now() + 20 * DAY).toISOString(), justification: 'migration' }), 201);

      const everything = await campaign({ name: 'Legacy, all', filter: { roles: ['legacy'] }, reviewers: { kind: 'principals', principals: ['bob'] } });
      const order = await items(everything.id);
      assert.equal(order.length, 3);
      assert.deepEqual([order[0].principalId, order[0].standing], ['dave', true], 'standing access comes first');
      ok(await s.call('POST', `/api/v1/reviews/${everything.id}/cancel`, A));

      const c = await campaign({ name: 'Standing legacy', filter: { roles: ['legacy'], standingOnly: true }, reviewers: { kind: 'principals', principals: ['bob'] }, defaultDecision: 'keep' });
      const [only, ...rest] = await items(c.id);
      assert.equal(rest.length, 0);
      assert.deepEqual([only.subject, only.standing, only.principalId], [{ kind: 'assignment', id: standing.id }, true, 'dave']);
      assert.equal(only.recommendation.decision, 'deny');
      assert.deepEqual(only.recommendation.reasons, ['standing_access']);
      assert.match(only.recommendation.message, /eligible/);

      assert.equal(await check('dave', 'legacy', '/prod'), true);
      ok(await decide(tok.bob!, c.id, only.id, 'deny', 'convert to just-in-time'));
      const done = ok(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A));
      assert.equal(done.status, 'completed');
      assert.equal(await check('dave', 'legacy', '/prod'), false);
      assert.equal(await check('carol', 'legacy', '/prod'), true);
      const a = ok(await s.call('GET', `/api/v1/assignments/${standing.id}`, A));
      assert.equal(a.status, 'revoked');
      assert.ok((await auditOf('assignment.revoked')).some((e) => e.data.assignmentId === standing.id && e.reasons.includes('review_denied') && e.actorId === 'admin'));
      refused(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A), 409, 'review_closed');
    });

    test("default 'recommendation': an undecided unused eligibility is removed, a used one kept; an active grant from it ends", async () => {
      await role('auditor');
      await eligible('alice', 'auditor', '/fin');
      await eligible('dave', 'auditor', '/fin');
      s.clock.advance(40 * DAY);
      ok(await activate(tok.dave!, 'auditor', '/fin/ledger'), 201); // dave uses his (at a scope below the eligibility)
      const c = await campaign({ name: 'Auditors', filter: { roles: ['auditor'] }, reviewers: { kind: 'manager' }, defaultDecision: 'recommendation', recommend: { unusedDays: 30, inactiveDays: 3650 } });
      const all = await items(c.id);
      const alice = all.find((i) => i.principalId === 'alice');
      const dave = all.find((i) => i.principalId === 'dave');
      assert.deepEqual([alice.recommendation.decision, alice.recommendation.reasons], ['deny', ['unused_eligibility']]);
      assert.match(alice.recommendation.message, /never activated/);
      assert.equal(alice.lastActivationAt, null);
      assert.deepEqual([dave.recommendation.decision, dave.recommendation.reasons], ['approve', ['recently_used']]);
      assert.equal(dave.lastActivationAt, new Date(s.clock.now()).toISOString());
      assert.deepEqual(dave.reviewers, ['admin'], 'dave has no manager and there is no fallback: the creator reviews');
      // alice activates after the snapshot; the removal at the end ends that grant too.
      ok(await activate(tok.alice!, 'auditor', '/fin'), 201);
      assert.equal(await check('alice', 'auditor', '/fin'), true);

      ok(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A));
      const end = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i]));
      assert.deepEqual([end.alice.outcome, end.alice.byDefault, end.alice.outcomeReason], ['removed', true, 'default_recommendation']);
      assert.deepEqual([end.dave.outcome, end.dave.byDefault], ['kept', true]);
      assert.equal(await check('alice', 'auditor', '/fin'), false);
      assert.equal(await check('dave', 'auditor', '/fin/ledger'), true);
    });

    test('bulk decisions are all-or-nothing', async () => {
      await role('bulk');
      for (const p of ['alice', 'dave', 'bob', 'erin']) await eligible(p, 'bulk', '/b');
      const c = await campaign({ name: 'Bulk', filter: { roles: ['bulk'] }, reviewers: { kind: 'principals', principals: ['bob'], fallback: ['carol'] } });
      const all = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i]));
      assert.deepEqual(all.bob.reviewers, ['carol']);
      const bulk = (token: string, ids: string[], decision: 'approve' | 'deny', reason?: string) => s.call('POST', `/api/v1/reviews/${c.id}/decisions`, token, { items: ids, decision, ...(reason !== undefined ? { reason } : {}) });

      refused(await bulk(tok.bob!, [all.alice.id, all.dave.id, all.bob.id], 'deny', 'not needed'), 403, 'self_review');
      refused(await bulk(tok.bob!, [all.alice.id, 'nope'], 'deny', 'not needed'), 404, 'not_found');
      refused(await bulk(tok.bob!, [all.alice.id, all.dave.id], 'deny'), 400, 'reason_required');
      refused(await bulk(tok.carol!, [all.bob.id, all.alice.id], 'approve'), 403, 'not_reviewer');
      assert.equal((await items(c.id)).filter((i) => i.decision !== null).length, 0, 'nothing was decided');

      const out = ok(await bulk(tok.bob!, [all.alice.id, all.dave.id, all.erin.id], 'deny', 'team disbanded')).items as any[];
      assert.deepEqual(out.map((i) => [i.principalId, i.decision.decision, i.decision.reason]), [
        ['alice', 'deny', 'team disbanded'],
        ['dave', 'deny', 'team disbanded'],
        ['erin', 'deny', 'team disbanded'],
      ]);
      const view = ok(await s.call('GET', `/api/v1/reviews/${c.id}`, A));
      assert.deepEqual(view.counts, { total: 4, decided: 3, approved: 0, denied: 3, pending: 1 });
      assert.deepEqual((await items(c.id, A, '?status=pending')).map((i) => i.principalId), ['bob']);
      ok(await s.call('POST', `/api/v1/reviews/${c.id}/cancel`, A));
      // Cancelled: nothing applied.
      assert.equal(ok(await s.call('GET', '/api/v1/eligibilities?principal=alice&role=bulk', A)).items.length, 1);
    });

    test('export: CSV and JSON with decisions and outcomes, for admins only', async () => {
      await role('exp');
      await eligible('erin', 'exp', '/x');
      await eligible('dave', 'exp', '/x');
      const c = await campaign({ name: 'Export me', filter: { roles: ['exp'] }, reviewers: { kind: 'manager', fallback: ['carol'] }, defaultDecision: 'remove' });
      const [erin] = await items(c.id, tok.bob!);
      ok(await decide(tok.bob!, c.id, erin.id, 'approve', 'needs it for close'));
      ok(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A));

      refused(await s.call('GET', `/api/v1/reviews/${c.id}/export?format=csv`, tok.bob!), 403, 'not_admin');
      const res = await s.app.inject({ method: 'GET', url: `/api/v1/reviews/${c.id}/export?format=csv`, headers: { authorization: `Bearer ${A}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /attachment; filename="review-.*\.csv"/);
      const rows = parse(res.body, { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 2);
      const byP = Object.fromEntries(rows.map((r) => [r.principal_id, r]));
      assert.deepEqual([byP.erin!.decision, byP.erin!.decision_reason, byP.erin!.decided_by, byP.erin!.outcome, byP.erin!.final_decision], ['approve', 'needs it for close', 'bob', 'kept', 'approve']);
      assert.deepEqual([byP.dave!.decision, byP.dave!.outcome, byP.dave!.outcome_reason, byP.dave!.by_default], ['', 'removed', 'default_remove', 'true']);
      assert.equal(byP.erin!.campaign_name, 'Export me');
      assert.equal(byP.erin!.principal_name, `'=HYPERLINK("http://x","click")`, 'a formula in a name is neutralized');

      const json = await s.app.inject({ method: 'GET', url: `/api/v1/reviews/${c.id}/export?format=json`, headers: { authorization: `Bearer ${A}` } });
      assert.equal(json.statusCode, 200, json.body);
      assert.match(String(json.headers['content-type']), /^application\/json/);
      const doc = JSON.parse(json.body);
      assert.equal(doc.campaign.id, c.id);
      assert.equal(doc.campaign.status, 'completed');
      assert.deepEqual(doc.items.map((i: any) => [i.principalId, i.outcome]).sort(), [['dave', 'removed'], ['erin', 'kept']]);
      assert.ok((await auditOf('review.exported')).filter((e) => e.data.reviewId === c.id).length >= 2);
    });

    test('recurrence: completing a monthly campaign schedules the next one a month after the start; the job starts it then', async () => {
      await role('rec');
      await eligible('alice', 'rec', '/r');
      const c = await campaign({ name: 'Monthly rec', filter: { roles: ['rec'] }, reviewers: { kind: 'manager' }, recurrence: 'monthly', durationDays: 5, reminderDays: 2 });
      const start = Date.parse(c.startsAt);

      // The reminder: once, to reviewers with pending items, reminderDays before the end.
      const reminders = async () => (ok(await s.call('GET', '/api/v1/outbox?kind=notify&limit=1000', A)).items as any[]).filter((i) => i.payload.event === 'review.reminder' && i.payload.reviewId === c.id);
      s.clock.advance(2 * DAY);
      await s.uc.reviews.tick();
      assert.equal((await reminders()).length, 0, 'too early');
      s.clock.advance(1 * DAY + 1);
      await s.uc.reviews.tick();
      await s.uc.reviews.tick();
      const sent = await reminders();
      assert.deepEqual(sent.map((i) => [i.payload.audience, i.payload.pending]), [['bob', 1]]);

      s.clock.advance(2 * DAY);
      await s.uc.reviews.tick();
      const done = ok(await s.call('GET', `/api/v1/reviews/${c.id}`, A));
      assert.equal(done.status, 'completed');
      assert.ok(done.nextId);
      const next = ok(await s.call('GET', `/api/v1/reviews/${done.nextId}`, A));
      assert.equal(next.status, 'scheduled');
      assert.equal(next.name, 'Monthly rec');
      assert.equal(next.previousId, c.id);
      assert.equal(next.recurrence, 'monthly');
      const expected = new Date(start);
      expected.setUTCMonth(expected.getUTCMonth() + 1);
      assert.equal(next.startsAt, expected.toISOString());
      assert.equal(next.counts.total, 0);
      refused(await s.call('POST', `/api/v1/reviews/${next.id}/complete`, A), 409, 'review_not_started');

      s.clock.set(Date.parse(next.startsAt));
      await s.uc.reviews.tick();
      const started = ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A));
      assert.equal(started.status, 'active');
      assert.equal(started.counts.total, 1);
      ok(await s.call('POST', `/api/v1/reviews/${next.id}/cancel`, A));
      assert.equal(ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A)).nextId, null, 'a cancelled campaign ends the series');
    });

    test('auto-apply never removes the last standing administrator (kept, lockout_protected)', async () => {
      const c = await campaign({ name: 'Admins', filter: { roles: ['elevate-admin'], standingOnly: true }, reviewers: { kind: 'principals', principals: ['bob'] }, defaultDecision: 'remove' });
      const [adm] = await items(c.id);
      assert.equal(adm.principalId, 'admin');
      ok(await decide(tok.bob!, c.id, adm.id, 'deny', 'nobody should hold standing admin'));
      ok(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A));
      const [end] = await items(c.id);
      assert.deepEqual([end.finalDecision, end.outcome, end.outcomeReason], ['deny', 'kept', 'lockout_protected']);
      assert.equal(await check('admin', 'elevate-admin', '/'), true);
      assert.ok((await auditOf('review.removal_skipped')).some((e) => e.data.reviewId === c.id && e.reasons.includes('lockout_protected')));
    });

    test("an alias sharing the holder's email is the same person: never a reviewer of that access, and a decision by them is refused 403 self_review", async () => {
      tok.gina = await user(s, 'gina', { email: 'gina@corp.example' });
      await user(s, 'gina-admin', { email: ' Gina@Corp.Example ' }); // her admin account: the same person
      tok.hal = await user(s, 'hal');
      await user(s, 'ivan');
      ok(await s.call('POST', '/api/v1/principals', A, { id: 'dbas', kind: 'group', name: 'DBAs' }), 201);
      ok(await s.call('PUT', '/api/v1/groups/dbas/members', A, { members: ['gina-admin'] }));
      await role('alias');
      for (const p of ['gina-admin', 'dbas', 'ivan']) await eligible(p, 'alias', '/a');
      const c = await campaign({ name: 'Aliases', filter: { roles: ['alias'] }, reviewers: { kind: 'principals', principals: ['gina', 'hal'] } });
      const by = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i]));
      assert.deepEqual(by['gina-admin'].reviewers, ['hal']);
      assert.deepEqual(by.dbas.reviewers, ['hal'], 'a member of the holding group is gina under another id');
      assert.deepEqual(by.ivan.reviewers, ['gina', 'hal']);

      // ivan takes gina's email after the snapshot: she is still listed, but deciding is refused; so are her own items.
      ok(await s.call('PATCH', '/api/v1/principals/ivan', A, { email: 'GINA@corp.example' }));
      refused(await decide(tok.gina!, c.id, by.ivan.id, 'approve'), 403, 'self_review');
      refused(await decide(tok.gina!, c.id, by['gina-admin'].id, 'approve'), 403, 'self_review');
      refused(await decide(tok.gina!, c.id, by.dbas.id, 'approve'), 403, 'self_review');
      refused(await s.call('POST', `/api/v1/reviews/${c.id}/decisions`, tok.gina!, { items: [by.ivan.id], decision: 'deny', reason: 'not needed' }), 403, 'self_review');
      const denials = (await auditOf('authz.denied')).filter((e) => e.actorId === 'gina' && e.reasons.includes('self_review'));
      assert.equal(denials.length, 4);
      assert.deepEqual(denials.map((e) => e.principalId).sort(), ['dbas', 'gina-admin', 'ivan', 'ivan']);
      assert.equal((await items(c.id)).filter((i) => i.decision !== null).length, 0, 'nothing was decided');
      ok(await decide(tok.hal!, c.id, by.ivan.id, 'approve'));

      // A self-review is still the holder's own, not their alias's.
      const selfie = await campaign({ name: 'Alias self', filter: { roles: ['alias'], principalKinds: ['user'] }, reviewers: { kind: 'self' } });
      const mine = Object.fromEntries((await items(selfie.id)).map((i) => [i.principalId, i.reviewers]));
      assert.deepEqual(mine['gina-admin'], ['gina-admin']);
      for (const x of [c, selfie]) ok(await s.call('POST', `/api/v1/reviews/${x.id}/cancel`, A));
    });

    test('recurrence after the jobs stopped longer than a period: missed occurrences are skipped (never run with no review window) and a late start still gets the full duration', async () => {
      await role('catchup');
      await eligible('alice', 'catchup', '/c');
      const c = await campaign({ name: 'Weekly catch-up', filter: { roles: ['catchup'] }, reviewers: { kind: 'manager' }, recurrence: 'weekly', durationDays: 3, defaultDecision: 'remove', reminderDays: null });
      const start = Date.parse(c.startsAt);
      const [item] = await items(c.id);
      ok(await decide(tok.bob!, c.id, item.id, 'approve', 'still on the rota'));

      s.clock.advance(20 * DAY); // the jobs were stopped for almost three weeks
      for (let i = 0; i < 4; i++) await s.uc.reviews.tick();
      const done = ok(await s.call('GET', `/api/v1/reviews/${c.id}`, A));
      assert.equal(done.status, 'completed');
      const next = ok(await s.call('GET', `/api/v1/reviews/${done.nextId}`, A));
      assert.equal(next.status, 'scheduled');
      assert.equal(next.startsAt, new Date(start + 21 * DAY).toISOString(), 'the occurrences of days 7 and 14 are over: skipped');
      assert.equal(Date.parse(next.endsAt) - Date.parse(next.startsAt), 3 * DAY);
      const series = (ok(await s.call('GET', '/api/v1/reviews', A)).items as any[]).filter((x) => x.name === 'Weekly catch-up');
      assert.deepEqual(series.map((x) => x.id).sort(), [c.id, next.id].sort());
      assert.equal(ok(await s.call('GET', '/api/v1/eligibilities?principal=alice&role=catchup', A)).items.length, 1, 'nothing removed by default');
      assert.ok(!(await auditOf('review.access_removed')).some((e) => series.some((x) => x.id === e.data.reviewId)));
      assert.ok((await auditOf('review.created')).some((e) => e.data.reviewId === next.id && e.data.skippedPeriods === 2));

      // The job that should start it runs two days late: reviewers still get three days from then.
      s.clock.set(start + 23 * DAY);
      await s.uc.reviews.tick();
      const started = ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A));
      assert.equal(started.status, 'active');
      assert.equal(started.startsAt, next.startsAt);
      assert.equal(started.endsAt, new Date(s.clock.now() + 3 * DAY).toISOString());
      const ev = (await auditOf('review.started')).find((e) => e.data.reviewId === next.id);
      assert.deepEqual([ev.data.startedAt, ev.data.endsAt, ev.data.scheduledEndsAt], [s.clock.now(), s.clock.now() + 3 * DAY, Date.parse(next.endsAt)]);
      s.clock.advance(2 * DAY);
      await s.uc.reviews.tick();
      assert.equal(ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A)).status, 'active', 'still open for review');
      s.clock.advance(DAY);
      await s.uc.reviews.tick();
      assert.equal(ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A)).status, 'completed');
      assert.equal(ok(await s.call('GET', '/api/v1/eligibilities?principal=alice&role=catchup', A)).items.length, 0, 'undecided after a full window: the default applies');
      const third = ok(await s.call('GET', `/api/v1/reviews/${next.id}`, A)).nextId;
      assert.equal(ok(await s.call('GET', `/api/v1/reviews/${third}`, A)).startsAt, new Date(start + 28 * DAY).toISOString());
      ok(await s.call('POST', `/api/v1/reviews/${third}/cancel`, A));
    });

    test('inactive account means never seen: sign-in, browser session, API token use (CLI) or an activation request all count', async () => {
      tok.tina = await user(s, 'tina');
      tok.cli = await user(s, 'cli');
      for (const p of ['sam', 'idle']) await user(s, p);
      await role('seen');
      for (const p of ['tina', 'sam', 'cli', 'idle']) await eligible(p, 'seen', '/s');
      s.clock.advance(40 * DAY);
      const seenAt = s.clock.now();
      ok(await activate(tok.tina!, 'seen', '/s'), 201); // through an API token: no sign-in on record
      await sessionFor(s, 'sam'); // a browser session, seen now
      ok(await s.call('GET', '/api/v1/me', tok.cli!)); // the CLI's token, used now (its last use is written after the answer)
      for (let i = 0; i < 100; i++) {
        const [t] = await s.store.transaction((tx) => s.store.tokens.listFor(tx, 'cli'));
        if (t?.lastUsedAt === seenAt) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      s.clock.advance(DAY);
      const c = await campaign({
        name: 'Seen', filter: { roles: ['seen'], include: ['eligibilities'] }, reviewers: { kind: 'principals', principals: ['bob'] }, defaultDecision: 'recommendation',
        recommend: { unusedDays: 3650, inactiveDays: 30 },
      });
      const by = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i]));
      for (const p of ['tina', 'sam', 'cli']) {
        assert.equal(by[p].recommendation.decision, 'approve', `${p}: ${JSON.stringify(by[p].recommendation)}`);
        assert.equal(by[p].lastSignInAt, new Date(seenAt).toISOString(), p);
      }
      assert.deepEqual([by.idle.recommendation.decision, by.idle.recommendation.reasons, by.idle.lastSignInAt], ['deny', ['inactive_account'], null]);
      assert.match(by.idle.recommendation.message, /never been used/);
      ok(await s.call('POST', `/api/v1/reviews/${c.id}/complete`, A));
      const end = Object.fromEntries((await items(c.id)).map((i) => [i.principalId, i.outcome]));
      assert.deepEqual(end, { cli: 'kept', idle: 'removed', sam: 'kept', tina: 'kept' });
    });

    test('bad input is refused with a stable code and changes nothing', async () => {
      const before = ok(await s.call('GET', '/api/v1/reviews', A)).items.length;
      const base = { name: 'x', reviewers: { kind: 'manager' }, durationDays: 7, defaultDecision: 'keep' };
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, durationDays: 0 }), 400, 'invalid_request');
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, recurrence: 'weekly', durationDays: 10 }), 400, 'invalid_review');
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, filter: { roles: ['no-such-role'] } }), 400, 'unknown_role');
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, reviewers: { kind: 'manager', fallback: ['ghost'] } }), 400, 'unknown_principal');
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, filter: { scopes: ['/a//b'] } }), 400, 'invalid_scope');
      refused(await s.call('POST', '/api/v1/reviews', A, { ...base, startAt: new Date(s.clock.now() - DAY).toISOString() }), 400, 'invalid_review');
      refused(await s.call('POST', '/api/v1/reviews', tok.bob!, base), 403, 'not_admin');
      refused(await s.call('GET', '/api/v1/reviews/nope', A), 404, 'not_found');
      assert.equal(ok(await s.call('GET', '/api/v1/reviews', A)).items.length, before);
    });
  });
}
