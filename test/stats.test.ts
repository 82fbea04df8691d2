import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { computeStats, nearestRank, type StatsFacts } from '../src/core/stats.js';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const JUST = 'Investigating INC-1234 replication lag';
const D1 = Date.parse('2026-03-02T00:00:00Z'); // T0 is 09:00 that day

describe('core/stats: the pure computation', () => {
  const none: StatsFacts = { events: [], approvals: [], assignments: [] };

  test('nearest-rank percentiles', () => {
    assert.equal(nearestRank([], 0.5), null);
    assert.equal(nearestRank([7], 0.5), 7);
    assert.equal(nearestRank([7], 0.9), 7);
    assert.equal(nearestRank([1, 2, 3], 0.5), 2);
    assert.equal(nearestRank([1, 2, 3], 0.9), 3);
    assert.equal(nearestRank([1, 2, 3, 4], 0.5), 2);
    assert.equal(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  });

  test('days are UTC days covering [from, to); a partial first and last day still count', () => {
    const s = computeStats({ from: D1 + 6 * HOUR, to: D1 + 2 * DAY + HOUR, now: D1 + 10 * DAY }, none);
    assert.deepEqual(s.days.map((d) => d.date), ['2026-03-02', '2026-03-03', '2026-03-04']);
    assert.equal(computeStats({ from: D1, to: D1 + DAY, now: D1 + DAY }, none).days.length, 1);
    assert.equal(computeStats({ from: D1, to: D1, now: D1 }, none).days.length, 0);
  });

  test('events are counted by day, outside the period ignored; denials under each distinct reason', () => {
    const s = computeStats({ from: D1, to: D1 + 2 * DAY, now: D1 + 2 * DAY }, {
      events: [
        { ts: D1 - 1, type: 'assignment.activated', roleId: 'r', reasons: [] },
        { ts: D1, type: 'assignment.activated', roleId: 'r', reasons: [] },
        { ts: D1 + DAY + 5, type: 'assignment.scheduled', roleId: 'q', reasons: [] },
        { ts: D1 + DAY + 6, type: 'assignment.activated', roleId: 'q', reasons: [] },
        { ts: D1 + DAY + 7, type: 'breakglass.activated', roleId: 'q', reasons: [] },
        { ts: D1 + 3, type: 'request.denied', roleId: 'r', reasons: ['b', 'a', 'a'] },
        { ts: D1 + 4, type: 'request.denied', roleId: 'r', reasons: ['a'] },
        { ts: D1 + 2 * DAY, type: 'request.denied', roleId: 'r', reasons: ['c'] },
        { ts: D1 + 8, type: 'request.created', roleId: 'r', reasons: [] },
      ],
      approvals: [],
      assignments: [],
    });
    assert.deepEqual(s.days.map((d) => [d.activations, d.breakglass, d.denials]), [[1, 0, 2], [2, 1, 0]]);
    assert.deepEqual(s.denialsByReason, [{ reason: 'a', count: 2 }, { reason: 'b', count: 1 }]);
    assert.deepEqual(s.topRoles, [{ roleId: 'q', activations: 2 }, { roleId: 'r', activations: 1 }]);
    assert.equal(s.totals.activations, 3);
  });

  test('approval latency from request to final approval, approvals outside the period ignored', () => {
    const a = (requestedAt: number, approvedAt: number, id = String(approvedAt)) => ({ requestId: id, roleId: 'r', requestedAt, approvedAt });
    const s = computeStats({ from: D1, to: D1 + DAY, now: D1 + DAY }, {
      ...none,
      approvals: [a(D1 - HOUR, D1 + 10 * MIN), a(D1, D1 + 45 * MIN), a(D1, D1 + 15 * MIN), a(D1, D1 + DAY + MIN), a(D1 + 2 * HOUR, D1 + 4 * HOUR)],
    });
    assert.deepEqual(s.approvalLatency, { count: 4, p50Ms: 45 * MIN, p90Ms: 120 * MIN, maxMs: 120 * MIN });
  });

  test('live access per day: clipped to the day, the period and now; permanent grants run until now', () => {
    const s = computeStats({ from: D1, to: D1 + 3 * DAY, now: D1 + DAY + 12 * HOUR }, {
      ...none,
      assignments: [
        { id: 'admin', roleId: 'elevate-admin', source: 'direct', startsAt: D1 - 10 * DAY, endsAt: null },
        { id: 'night', roleId: 'r', source: 'activation', startsAt: D1 + 23 * HOUR, endsAt: D1 + DAY + 2 * HOUR },
        { id: 'bg', roleId: 'r', source: 'breakglass', startsAt: D1 + HOUR, endsAt: D1 + 90 * MIN },
        { id: 'empty', roleId: 'r', source: 'activation', startsAt: D1 + 5 * HOUR, endsAt: D1 + 5 * HOUR },
        { id: 'future', roleId: 'r', source: 'activation', startsAt: D1 + 2 * DAY, endsAt: D1 + 2 * DAY + HOUR },
      ],
    });
    assert.deepEqual(s.days.map((d) => [d.standing, d.justInTime, d.breakglassAccess]), [
      [{ count: 1, hours: 24 }, { count: 1, hours: 1 }, { count: 1, hours: 0.5 }],
      [{ count: 1, hours: 12 }, { count: 1, hours: 2 }, { count: 0, hours: 0 }],
      [{ count: 0, hours: 0 }, { count: 0, hours: 0 }, { count: 0, hours: 0 }],
    ]);
    assert.equal(s.totals.standingHours, 36);
    assert.equal(s.totals.justInTimeHours, 3);
    assert.equal(s.totals.breakglassHours, 0.5);
  });
});

for (const backend of BACKENDS) {
  describe(`GET /stats on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let alice: string, bob: string;
    const A = ADMIN_TOKEN;
    /** Set the server's clock to an absolute time (it only moves forward here). */
    const at = (iso: string) => {
      const t = Date.parse(iso);
      assert.ok(t >= s.clock.now(), `clock goes forward to ${iso}`);
      s.clock.advance(t - s.clock.now());
    };
    const activate = async (token: string, body: Record<string, unknown>) => s.call('POST', '/api/v1/requests', token, { scope: '/prod', duration: 'PT30M', justification: JUST, ...body });
    const ok = async (p: Promise<{ status: number; body: any }>, status = 201) => {
      const r = await p;
      assert.equal(r.status, status, JSON.stringify(r.body));
      return r.body;
    };

    before(async () => {
      s = await startServer(backend.name); // clock at T0, 2026-03-02T09:00Z: the bootstrap admin's standing grant starts here
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      await user(s, 'carol');
      for (const r of [
        { id: 'reader', riskTier: 'low', settings: { maxActivation: 'PT2H', activeAssignment: { allowPermanent: false, maxDuration: 'P1D' } } },
        { id: 'db-admin', riskTier: 'high', settings: { maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT24H' } } },
        { id: 'ticketed', riskTier: 'medium', settings: { ticket: { required: true, pattern: '^INC-[0-9]+$' } } },
      ]) await ok(s.call('POST', '/api/v1/roles', A, r));
      for (const role of ['reader', 'db-admin', 'ticketed']) {
        await ok(s.call('POST', '/api/v1/eligibilities', A, { principalId: 'alice', roleId: role, scope: '/prod', endsAt: null, justification: 'on-call rota' }));
      }

      // Day 1 (Mon 2 March)
      at('2026-03-02T10:00:00Z');
      await ok(activate(alice, { roleId: 'reader', duration: 'PT1H' })); // activation 1: reader, 10:00–11:00
      at('2026-03-02T11:00:00Z');
      const r1 = await ok(activate(alice, { roleId: 'db-admin' }));
      at('2026-03-02T11:45:00Z');
      await ok(s.call('POST', `/api/v1/requests/${r1.id}/approve`, bob, { reason: 'on call' }), 200); // latency 45 min; activation 2: 11:45–12:15
      at('2026-03-02T13:00:00Z');
      await ok(activate(alice, { roleId: 'ticketed' }), 403); // denied: ticket_required
      await ok(activate(alice, { roleId: 'reader', justification: 'short' }), 403); // denied: justification_too_weak

      // Day 2 (Tue 3 March)
      at('2026-03-03T09:00:00Z');
      await ok(activate(alice, { roleId: 'reader', duration: 'PT1H' })); // activation 3: 09:00–10:00
      at('2026-03-03T10:00:00Z');
      const r2 = await ok(activate(alice, { roleId: 'db-admin' }));
      at('2026-03-03T12:00:00Z');
      await ok(s.call('POST', `/api/v1/requests/${r2.id}/deny`, bob, { reason: 'not now' }), 200); // denied: approver_denied
      // carol's standing access: a direct assignment 12:00–18:00
      await ok(s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'reader', scope: '/prod', endsAt: '2026-03-03T18:00:00Z', justification: 'migration weekend' }));
      at('2026-03-03T13:00:00Z');
      const r3 = await ok(activate(alice, { roleId: 'db-admin' }));
      at('2026-03-03T13:15:00Z');
      await ok(s.call('POST', `/api/v1/requests/${r3.id}/approve`, bob, { reason: 'ok' }), 200); // latency 15 min; activation 4: 13:15–13:45

      // Day 3 (Wed 4 March)
      at('2026-03-04T10:00:00Z');
      const r4 = await ok(activate(alice, { roleId: 'db-admin' }));
      at('2026-03-04T12:00:00Z');
      await ok(s.call('POST', `/api/v1/requests/${r4.id}/approve`, bob, { reason: 'ok' }), 200); // latency 2 h; activation 5: 12:00–12:30
      at('2026-03-04T14:00:00Z');
      await ok(activate(alice, { roleId: 'ticketed', justification: 'short', ticket: 'ABC' }), 403); // denied: justification_too_weak + ticket_invalid

      at('2026-03-05T09:00:00Z');
    });
    after(async () => s?.cleanup());

    test('the exact figures for a known history', async () => {
      const r = await s.call('GET', '/api/v1/stats?from=2026-03-02T00:00:00Z&to=2026-03-05T00:00:00Z', A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const b = r.body;
      assert.equal(b.from, '2026-03-02T00:00:00.000Z');
      assert.equal(b.to, '2026-03-05T00:00:00.000Z');
      assert.equal(b.generatedAt, '2026-03-05T09:00:00.000Z');
      assert.equal(b.timeZone, 'UTC');
      assert.deepEqual(
        b.days.map((d: any) => ({ date: d.date, activations: d.activations, denials: d.denials, standing: d.standing, jit: d.justInTime })),
        [
          // the bootstrap admin from 09:00 on day 1; carol 12:00–18:00 on day 2
          { date: '2026-03-02', activations: 2, denials: 2, standing: { count: 1, hours: 15 }, jit: { count: 2, hours: 1.5 } },
          { date: '2026-03-03', activations: 2, denials: 1, standing: { count: 2, hours: 30 }, jit: { count: 2, hours: 1.5 } },
          { date: '2026-03-04', activations: 1, denials: 1, standing: { count: 1, hours: 24 }, jit: { count: 1, hours: 0.5 } },
        ],
      );
      assert.deepEqual(b.totals, { activations: 5, breakglass: 0, denials: 4, approvals: 3, standingHours: 69, justInTimeHours: 3.5, breakglassHours: 0 });
      // 15 min, 45 min, 2 h: p50 is the 2nd smallest, p90 the 3rd (nearest rank)
      assert.deepEqual(b.approvalLatency, { count: 3, p50Ms: 45 * MIN, p90Ms: 120 * MIN, maxMs: 120 * MIN });
      assert.deepEqual(b.denialsByReason, [
        { reason: 'justification_too_weak', count: 2 },
        { reason: 'approver_denied', count: 1 },
        { reason: 'ticket_invalid', count: 1 },
        { reason: 'ticket_required', count: 1 },
      ]);
      assert.deepEqual(b.topRoles, [{ roleId: 'db-admin', activations: 3 }, { roleId: 'reader', activations: 2 }]);
    });

    test('by default the last 30 UTC days up to now', async () => {
      const r = await s.call('GET', '/api/v1/stats', A);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.from, '2026-02-04T00:00:00.000Z');
      assert.equal(r.body.to, '2026-03-05T09:00:00.000Z');
      assert.equal(r.body.days.length, 30);
      assert.equal(r.body.days.at(-1).date, '2026-03-05');
      assert.deepEqual(r.body.days.at(-1).standing, { count: 1, hours: 9 });
      assert.equal(r.body.totals.activations, 5);
      assert.equal(r.body.totals.standingHours, 78);
    });

    test('a period must run forwards and be at most 366 days', async () => {
      const back = await s.call('GET', '/api/v1/stats?from=2026-03-05T00:00:00Z&to=2026-03-02T00:00:00Z', A);
      assert.equal(back.status, 400);
      assert.equal(back.body.error.code, 'invalid_period');
      const long = await s.call('GET', '/api/v1/stats?from=2024-01-01T00:00:00Z&to=2026-03-02T00:00:00Z', A);
      assert.equal(long.status, 400);
      assert.equal(long.body.error.code, 'period_too_long');
      assert.equal((await s.call('GET', '/api/v1/stats?from=yesterday', A)).status, 400);
      assert.equal((await s.call('GET', '/api/v1/stats?days=3', A)).status, 400);
    });

    test('administrators only: anyone else gets 403, and the refusal is audited', async () => {
      const r = await s.call('GET', '/api/v1/stats', alice);
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'not_admin');
      assert.equal((await s.call('GET', '/api/v1/audit/checkpoints/latest', bob)).status, 403);
      const refused = await s.call('GET', '/api/v1/audit?actor=alice&type=authz.denied', A);
      assert.ok(refused.body.items.some((e: any) => e.data.action === 'stats.read'), JSON.stringify(refused.body.items));
      assert.equal((await s.call('GET', '/api/v1/stats', null)).status, 401);
    });

    test('the newest signed checkpoint: none at first, then the one just signed', async () => {
      assert.deepEqual((await s.call('GET', '/api/v1/audit/checkpoints/latest', A)).body, { checkpoint: null });
      const seq = await s.uc.audit.checkpoint();
      assert.ok(seq);
      const { keys } = (await s.call('GET', '/api/v1/audit/keys', null)).body;
      const r = await s.call('GET', '/api/v1/audit/checkpoints/latest', A);
      assert.equal(r.status, 200);
      assert.deepEqual({ ...r.body.checkpoint, hash: typeof r.body.checkpoint.hash }, { seq, keyId: keys[0].keyId, at: '2026-03-05T09:00:00.000Z', hash: 'string' });
    });

    test('the OpenAPI document describes the stats endpoint', async () => {
      const doc = (await s.call('GET', '/api/v1/openapi.json', null)).body;
      assert.ok(doc.paths['/api/v1/stats']?.get, Object.keys(doc.paths).join(' '));
      assert.ok(doc.paths['/api/v1/stats'].get.responses['200']);
    });
  });
}
