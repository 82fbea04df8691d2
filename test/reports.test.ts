import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * The evidence report for auditors (GET /reports/evidence), over HTTP on both backends: who held
 * which role during a period, on whose approval and with what justification; JSON, CSV and a
 * printable HTML page; tied to the audit log by its head; itself an audited read.
 */
const A = ADMIN_TOKEN;
const MIN = 60_000;
const HOUR = 60 * MIN;
const HOSTILE = '<script>alert("x")</script> & payroll INC-77 <img src=x onerror=alert(1)>';

for (const backend of BACKENDS) {
  describe(`evidence reports on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string;
    let from: number, to: number;
    let activation: { id: string; assignmentId: string };
    let wikiId: string, oldId: string, laterId: string;

    before(async () => {
      s = await startServer(backend.name);
      alice = await user(s, 'alice', { name: 'Alice Liddell' });
      await user(s, 'bob');
      const carol = await user(s, 'carol', { name: 'Carol Approver' });
      for (const r of [
        { id: 'dba', name: 'Database admin', riskTier: 'high', settings: { maxActivation: 'PT2H', approval: { required: true, approvers: [{ principal: 'carol' }] } } },
        { id: 'reader', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
        { id: 'wiki', riskTier: 'low', settings: { activeAssignment: { allowPermanent: true } } },
      ]) {
        const res = await s.call('POST', '/api/v1/roles', A, r);
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      const t0 = s.clock.now();
      // Held only before the period: excluded.
      const old = await s.call('POST', '/api/v1/assignments', A, { principalId: 'bob', roleId: 'reader', scope: '/old', endsAt: new Date(t0 + HOUR).toISOString(), justification: 'short job' });
      assert.equal(old.status, 201, JSON.stringify(old.body));
      oldId = old.body.id;
      s.clock.advance(3 * HOUR);
      await s.jobs.tick();
      from = t0 + 2 * HOUR;

      assert.equal((await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'alice', roleId: 'dba', scope: '/db', endsAt: null, justification: 'dba rota' })).status, 201);
      const req = await s.call('POST', '/api/v1/requests', alice, { roleId: 'dba', scope: '/db', duration: 'PT1H', justification: HOSTILE, ticket: 'CHG-1234' });
      assert.equal(req.status, 201, JSON.stringify(req.body));
      assert.equal(req.body.status, 'pending_approval');
      s.clock.advance(10 * MIN);
      const ok = await s.call('POST', `/api/v1/requests/${req.body.id}/approve`, carol, { reason: 'CAB approved the change' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const got = await s.call('GET', `/api/v1/requests/${req.body.id}`, A);
      activation = { id: req.body.id, assignmentId: got.body.assignmentId };
      assert.ok(activation.assignmentId, JSON.stringify(got.body));

      const wiki = await s.call('POST', '/api/v1/assignments', A, { principalId: 'bob', roleId: 'wiki', scope: '/wiki', endsAt: null, justification: '=HYPERLINK("http://evil.example","click")' });
      assert.equal(wiki.status, 201, JSON.stringify(wiki.body));
      wikiId = wiki.body.id;
      s.clock.advance(2 * HOUR);
      to = s.clock.now();
      s.clock.advance(MIN);
      // Starts after the period: excluded.
      const later = await s.call('POST', '/api/v1/assignments', A, { principalId: 'alice', roleId: 'reader', scope: '/later', endsAt: null, justification: 'after the period' });
      assert.equal(later.status, 201);
      laterId = later.body.id;
    });
    after(async () => s?.cleanup());

    const url = (extra = '') => `/api/v1/reports/evidence?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}${extra}`;

    test('JSON: the approved activation with its justification, ticket and approver; nothing outside the period; tied to the audit log', async () => {
      const r = await s.call('GET', url(), A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.from, new Date(from).toISOString());
      assert.equal(r.body.to, new Date(to).toISOString());
      const ids = (r.body.items as any[]).map((i) => i.assignmentId);
      assert.ok(ids.includes(activation.assignmentId));
      assert.ok(ids.includes(wikiId));
      assert.ok(!ids.includes(oldId), 'held only before the period');
      assert.ok(!ids.includes(laterId), 'starts after the period');
      const a = (r.body.items as any[]).find((i) => i.assignmentId === activation.assignmentId);
      assert.deepEqual(
        [a.principalId, a.principalName, a.roleId, a.roleName, a.riskTier, a.scope, a.source, a.status, a.requestId, a.justification, a.ticket],
        ['alice', 'Alice Liddell', 'dba', 'Database admin', 'high', '/db', 'activation', 'expired', activation.id, HOSTILE, 'CHG-1234'],
      );
      assert.equal(a.approvals.length, 1);
      assert.deepEqual([a.approvals[0].approverId, a.approvals[0].approverName, a.approvals[0].decision, a.approvals[0].reason], ['carol', 'Carol Approver', 'approve', 'CAB approved the change']);
      assert.equal(Date.parse(a.approvals[0].at) - Date.parse(a.startsAt), 0, 'granted when approved');

      // The head is the report.generated event itself: the verifiable log holds it at that seq with that hash.
      const ev = ((await s.call('GET', '/api/v1/audit?type=report.generated&limit=1000', A)).body.items as any[]).at(-1);
      assert.deepEqual([r.body.auditHead.seq, r.body.auditHead.hash], [ev.seq, ev.hash]);
      assert.deepEqual([ev.actorId, ev.data.from, ev.data.to, ev.data.format, ev.data.items], ['admin', from, to, 'json', r.body.items.length]);
      assert.equal((await s.call('GET', '/api/v1/audit/verify', A)).body.ok, true);
    });

    test('filters: minTier and roleId', async () => {
      const high = await s.call('GET', url('&minTier=high'), A);
      const items = high.body.items as any[];
      assert.ok(items.some((i) => i.assignmentId === activation.assignmentId));
      assert.ok(!items.some((i) => i.assignmentId === wikiId));
      assert.ok(items.every((i) => i.riskTier === 'high' || i.riskTier === 'critical'), JSON.stringify(items.map((i) => [i.roleId, i.riskTier])));
      const wiki = await s.call('GET', url('&roleId=wiki'), A);
      assert.deepEqual((wiki.body.items as any[]).map((i) => i.assignmentId), [wikiId]);
    });

    test('CSV: an attachment with one row per assignment, approvals flattened, formulas defused', async () => {
      const r = await s.call('GET', url('&format=csv'), A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(String(r.headers['content-type']), /^text\/csv/);
      assert.match(String(r.headers['content-disposition']), /^attachment; filename="elevate-evidence-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv"$/);
      assert.match(String(r.headers['x-elevate-audit-head']), /^\d+:[0-9a-f]{64}$/);
      const rows = parse(r.body as string, { columns: true }) as Record<string, string>[];
      const a = rows.find((x) => x.assignmentId === activation.assignmentId)!;
      assert.ok(a, r.body);
      assert.deepEqual([a.principalName, a.roleName, a.riskTier, a.justification, a.ticket, a.requestId], ['Alice Liddell', 'Database admin', 'high', HOSTILE, 'CHG-1234', activation.id]);
      assert.match(a.approvals!, /^approve by Carol Approver \(carol\) at \S+Z: CAB approved the change$/);
      const w = rows.find((x) => x.assignmentId === wikiId)!;
      assert.equal(w.justification, `'=HYPERLINK("http://evil.example","click")`);
      assert.equal(w.source, 'direct');
      assert.ok(!rows.some((x) => x.assignmentId === oldId));
    });

    test('HTML: a printable page with every value escaped and no script', async () => {
      const r = await s.call('GET', url('&format=html'), A);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
      const html = r.body as string;
      assert.ok(!/<script/i.test(html), 'no script element, also not from the justification');
      assert.ok(!html.includes('<img'), 'no markup from the justification');
      assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; payroll INC-77 &lt;img src=x onerror=alert(1)&gt;'));
      assert.ok(html.includes('@media print'));
      assert.ok(html.includes('Alice Liddell') && html.includes('Carol Approver') && html.includes('CAB approved the change') && html.includes('CHG-1234'));
      assert.ok(!html.includes('/old<'), 'the assignment before the period is not shown');
    });

    test('admins only, and a bad period is a 400', async () => {
      const refused = await s.call('GET', url(), alice);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'not_admin');
      const backwards = await s.call('GET', `/api/v1/reports/evidence?from=${new Date(to).toISOString()}&to=${new Date(from).toISOString()}`, A);
      assert.equal(backwards.status, 400);
      assert.equal(backwards.body.error.code, 'invalid_period');
      assert.equal((await s.call('GET', '/api/v1/reports/evidence?from=yesterday&to=today', A)).status, 400);
    });
  });
}
