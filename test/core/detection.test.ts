import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  defaultDetectionSettings, detect, historyWindowMs, validateDetectionSettings,
  type DetectionEvent, type DetectionInput, type DetectionSettings, type Finding, type RoleFacts, type RuleName, type StateFacts,
} from '../../src/core/detection.js';
import { Invalid } from '../../src/core/errors.js';

/** Every rule: a case that triggers it and a near miss that does not. Pure, no I/O. */

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const T0 = Date.parse('2026-03-02T09:00:00Z');

const ROLES: RoleFacts[] = [
  { id: 'reader', name: 'Reader', riskTier: 'low', mfa: 'none' },
  { id: 'ops', name: 'Ops', riskTier: 'medium', mfa: 'any' },
  { id: 'dba', name: 'DBA', riskTier: 'high', mfa: 'any' },
  { id: 'root', name: 'Root', riskTier: 'critical', mfa: 'phishing_resistant' },
];

let seq = 0;
function ev(type: string, ts: number, o: Partial<DetectionEvent> = {}): DetectionEvent {
  seq++;
  return { seq, id: `e${seq}`, ts, type, outcome: 'info', actorId: o.principalId ?? null, principalId: null, roleId: null, scope: '/', requestId: null, reasons: [], data: {}, ...o };
}
const activation = (p: string, ts: number, roleId = 'reader', o: Partial<DetectionEvent> = {}) => ev('request.created', ts, { principalId: p, actorId: p, roleId, requestId: `r${seq + 1}`, ...o });
const approval = (approver: string, requester: string, ts: number, roleId = 'ops', requestId = `rq${seq + 1}`) =>
  ev('approval.granted', ts, { actorId: approver, principalId: requester, roleId, requestId, data: { approverId: approver } });

function settings(patch: (s: DetectionSettings) => void = () => {}): DetectionSettings {
  const s = defaultDetectionSettings();
  patch(s);
  return s;
}

function run(o: Partial<DetectionInput> & { events: DetectionEvent[] }): Finding[] {
  return detect({ now: T0, settings: settings(), history: [], roles: ROLES, requestCreatedAt: {}, approverEligibilities: {}, state: null, ...o });
}
const only = (fs: Finding[], rule: RuleName) => fs.filter((f) => f.rule === rule);

const emptyState = (): StateFacts => ({ principals: [], assignments: [], eligibilities: [], groupMembers: {} });
const person = (id: string, o: Partial<StateFacts['principals'][number]> = {}) => ({ id, kind: 'user' as const, status: 'active' as const, createdAt: T0 - 400 * DAY, lastSignInAt: T0 - DAY, ...o });
const elig = (id: string, principalId: string, roleId: string, o: Partial<StateFacts['eligibilities'][number]> = {}) => ({
  id, principalId, roleId, scope: '/', startsAt: T0 - 200 * DAY, endsAt: null, createdAt: T0 - 200 * DAY, lastUsedAt: T0 - DAY, ...o,
});

describe('detection rules', () => {
  test('direct_assignment: an admin assigning directly is found (critical for a high tier); the bootstrap is not', () => {
    const low = ev('assignment.direct_created', T0, { actorId: 'admin', principalId: 'alice', roleId: 'reader', data: { assignmentId: 'a1', endsAt: null } });
    const high = ev('assignment.direct_created', T0, { actorId: 'admin', principalId: 'bob', roleId: 'dba', data: { assignmentId: 'a2', endsAt: null } });
    const boot = ev('assignment.direct_created', T0, { actorId: 'system', principalId: 'admin', roleId: 'dba', data: { assignmentId: 'a0' } });
    const fs = only(run({ events: [low, high, boot] }), 'direct_assignment');
    assert.equal(fs.length, 2);
    const byP = Object.fromEntries(fs.map((f) => [f.principals[0], f]));
    assert.equal(byP.alice!.severity, 'high');
    assert.equal(byP.bob!.severity, 'critical');
    assert.deepEqual(byP.bob!.events, [high.id]);
    assert.equal(byP.bob!.dedupeKey, 'assignment:a2');
    // Near miss: an eligibility, not an assignment.
    assert.equal(only(run({ events: [ev('eligibility.created', T0, { actorId: 'admin', principalId: 'alice', roleId: 'dba' })] }), 'direct_assignment').length, 0);
    // Disabled: nothing.
    assert.equal(only(run({ events: [high], settings: settings((s) => (s.rules.direct_assignment.enabled = false)) }), 'direct_assignment').length, 0);
  });

  test('breakglass_used: every break-glass activation; a refused one is not', () => {
    const used = ev('breakglass.activated', T0, { outcome: 'allowed', principalId: 'bg', actorId: 'bg', roleId: 'root', data: { assignmentId: 'a9', reviewId: 'rv' } });
    const fs = only(run({ events: [used] }), 'breakglass_used');
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.severity, 'critical');
    assert.deepEqual(fs[0]!.events, [used.id]);
    assert.equal(only(run({ events: [ev('breakglass.denied', T0, { outcome: 'denied', principalId: 'bg', roleId: 'root' })] }), 'breakglass_used').length, 0);
  });

  test('frequent_activations: more than max in the window; exactly max is not', () => {
    const s = settings((x) => (x.rules.frequent_activations.max = 3));
    const four = [0, 1, 2, 3].map((i) => activation('alice', T0 + i * H));
    const f = only(run({ settings: s, events: four }), 'frequent_activations');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.events, four.map((e) => e.id));
    // Near miss: 3 in the window, the 4th a day later.
    const spread = [activation('bob', T0), activation('bob', T0 + H), activation('bob', T0 + 2 * H), activation('bob', T0 + 26 * H)];
    assert.equal(only(run({ settings: s, events: spread }), 'frequent_activations').length, 0);
    // Denied requests are not activations.
    const denied = [0, 1, 2, 3].map((i) => activation('carol', T0 + i * H, 'reader', { outcome: 'denied' }));
    assert.equal(only(run({ settings: s, events: denied }), 'frequent_activations').length, 0);
  });

  test('frequent_activations counts history, but reports only when a new event is part of it', () => {
    const s = settings((x) => (x.rules.frequent_activations.max = 3));
    const old = [0, 1, 2].map((i) => activation('alice', T0 + i * H));
    assert.equal(only(run({ settings: s, history: old, events: [activation('alice', T0 + 3 * H)] }), 'frequent_activations').length, 1);
    assert.equal(only(run({ settings: s, history: [...old, activation('alice', T0 + 3 * H)], events: [] }), 'frequent_activations').length, 0);
  });

  test('off_hours_activation: at 03:00 after a history of office hours; within tolerance or with too little history it is not', () => {
    const history = Array.from({ length: 10 }, (_, i) => activation('alice', T0 - (i + 1) * DAY + (i % 3) * H)); // 09:00-11:00 UTC
    const night = activation('alice', Date.parse('2026-03-02T03:00:00Z'));
    const f = only(run({ history, events: [night] }), 'off_hours_activation');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.details.usualHoursUtc, [9, 10, 11]);
    assert.equal(f[0]!.details.hourUtc, 3);
    // Near miss: 12:00 is within one hour of 11:00.
    assert.equal(only(run({ history, events: [activation('alice', Date.parse('2026-03-02T12:30:00Z'))] }), 'off_hours_activation').length, 0);
    // Near miss: only 9 earlier activations (minimum 10).
    assert.equal(only(run({ history: history.slice(1), events: [activation('alice', Date.parse('2026-03-02T03:00:00Z'))] }), 'off_hours_activation').length, 0);
  });

  test('activation_spike: many more in a day than the own baseline; the same count for a busy baseline is not', () => {
    // Baseline: 7 activations over 14 days (0.5 a day); today: 5.
    const calm = Array.from({ length: 7 }, (_, i) => activation('alice', T0 - (2 + 2 * i) * DAY));
    const today = Array.from({ length: 5 }, (_, i) => activation('alice', T0 + i * MIN));
    const f = only(run({ history: calm, events: today }), 'activation_spike');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.details.count, 5);
    // Near miss: baseline of 28 over 14 days (2 a day); 5 is not more than 3×2.
    const busy = Array.from({ length: 28 }, (_, i) => activation('bob', T0 - DAY - 1000 - i * 12 * H));
    const f2 = only(run({ history: busy, events: Array.from({ length: 5 }, (_, i) => activation('bob', T0 + i * MIN)) }), 'activation_spike');
    assert.equal(f2.length, 0);
    // Near miss: no baseline at all (a new principal) is not a spike.
    assert.equal(only(run({ events: Array.from({ length: 6 }, (_, i) => activation('carol', T0 + i * MIN)) }), 'activation_spike').length, 0);
  });

  test('escalation_chain: low then critical within the window; outside it, or high then low, is not', () => {
    const low = activation('alice', T0, 'reader');
    const crit = activation('alice', T0 + 30 * MIN, 'root');
    const f = only(run({ events: [low, crit] }), 'escalation_chain');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.events, [low.id, crit.id]);
    assert.equal(f[0]!.roleId, 'root');
    assert.equal(only(run({ events: [activation('bob', T0, 'ops'), activation('bob', T0 + 61 * MIN, 'dba')] }), 'escalation_chain').length, 0);
    assert.equal(only(run({ events: [activation('carol', T0, 'dba'), activation('carol', T0 + MIN, 'reader')] }), 'escalation_chain').length, 0);
  });

  test('mfa_failures: five failures in 15 minutes (wrong, replayed or rate-limited codes); four, spread out, or step-up refusals are not', () => {
    const fails = [
      ev('mfa.failed', T0, { outcome: 'denied', principalId: 'alice', actorId: 'alice', reasons: ['invalid_code'] }),
      ev('mfa.failed', T0 + MIN, { outcome: 'denied', principalId: 'alice', actorId: 'alice', reasons: ['invalid_code'] }),
      activation('alice', T0 + 2 * MIN, 'dba', { outcome: 'denied', reasons: ['mfa_invalid_code'] }),
      activation('alice', T0 + 3 * MIN, 'root', { outcome: 'denied', reasons: ['mfa_code_replayed'] }),
      ev('request.decision_refused', T0 + 4 * MIN, { outcome: 'denied', actorId: 'alice', principalId: 'bob', reasons: ['mfa_rate_limited'] }),
    ];
    const f = only(run({ events: fails }), 'mfa_failures');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.principals, ['alice']);
    assert.equal(f[0]!.events.length, 5);
    assert.equal(only(run({ events: fails.slice(0, 4) }), 'mfa_failures').length, 0);
    const spread = [0, 5, 10, 15, 20].map((m) => ev('mfa.failed', T0 + m * MIN, { outcome: 'denied', principalId: 'bob', actorId: 'bob' }));
    assert.equal(only(run({ events: spread }), 'mfa_failures').length, 0);
    // The step-up flow (refused for missing MFA, verify, retry) is not a failure, however busy.
    const stepups = Array.from({ length: 8 }, (_, i) =>
      i % 2 ? ev('request.decision_refused', T0 + i * MIN, { outcome: 'denied', actorId: 'dave', principalId: 'erin', reasons: ['mfa_required'] }) : activation('dave', T0 + i * MIN, 'dba', { outcome: 'denied', reasons: ['mfa_required', 'mfa_too_weak'] }),
    );
    assert.equal(only(run({ events: stepups }), 'mfa_failures').length, 0);
    // A denial for another reason is not an MFA failure.
    const other = Array.from({ length: 5 }, (_, i) => activation('carol', T0 + i * MIN, 'dba', { outcome: 'denied', reasons: ['not_eligible'] }));
    assert.equal(only(run({ events: other }), 'mfa_failures').length, 0);
  });

  test('approver_eligible: an approver eligible for the role approved (also through a group); one eligible for another role is not', () => {
    const a = approval('bob', 'alice', T0, 'dba');
    const f = only(run({ events: [a], approverEligibilities: { bob: [{ roleId: 'dba', scope: '/db', eligibilityId: 'e1', via: 'dbas' }] } }), 'approver_eligible');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.principals, ['bob', 'alice']);
    assert.match(f[0]!.summary, /via dbas/);
    assert.equal(only(run({ events: [approval('bob', 'alice', T0, 'dba')], approverEligibilities: { bob: [{ roleId: 'ops', scope: '/', eligibilityId: 'e2', via: 'bob' }] } }), 'approver_eligible').length, 0);
  });

  test('collusion: A approves B and B approves A within the window; outside it, or one-way, is not', () => {
    const ab = approval('alice', 'bob', T0);
    const ba = approval('bob', 'alice', T0 + 2 * H);
    const f = only(run({ history: [ab], events: [ba] }), 'collusion');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.principals, ['alice', 'bob']);
    assert.deepEqual(f[0]!.events, [ab.id, ba.id]);
    assert.equal(f[0]!.dedupeKey, 'pair:alice:bob');
    assert.equal(only(run({ history: [approval('carol', 'dave', T0)], events: [approval('dave', 'carol', T0 + 49 * H)] }), 'collusion').length, 0);
    assert.equal(only(run({ events: [approval('carol', 'dave', T0), approval('carol', 'dave', T0 + H)] }), 'collusion').length, 0);
  });

  test('approval_fatigue: many decisions in minutes, or several in seconds each; a steady pace is not', () => {
    const s = settings((x) => (x.rules.approval_fatigue.decisions = 4));
    const burst = [0, 1, 2, 3].map((i) => approval('boss', `u${i}`, T0 + i * MIN));
    const f = only(run({ settings: s, events: burst, requestCreatedAt: Object.fromEntries(burst.map((e) => [e.requestId!, e.ts - 10 * MIN])) }), 'approval_fatigue');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.events.length, 4);
    // Near miss: 4 decisions, 10 minutes apart (window 15 minutes).
    const steady = [0, 10, 20, 30].map((m) => approval('boss2', `u${m}`, T0 + m * MIN));
    assert.equal(only(run({ settings: s, events: steady, requestCreatedAt: Object.fromEntries(steady.map((e) => [e.requestId!, e.ts - 10 * MIN])) }), 'approval_fatigue').length, 0);
    // Seconds each: 3 decisions within 5 s of their request.
    const quick = [0, 20, 40].map((m) => approval('rubber', `v${m}`, T0 + m * MIN));
    const times = Object.fromEntries(quick.map((e) => [e.requestId!, e.ts - 5000]));
    const q = only(run({ events: quick, requestCreatedAt: times }), 'approval_fatigue');
    assert.equal(q.length, 1);
    assert.deepEqual(q[0]!.details.secondsToDecide, [5, 5, 5]);
    // Near miss: the same taking 30 s each.
    assert.equal(only(run({ events: quick, requestCreatedAt: Object.fromEntries(quick.map((e) => [e.requestId!, e.ts - 30_000])) }), 'approval_fatigue').length, 0);
  });

  test('high_risk_without_mfa: a high tier role without MFA; with MFA, or low tier, is not', () => {
    const roles: RoleFacts[] = [...ROLES, { id: 'prod', name: 'Prod', riskTier: 'high', mfa: 'none' }];
    const f = only(run({ roles, events: [], state: emptyState() }), 'high_risk_without_mfa');
    assert.deepEqual(f.map((x) => x.roleId), ['prod']); // reader is low tier without MFA: fine; dba/root require MFA
    assert.equal(only(run({ roles, events: [], state: null }), 'high_risk_without_mfa').length, 0, 'state rules run only with state');
  });

  test('too_many_holders: more holders of a critical role than allowed (groups expanded), or too large a share; at the limit it is not', () => {
    const st = emptyState();
    st.principals = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => person(id)).concat([{ ...person('admins'), kind: 'group' as never }]);
    st.groupMembers = { admins: ['d', 'e', 'f'] };
    st.eligibilities = [elig('e1', 'a', 'root'), elig('e2', 'b', 'root'), elig('e3', 'admins', 'root')];
    st.assignments = [{ id: 'x1', principalId: 'c', roleId: 'root', scope: '/', source: 'activation', startsAt: T0, endsAt: T0 + H }];
    const f = only(run({ events: [], state: st }), 'too_many_holders');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.details.holders, 6);
    assert.deepEqual(f[0]!.principals, ['a', 'b', 'c', 'd', 'e', 'f']);
    // Near miss: five holders (maxHolders 5), and dba is only high tier.
    st.groupMembers = { admins: ['d', 'e'] };
    st.eligibilities.push(...['a', 'b', 'c', 'd', 'e', 'f'].map((p, i) => elig(`d${i}`, p, 'dba')));
    assert.equal(only(run({ events: [], state: st }), 'too_many_holders').length, 0);
    // By share: 2 of 20 users is 10 % (not more); 3 of 20 is.
    const many = emptyState();
    many.principals = Array.from({ length: 20 }, (_, i) => person(`u${i}`));
    many.eligibilities = [elig('s1', 'u0', 'root'), elig('s2', 'u1', 'root')];
    assert.equal(only(run({ events: [], state: many }), 'too_many_holders').length, 0);
    many.eligibilities.push(elig('s3', 'u2', 'root'));
    const byShare = only(run({ events: [], state: many }), 'too_many_holders');
    assert.equal(byShare.length, 1);
    assert.equal(byShare[0]!.details.share, 0.15);
  });

  test('unused_eligibility: not used for 90 days; used recently, or too new to judge, is not', () => {
    const st = emptyState();
    st.eligibilities = [
      elig('old', 'alice', 'dba', { lastUsedAt: T0 - 91 * DAY }),
      elig('never', 'bob', 'dba', { lastUsedAt: null }),
      elig('used', 'carol', 'dba', { lastUsedAt: T0 - 89 * DAY }),
      elig('new', 'dave', 'dba', { lastUsedAt: null, startsAt: T0 - 10 * DAY }),
    ];
    const f = only(run({ events: [], state: st }), 'unused_eligibility');
    assert.deepEqual(f.map((x) => x.dedupeKey).sort(), ['eligibility:never', 'eligibility:old']);
  });

  test('inactive_account: holds access but not signed in for 90 days; signed in, holding nothing, or suspended is not', () => {
    const st = emptyState();
    st.principals = [
      person('gone', { lastSignInAt: T0 - 100 * DAY }),
      person('never', { lastSignInAt: null, createdAt: T0 - 120 * DAY }),
      person('fresh', { lastSignInAt: T0 - 89 * DAY }),
      person('nothing', { lastSignInAt: T0 - 300 * DAY }),
      person('off', { lastSignInAt: T0 - 300 * DAY, status: 'suspended' }),
      { ...person('grp'), kind: 'group' },
      person('member', { lastSignInAt: T0 - 200 * DAY }),
    ];
    st.groupMembers = { grp: ['member'] };
    st.eligibilities = [elig('1', 'gone', 'ops'), elig('2', 'never', 'ops'), elig('3', 'fresh', 'ops'), elig('4', 'off', 'ops'), elig('5', 'grp', 'dba')];
    const f = only(run({ events: [], state: st }), 'inactive_account');
    assert.deepEqual(f.map((x) => x.principals[0]).sort(), ['gone', 'member', 'never']);
  });

  test('service_standing_privilege: a service with a direct high tier assignment; a user, a low tier, or an activation is not', () => {
    const st = emptyState();
    st.principals = [{ ...person('svc'), kind: 'service' }, person('alice'), { ...person('bot'), kind: 'service' }];
    st.assignments = [
      { id: 'a1', principalId: 'svc', roleId: 'dba', scope: '/db', source: 'direct', startsAt: T0 - DAY, endsAt: null },
      { id: 'a2', principalId: 'alice', roleId: 'dba', scope: '/db', source: 'direct', startsAt: T0 - DAY, endsAt: null },
      { id: 'a3', principalId: 'bot', roleId: 'reader', scope: '/', source: 'direct', startsAt: T0 - DAY, endsAt: null },
      { id: 'a4', principalId: 'bot', roleId: 'root', scope: '/', source: 'activation', startsAt: T0 - H, endsAt: T0 + H },
    ];
    const f = only(run({ events: [], state: st }), 'service_standing_privilege');
    assert.deepEqual(f.map((x) => x.dedupeKey), ['assignment:a1']);
  });

  test('alert.* and detection.* events are never read (the scanner does not feed on itself)', () => {
    const own = [0, 1, 2, 3, 4].map((i) => ev('alert.raised', T0 + i, { principalId: 'alice', data: { approverId: 'x' } }));
    assert.deepEqual(run({ events: own }), []);
  });

  test('findings of one rule and key in one batch are merged', () => {
    const s = settings((x) => (x.rules.frequent_activations.max = 2));
    const list = [0, 1, 2, 3, 4].map((i) => activation('alice', T0 + i * MIN));
    const f = only(run({ settings: s, events: list }), 'frequent_activations');
    assert.equal(f.length, 1);
    assert.deepEqual(f[0]!.events, list.map((e) => e.id));
  });
});

describe('detection settings', () => {
  test('defaults for every rule; partial documents keep the rest; the history window covers the longest baseline', () => {
    const d = defaultDetectionSettings();
    assert.equal(Object.keys(d.rules).length, 15);
    for (const r of Object.values(d.rules)) assert.equal(r.enabled, true);
    const s = validateDetectionSettings({ rules: { frequent_activations: { max: 3 } } });
    assert.equal(s.rules.frequent_activations.max, 3);
    assert.equal(s.rules.frequent_activations.windowHours, 24);
    assert.equal(s.rules.collusion.windowHours, 48);
    assert.equal(historyWindowMs(d), 30 * DAY);
  });

  test('bad documents are refused naming the field', () => {
    const field = (input: unknown) => {
      try {
        validateDetectionSettings(input);
      } catch (e) {
        assert.ok(e instanceof Invalid);
        return e.details.field;
      }
      assert.fail('accepted');
    };
    assert.equal(field({ rules: { nope: {} } }), 'rules.nope');
    assert.equal(field({ rules: { frequent_activations: { max: 0 } } }), 'rules.frequent_activations.max');
    assert.equal(field({ rules: { frequent_activations: { max: 2.5 } } }), 'rules.frequent_activations.max');
    assert.equal(field({ rules: { collusion: { severity: 'urgent' } } }), 'rules.collusion.severity');
    assert.equal(field({ rules: { collusion: { enabled: 'yes' } } }), 'rules.collusion.enabled');
    assert.equal(field({ rules: { collusion: { max: 3 } } }), 'rules.collusion.max');
    assert.equal(field({ rules: { too_many_holders: { minTier: 'extreme' } } }), 'rules.too_many_holders.minTier');
    assert.equal(field({ rules: { too_many_holders: { maxShare: 1.5 } } }), 'rules.too_many_holders.maxShare');
    assert.equal(field({ rules: [] }), 'rules');
    assert.equal(field({ extra: 1 }), 'extra');
    // Names every object inherits are not rules or fields (they once got through to a TypeError: a 500).
    assert.equal(field({ rules: { direct_assignment: { toString: 1 } } }), 'rules.direct_assignment.toString');
    assert.equal(field({ rules: { toString: { length: 1 } } }), 'rules.toString');
    assert.equal(field({ rules: { constructor: { name: 'x' } } }), 'rules.constructor');
    assert.equal(field({ rules: { hasOwnProperty: {} } }), 'rules.hasOwnProperty');
  });
});
