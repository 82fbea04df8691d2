import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Detection end to end over HTTP, on both backends: real events made through the API, the scanner
 * run as the job would run it, alerts read back with the audit events that triggered them;
 * de-duplication, acknowledge/resolve, settings that change what a rule does, and admins only.
 */
const A = ADMIN_TOKEN;
const MIN = 60_000;
const JUST = 'Investigating the nightly batch failure';

for (const backend of BACKENDS) {
  describe(`detection → alerts on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string, carol: string;
    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      carol = await user(s, 'carol');
      for (const r of [
        { id: 'app-ops', riskTier: 'medium', settings: { maxActivation: 'PT1H', approval: { required: true, approvers: [{ principal: 'alice' }, { principal: 'bob' }] } } },
        { id: 'prod-db', riskTier: 'high', settings: { maxActivation: 'PT1H', mfa: 'any' } },
        { id: 'reader', riskTier: 'low', settings: { maxActivation: 'PT1H' } },
      ]) {
        const res = await s.call('POST', '/api/v1/roles', A, r);
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      for (const [p, role] of [['alice', 'app-ops'], ['bob', 'app-ops'], ['carol', 'reader']]) {
        const e = await s.call('POST', '/api/v1/eligibilities', A, { principalId: p, roleId: role, scope: '/', endsAt: null, justification: 'on the rota' });
        assert.equal(e.status, 201, JSON.stringify(e.body));
      }
    });
    after(async () => s?.cleanup());

    const alerts = async (query = '') => {
      const r = await s.call('GET', `/api/v1/alerts${query}`, A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.items as any[];
    };
    const auditOf = async (type: string) => (await s.call('GET', `/api/v1/audit?type=${type}&limit=1000`, A)).body.items as any[];
    const activate = async (token: string, roleId: string) => {
      const r = await s.call('POST', '/api/v1/requests', token, { roleId, scope: '/', duration: 'PT15M', justification: JUST });
      assert.ok(r.status === 201 || r.status === 200 || r.status === 202, JSON.stringify(r.body));
      return r.body as { id: string; status: string };
    };
    const approve = async (token: string, id: string) => {
      const r = await s.call('POST', `/api/v1/requests/${id}/approve`, token, { reason: 'known work' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };

    test('a direct assignment of a high-tier role raises a critical alert with the event that made it; the bootstrap does not', async () => {
      const r = await s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'prod-db', scope: '/prod', endsAt: new Date(s.clock.now() + 86_400_000).toISOString(), justification: 'vendor migration' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await s.jobs.tick(); // the job loop runs the scanner
      const direct = await alerts('?rule=direct_assignment');
      assert.equal(direct.length, 1, JSON.stringify(direct));
      const a = direct[0];
      assert.equal(a.severity, 'critical');
      assert.equal(a.status, 'open');
      assert.deepEqual(a.principals, ['carol']);
      assert.equal(a.roleId, 'prod-db');
      assert.equal(a.scope, '/prod');
      const made = (await auditOf('assignment.direct_created')).find((e) => e.principalId === 'carol');
      assert.ok(made);
      assert.deepEqual(a.events, [made.id]);
      const one = await s.call('GET', `/api/v1/alerts/${a.id}`, A);
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.deepEqual(one.body.eventRecords.map((e: any) => [e.id, e.type, e.actorId]), [[made.id, 'assignment.direct_created', 'admin']]);
      // Raising is on the record once.
      const raised = (await auditOf('alert.raised')).filter((e) => e.data.alertId === a.id);
      assert.equal(raised.length, 1);
      assert.equal(raised[0].data.rule, 'direct_assignment');
      // The state rules ran on the first scan too: admin and prod-db are checked; prod-db requires MFA, elevate-admin does not.
      const noMfa = await alerts('?rule=high_risk_without_mfa');
      assert.deepEqual(noMfa.map((x) => x.roleId), ['elevate-admin']);
    });

    test('two people approving each other raise one collusion alert with both approvals; approvers eligible for the role are flagged', async () => {
      const ra = await activate(alice, 'app-ops');
      assert.equal(ra.status, 'pending_approval');
      await approve(bob, ra.id);
      s.clock.advance(30 * MIN);
      const rb = await activate(bob, 'app-ops');
      await approve(alice, rb.id);
      assert.equal(await s.uc.alerts.scan() > 0, true);
      const col = await alerts('?rule=collusion');
      assert.equal(col.length, 1, JSON.stringify(col));
      assert.deepEqual(col[0].principals, ['alice', 'bob']);
      assert.equal(col[0].severity, 'high');
      const granted = (await auditOf('approval.granted')).filter((e) => e.requestId === ra.id || e.requestId === rb.id);
      assert.equal(granted.length, 2);
      assert.deepEqual([...col[0].events].sort(), granted.map((e) => e.id).sort());
      const elig = await alerts('?rule=approver_eligible');
      assert.deepEqual(elig.map((x) => x.principals[0]).sort(), ['alice', 'bob']);

      // A second scan with nothing new changes nothing.
      const before = JSON.stringify(await alerts());
      assert.equal(await s.uc.alerts.scan(), 0);
      assert.equal(JSON.stringify(await alerts()), before);

      // The same pair again: the open alert is updated, not duplicated.
      s.clock.advance(MIN);
      const rc = await activate(alice, 'app-ops');
      await approve(bob, rc.id);
      await s.uc.alerts.scan();
      const again = await alerts('?rule=collusion');
      assert.equal(again.length, 1);
      assert.equal(again[0].id, col[0].id);
      assert.equal(again[0].count, 2);
      const third = (await auditOf('approval.granted')).find((e) => e.requestId === rc.id);
      assert.ok(again[0].events.includes(third.id));
      assert.equal(again[0].events.length, 3);
      assert.ok(Date.parse(again[0].lastSeenAt) > Date.parse(again[0].firstSeenAt));
    });

    test('acknowledge and resolve (audited); after resolving, the next finding opens a new alert', async () => {
      const [col] = await alerts('?rule=collusion');
      const ack = await s.call('POST', `/api/v1/alerts/${col.id}/acknowledge`, A, { note: 'asking their manager' });
      assert.equal(ack.status, 200, JSON.stringify(ack.body));
      assert.equal(ack.body.status, 'acknowledged');
      assert.equal(ack.body.acknowledgedBy, 'admin');
      assert.equal((await s.call('POST', `/api/v1/alerts/${col.id}/acknowledge`, A, {})).body.error.code, 'alert_acknowledged');
      const noNote = await s.call('POST', `/api/v1/alerts/${col.id}/resolve`, A, { note: '  ' });
      assert.equal(noNote.status, 400);
      assert.equal(noNote.body.error.code, 'note_required');
      const res = await s.call('POST', `/api/v1/alerts/${col.id}/resolve`, A, { note: 'pair rota, agreed with the manager' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'resolved');
      assert.equal(res.body.resolvedBy, 'admin');
      assert.equal(res.body.note, 'pair rota, agreed with the manager');
      const again = await s.call('POST', `/api/v1/alerts/${col.id}/resolve`, A, { note: 'x' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'alert_resolved');
      assert.equal((await auditOf('alert.acknowledged')).filter((e) => e.data.alertId === col.id).length, 1);
      assert.equal((await auditOf('alert.resolved')).filter((e) => e.data.alertId === col.id && e.actorId === 'admin').length, 1);
      assert.equal((await s.call('GET', '/api/v1/alerts/nope', A)).status, 404);

      // It happens again: a new alert; the resolved one stays resolved.
      s.clock.advance(MIN);
      const rd = await activate(bob, 'app-ops');
      await approve(alice, rd.id);
      await s.uc.alerts.scan();
      const all = await alerts('?rule=collusion');
      assert.equal(all.length, 2);
      assert.deepEqual(all.map((x) => x.status).sort(), ['open', 'resolved']);
      assert.equal((await alerts('?rule=collusion&status=open'))[0].count, 1);
    });

    test('settings: defaults, a changed threshold the rule follows (audited), a bad document refused naming the field', async () => {
      const got = await s.call('GET', '/api/v1/detection/settings', A);
      assert.equal(got.status, 200);
      assert.equal(got.body.rules.frequent_activations.max, 10);
      assert.equal(got.body.rules.frequent_activations.enabled, true);
      assert.equal(got.body.rules.breakglass_used.severity, 'critical');

      // Three activations: below the default threshold.
      for (let i = 0; i < 3; i++) {
        s.clock.advance(MIN);
        await activate(carol, 'reader');
      }
      await s.uc.alerts.scan();
      assert.equal((await alerts('?rule=frequent_activations')).length, 0);

      const bad = await s.call('PUT', '/api/v1/detection/settings', A, { rules: { frequent_activations: { max: 0 } } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_settings');
      assert.equal(bad.body.error.details.field, 'rules.frequent_activations.max');
      const unknown = await s.call('PUT', '/api/v1/detection/settings', A, { rules: { frequent_activations: { max: 3 }, made_up: { enabled: true } } });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error.details.field, 'rules.made_up');
      assert.equal((await s.call('GET', '/api/v1/detection/settings', A)).body.rules.frequent_activations.max, 10, 'nothing stored from a refused document');

      const put = await s.call('PUT', '/api/v1/detection/settings', A, { rules: { frequent_activations: { max: 3, severity: 'high' } } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.rules.frequent_activations.max, 3);
      assert.equal(put.body.rules.frequent_activations.windowHours, 24);
      const upd = await auditOf('detection.settings_updated');
      assert.equal(upd.length, 1);
      assert.deepEqual(upd[0].data.changed, { frequent_activations: { max: 3, severity: 'high' } });

      s.clock.advance(MIN);
      await activate(carol, 'reader'); // the fourth within 24 hours: more than 3
      await s.uc.alerts.scan();
      const freq = await alerts('?rule=frequent_activations');
      assert.equal(freq.length, 1, JSON.stringify(freq));
      assert.equal(freq[0].severity, 'high');
      assert.deepEqual(freq[0].principals, ['carol']);
      assert.equal(freq[0].events.length, 4);
      const created = (await auditOf('request.created')).filter((e) => e.principalId === 'carol').map((e) => e.id);
      assert.deepEqual([...freq[0].events].sort(), created.sort());
    });

    test('state rules run at most every 10 minutes of clock time', async () => {
      s.clock.advance(10 * MIN);
      await s.uc.alerts.scan(); // due: the state rules run now
      const r = await s.call('POST', '/api/v1/roles', A, { id: 'billing-admin', riskTier: 'high', settings: { maxActivation: 'PT1H' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const found = async () => (await alerts('?rule=high_risk_without_mfa')).filter((x) => x.roleId === 'billing-admin');
      await s.uc.alerts.scan();
      assert.equal((await found()).length, 0, 'not due yet');
      s.clock.advance(9 * MIN);
      await s.uc.alerts.scan();
      assert.equal((await found()).length, 0, 'still not due after 9 minutes');
      s.clock.advance(MIN);
      await s.uc.alerts.scan();
      const f = await found();
      assert.equal(f.length, 1);
      assert.equal(f[0].severity, 'high');
      assert.deepEqual(f[0].events, []);
      // The next run finds it again: the same open alert, seen once more.
      s.clock.advance(10 * MIN);
      await s.uc.alerts.scan();
      const g = await found();
      assert.equal(g.length, 1);
      assert.equal(g[0].id, f[0].id);
      assert.equal(g[0].count, 2);
    });

    test('one node scans at a time: while the cursor is held elsewhere a scan skips, then catches up', { skip: backend.name !== 'postgres' && 'PostgreSQL row locks' }, async () => {
      const r = await s.call('POST', '/api/v1/assignments', A, { principalId: 'bob', roleId: 'reader', scope: '/', endsAt: new Date(s.clock.now() + 86_400_000).toISOString(), justification: 'temporary' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      let release!: () => void;
      const held = new Promise<void>((ok) => (release = ok));
      let locked!: () => void;
      const isLocked = new Promise<void>((ok) => (locked = ok));
      const other = s.store.transaction(async (tx) => {
        assert.ok(await s.store.alerts.lockCursor(tx));
        locked();
        await held;
      });
      await isLocked;
      const bobs = async () => (await alerts('?rule=direct_assignment')).filter((x) => x.principals[0] === 'bob');
      assert.equal(await s.uc.alerts.scan(), 0);
      assert.equal((await bobs()).length, 0);
      release();
      await other;
      assert.ok((await s.uc.alerts.scan()) >= 1);
      const b = await bobs();
      assert.equal(b.length, 1);
      assert.equal(b[0].severity, 'high'); // a low tier role: the rule's own severity
    });

    test('non-admins get 403 (audited as authz.denied), and the filters work', async () => {
      for (const [method, url, body] of [
        ['GET', '/api/v1/alerts', undefined],
        ['GET', '/api/v1/detection/settings', undefined],
        ['PUT', '/api/v1/detection/settings', { rules: {} }],
      ] as const) {
        const r = await s.call(method, url, alice, body);
        assert.equal(r.status, 403, `${method} ${url}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'not_admin');
      }
      const [any] = await alerts();
      assert.equal((await s.call('POST', `/api/v1/alerts/${any.id}/acknowledge`, bob, {})).status, 403);
      assert.equal((await s.call('GET', `/api/v1/alerts/${any.id}`, bob)).status, 403);
      assert.ok((await auditOf('authz.denied')).some((e) => e.actorId === 'alice' && e.data.action === 'alert.list'));
      const crit = await alerts('?severity=critical');
      assert.ok(crit.length >= 1 && crit.every((x) => x.severity === 'critical'));
      assert.equal((await alerts('?limit=1')).length, 1);
      assert.equal((await s.call('GET', '/api/v1/alerts?status=closed', A)).status, 400);
      // What the metrics read: unresolved alerts by severity, matching the list.
      const counts = await s.store.transaction((tx) => s.store.alerts.countOpenBySeverity(tx));
      const unresolved = (await alerts('?limit=1000')).filter((x) => x.status !== 'resolved');
      for (const sev of ['low', 'medium', 'high', 'critical'] as const) assert.equal(counts[sev], unresolved.filter((x) => x.severity === sev).length, sev);
      assert.ok(counts.critical >= 1);
      // Acknowledging needs no note; an acknowledged alert still counts as unresolved.
      const [open] = await alerts('?status=open&severity=critical');
      const ack = await s.call('POST', `/api/v1/alerts/${open.id}/acknowledge`, A);
      assert.equal(ack.status, 200, JSON.stringify(ack.body));
      assert.equal(ack.body.note, null);
      assert.equal((await s.store.transaction((tx) => s.store.alerts.countOpenBySeverity(tx))).critical, counts.critical);
      // In the API description, under the alerts tag.
      const doc = (await s.call('GET', '/api/v1/openapi.json', null)).body;
      for (const path of ['/api/v1/alerts', '/api/v1/alerts/{id}', '/api/v1/alerts/{id}/acknowledge', '/api/v1/alerts/{id}/resolve', '/api/v1/detection/settings']) {
        const ops = Object.values(doc.paths[path] ?? {}) as any[];
        assert.ok(ops.length > 0 && ops.every((o) => o.tags?.includes('alerts')), path);
      }
    });
  });
}
