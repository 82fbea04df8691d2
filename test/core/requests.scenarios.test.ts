import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActivationRequest, Approval, Eligibility, Principal, RequestStatus } from '../../src/core/model.js';
import {
  evaluateActivation,
  grantWithoutApproval,
  stageApprovers,
  transition,
  type ActivationInput,
  type DirectoryView,
  type GrantEffect,
  type RequestEvent,
  type TransitionContext,
} from '../../src/core/requests.js';
import { effectiveSettings, normalizeSettings, type EffectiveSettings, type RiskTier } from '../../src/core/settings.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Wednesday 2024-03-06 10:00 UTC, 11:00 in Berlin. */
const T0 = Date.parse('2024-03-06T10:00:00Z');
const MIN_ACTIVATION = 5 * MIN;

// ------------------------------------------------------------------------------------ fixtures

function person(id: string, patch: Partial<Principal> = {}): Principal {
  return {
    id,
    kind: 'user',
    name: id,
    email: `${id}@example.test`,
    managerId: null,
    adminUnit: null,
    attributes: {},
    status: 'active',
    createdAt: T0 - 30 * DAY,
    updatedAt: T0 - 30 * DAY,
    ...patch,
  };
}

function settings(input: unknown, tier: RiskTier = 'high'): EffectiveSettings {
  return effectiveSettings(normalizeSettings(input, tier, MIN_ACTIVATION));
}

function eligibility(patch: Partial<Eligibility> = {}): Eligibility {
  return {
    id: 'el-1',
    principalId: 'alice',
    roleId: 'db-admin',
    scope: '/prod',
    startsAt: T0 - 10 * DAY,
    endsAt: null,
    justification: 'on-call DBA rotation',
    createdBy: 'admin',
    createdAt: T0 - 10 * DAY,
    removedAt: null,
    ...patch,
  };
}

function request(patch: Partial<ActivationRequest> = {}): ActivationRequest {
  return {
    id: 'req-1',
    kind: 'activate',
    principalId: 'alice',
    roleId: 'db-admin',
    scope: '/prod/payments',
    durationMs: HOUR,
    justification: 'Investigating INC-1234 replication lag',
    ticket: 'INC-1234',
    startAt: null,
    status: 'pending_approval',
    stage: 0,
    timeoutAt: T0 + 8 * HOUR,
    assignmentId: null,
    eligibilityId: 'el-1',
    reasons: [],
    context: { auth: { method: 'token', tokenId: 'tok-1', sessionId: null, signIn: null, mfa: [], authenticatedAt: T0 - MIN }, sourceIp: null, userAgent: null },
    createdAt: T0 - MIN,
    updatedAt: T0 - MIN,
    ...patch,
  };
}

/** Make mutation of inputs throw: transitions are pure and must not touch what they are given. */
function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !(v instanceof RegExp) && !(v instanceof Set) && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const stored = (approverId: string, stage: number, id: string): Approval => ({
  id,
  requestId: 'req-1',
  approverId,
  decision: 'approve',
  reason: 'ok',
  stage,
  adminUnit: null,
  createdAt: T0 - MIN,
});
const approve = (approverId: string, adminUnit: string | null = null): RequestEvent => ({ type: 'approve', approverId, approverAdminUnit: adminUnit, reason: 'looks right', approvalId: `ap-${approverId}` });
const deny = (approverId: string): RequestEvent => ({ type: 'deny', approverId, approverAdminUnit: null, reason: 'not during the freeze', approvalId: `dn-${approverId}` });

const S = {
  none: settings({ maxActivation: 'PT4H' }),
  one: settings({ maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT8H' } }),
  twoOfThree: settings({ maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'carol' }, { principal: 'dave' }], minApprovals: 2, timeout: 'PT8H' } }),
  staged: settings({
    maxActivation: 'PT4H',
    approval: { required: true, stages: [{ approvers: [{ principal: 'bob' }] }, { approvers: [{ principal: 'erin' }] }], timeout: 'PT8H' },
  }),
  threeOfThree: settings({ maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'carol' }, { principal: 'dave' }], minApprovals: 3, timeout: 'PT8H' } }),
  stagedQuorum: settings({
    maxActivation: 'PT4H',
    approval: { required: true, stages: [{ approvers: [{ principal: 'bob' }] }, { approvers: [{ principal: 'erin' }, { principal: 'dave' }], minApprovals: 2 }], timeout: 'PT8H' },
  }),
  units: settings({
    maxActivation: 'PT4H',
    approval: { required: true, approvers: [{ principal: 'bob' }, { principal: 'frank' }, { principal: 'carol' }], minApprovals: 2, distinctAdminUnits: true, timeout: 'PT8H' },
  }),
};
const APPROVERS = {
  none: [] as string[][],
  one: [['bob']],
  twoOfThree: [['bob', 'carol', 'dave']],
  staged: [['bob'], ['erin']],
  threeOfThree: [['bob', 'carol', 'dave']],
  stagedQuorum: [['bob'], ['erin', 'dave']],
  units: [['bob', 'frank', 'carol']],
};

const ACTIVE_ASSIGNMENT = { id: 'as-1', startsAt: T0 - 10 * MIN, endsAt: T0 + 50 * MIN, status: 'active' };
const SCHEDULED_ASSIGNMENT = { id: 'as-1', startsAt: T0 + 2 * HOUR, endsAt: T0 + 3 * HOUR, status: 'scheduled' };

// ------------------------------------------------------------------------------------ scenario tables

type Expect =
  | { ok: true; status: RequestStatus; stage?: number; effect?: GrantEffect; reasons?: string[] }
  | { ok: false; code: string; kind?: 'forbidden' | 'conflict'; next?: RequestStatus };

interface Step {
  at: number;
  event: RequestEvent;
  expect: Expect;
  /** Facts that changed before this step (the eligibility ended, the assignment moved on …). */
  ctx?: Partial<TransitionContext>;
}

interface Scenario {
  name: string;
  setup: {
    request?: Partial<ActivationRequest>;
    settings: keyof typeof S;
    eligibility?: Eligibility | null;
    assignment?: TransitionContext['assignment'];
    /** Approvals already stored when the scenario begins. */
    approvals?: Approval[];
  };
  steps: Step[];
}

function runScenario(sc: Scenario): void {
  let r = deepFreeze(request(sc.setup.request));
  const approvals: Approval[] = [...(sc.setup.approvals ?? [])];
  const base: TransitionContext = {
    settings: S[sc.setup.settings],
    stageApprovers: APPROVERS[sc.setup.settings].map((l) => new Set(l)),
    approvals: [],
    eligibility: sc.setup.eligibility === undefined ? eligibility() : sc.setup.eligibility,
    assignment: sc.setup.assignment ?? null,
  };
  sc.steps.forEach((step, i) => {
    const where = `${sc.name}, step ${i + 1} (${step.event.type})`;
    const ctx = deepFreeze({ ...base, approvals: [...approvals], ...step.ctx });
    const res = transition(r, step.event, ctx, step.at);
    const e = step.expect;
    assert.equal(res.ok, e.ok, `${where}: ${res.ok ? `moved to ${res.next.status}` : `refused ${res.code}`}`);
    if (res.ok && e.ok) {
      assert.equal(res.next.status, e.status, `${where}: status`);
      assert.equal(res.next.updatedAt, step.at, `${where}: updatedAt`);
      assert.equal(res.next.id, r.id, `${where}: same request`);
      if (e.stage !== undefined) assert.equal(res.next.stage, e.stage, `${where}: stage`);
      if (e.effect) assert.deepEqual(res.effect, e.effect, `${where}: effect`);
      if (e.reasons) assert.deepEqual(res.next.reasons, e.reasons, `${where}: reasons`);
      if (step.event.type === 'approve' || step.event.type === 'deny') {
        assert.ok(res.approval, `${where}: a recorded decision carries the approval`);
        assert.equal(res.approval.approverId, step.event.approverId);
        assert.equal(res.approval.decision, step.event.type);
        assert.equal(res.approval.stage, r.stage, `${where}: the approval counts for the stage that was open`);
        approvals.push(res.approval);
      }
      r = deepFreeze(res.next);
    } else if (!res.ok && !e.ok) {
      assert.equal(res.code, e.code, `${where}: code`);
      assert.ok(res.reasons.includes(e.code), `${where}: reasons carry the code`);
      if (e.kind) assert.equal(res.kind, e.kind, `${where}: kind`);
      assert.equal(res.next?.status, e.next, `${where}: a refusal moves the request only when it says so`);
      if (step.event.type === 'approve' || step.event.type === 'deny') {
        // Denials are audited too.
        assert.ok(
          res.events.some((d) => d.outcome === 'denied' && d.reasons.includes(e.code)),
          `${where}: a refused decision produces a denied audit draft`,
        );
      }
      if (res.next) r = deepFreeze(res.next);
    }
  });
}

const PENDING = { status: 'pending_approval' as const };
const ACTIVE = { status: 'active' as const, stage: 1, assignmentId: 'as-1', timeoutAt: null };
const SCHEDULED = { status: 'scheduled' as const, stage: 1, assignmentId: 'as-1', timeoutAt: null, startAt: T0 + 2 * HOUR };

const scenarios: Scenario[] = [
  // ---- approve / deny
  {
    name: 'one approval activates at once, for the requested duration',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'active', stage: 1, effect: { kind: 'grant', startsAt: T0, endsAt: T0 + HOUR } } }],
  },
  {
    name: 'approval of a request with a future start schedules it',
    setup: { settings: 'one', request: { ...PENDING, startAt: T0 + 2 * HOUR } },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'scheduled', effect: { kind: 'grant', startsAt: T0 + 2 * HOUR, endsAt: T0 + 3 * HOUR } } }],
  },
  {
    name: 'approval caps the grant at the end of the eligibility',
    setup: { settings: 'one', request: PENDING, eligibility: eligibility({ endsAt: T0 + 20 * MIN }) },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'active', effect: { kind: 'grant', startsAt: T0, endsAt: T0 + 20 * MIN } } }],
  },
  {
    name: 'deny → denied',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0, event: deny('bob'), expect: { ok: true, status: 'denied', effect: { kind: 'none' }, reasons: ['approver_denied'] } },
      { at: T0 + 1, event: approve('carol'), expect: { ok: false, code: 'request_not_pending', kind: 'conflict' } },
    ],
  },
  {
    name: 'one deny in a 2-of-3 quorum denies the request',
    setup: { settings: 'twoOfThree', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval' } },
      { at: T0 + 1, event: deny('carol'), expect: { ok: true, status: 'denied' } },
      { at: T0 + 2, event: approve('dave'), expect: { ok: false, code: 'request_not_pending' } },
    ],
  },
  {
    name: 'approve after the timeout → refused request_timed_out, and the request moves to timed_out',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0 + 8 * HOUR, event: approve('bob'), expect: { ok: false, code: 'request_timed_out', kind: 'conflict', next: 'timed_out' } },
      { at: T0 + 9 * HOUR, event: approve('bob'), expect: { ok: false, code: 'request_timed_out' } },
    ],
  },
  {
    name: 'approve one millisecond before the timeout still counts',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0 + 8 * HOUR - 1, event: approve('bob'), expect: { ok: true, status: 'active' } }],
  },
  {
    name: 'deny after the timeout is refused too',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0 + 8 * HOUR + 1, event: deny('bob'), expect: { ok: false, code: 'request_timed_out', next: 'timed_out' } }],
  },
  {
    name: 'the same approver approving twice → already_decided',
    setup: { settings: 'twoOfThree', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval' } },
      { at: T0 + MIN, event: approve('bob'), expect: { ok: false, code: 'already_decided', kind: 'conflict' } },
      { at: T0 + 2 * MIN, event: deny('bob'), expect: { ok: false, code: 'already_decided' } },
    ],
  },
  {
    name: 'the requester approving their own request → self_approval',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0, event: approve('alice'), expect: { ok: false, code: 'self_approval', kind: 'forbidden' } },
      { at: T0, event: deny('alice'), expect: { ok: false, code: 'self_approval', kind: 'forbidden' } },
    ],
  },
  {
    name: 'self_approval even when the context (wrongly) lists the requester as an approver',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: approve('alice'), ctx: { stageApprovers: [new Set(['alice', 'bob'])] }, expect: { ok: false, code: 'self_approval' } }],
  },
  {
    name: 'self_approval is checked before anything else, even on a finished request',
    setup: { settings: 'one', request: { ...ACTIVE }, assignment: ACTIVE_ASSIGNMENT },
    steps: [{ at: T0, event: approve('alice'), expect: { ok: false, code: 'self_approval' } }],
  },
  {
    name: 'someone who is not an approver → not_an_approver',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: approve('mallory'), expect: { ok: false, code: 'not_an_approver', kind: 'forbidden' } }],
  },
  {
    name: 'approve a request that is already active → request_not_pending',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: false, code: 'request_not_pending' } }],
  },
  {
    name: 'quorum 2-of-3 counts distinct people: one approval keeps it pending, a second person activates',
    setup: { settings: 'twoOfThree', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval', stage: 0, effect: { kind: 'none' } } },
      { at: T0 + MIN, event: approve('bob'), expect: { ok: false, code: 'already_decided' } },
      { at: T0 + 2 * MIN, event: approve('dave'), expect: { ok: true, status: 'active', stage: 1, effect: { kind: 'grant', startsAt: T0 + 2 * MIN, endsAt: T0 + 2 * MIN + HOUR } } },
      { at: T0 + 3 * MIN, event: approve('carol'), expect: { ok: false, code: 'request_not_pending' } },
    ],
  },
  {
    name: 'sequential stages: a stage-2 approver before stage 1 completes → stage_not_reached',
    setup: { settings: 'staged', request: PENDING },
    steps: [
      { at: T0, event: approve('erin'), expect: { ok: false, code: 'stage_not_reached', kind: 'forbidden' } },
      { at: T0 + MIN, event: approve('bob'), expect: { ok: true, status: 'pending_approval', stage: 1, effect: { kind: 'none' } } },
      { at: T0 + 2 * MIN, event: approve('erin'), expect: { ok: true, status: 'active', stage: 2, effect: { kind: 'grant', startsAt: T0 + 2 * MIN, endsAt: T0 + 2 * MIN + HOUR } } },
    ],
  },
  {
    name: 'quorum counts distinct people even when one person\'s approval was stored twice',
    setup: { settings: 'threeOfThree', request: PENDING, approvals: [stored('bob', 0, 'ap-1'), stored('bob', 0, 'ap-2')] },
    steps: [
      { at: T0, event: approve('carol'), expect: { ok: true, status: 'pending_approval', stage: 0 } },
      { at: T0 + MIN, event: approve('dave'), expect: { ok: true, status: 'active' } },
    ],
  },
  {
    name: 'a stage quorum counts only approvals given in that stage',
    setup: { settings: 'stagedQuorum', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval', stage: 1 } },
      { at: T0 + MIN, event: approve('erin'), expect: { ok: true, status: 'pending_approval', stage: 1 } },
      { at: T0 + 2 * MIN, event: approve('dave'), expect: { ok: true, status: 'active', stage: 2 } },
    ],
  },
  {
    name: 'sequential stages: a stage-1 approver cannot also approve stage 2',
    setup: { settings: 'staged', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval', stage: 1 } },
      { at: T0 + MIN, event: approve('bob'), expect: { ok: false, code: 'not_an_approver' } },
    ],
  },
  {
    name: 'sequential stages: a denial in stage 2 denies',
    setup: { settings: 'staged', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'pending_approval', stage: 1 } },
      { at: T0 + MIN, event: deny('erin'), expect: { ok: true, status: 'denied' } },
    ],
  },
  {
    name: 'distinctAdminUnits: a second approver from the same unit → admin_unit_already_counted; another unit completes it',
    setup: { settings: 'units', request: PENDING },
    steps: [
      { at: T0, event: approve('bob', 'eu'), expect: { ok: true, status: 'pending_approval' } },
      { at: T0 + MIN, event: approve('frank', 'eu'), expect: { ok: false, code: 'admin_unit_already_counted', kind: 'forbidden' } },
      { at: T0 + 2 * MIN, event: approve('carol', 'us'), expect: { ok: true, status: 'active' } },
    ],
  },
  {
    name: 'distinctAdminUnits: an approver with no unit → admin_unit_missing',
    setup: { settings: 'units', request: PENDING },
    steps: [
      { at: T0, event: approve('bob', null), expect: { ok: false, code: 'admin_unit_missing' } },
      { at: T0, event: approve('bob', 'eu'), expect: { ok: true, status: 'pending_approval' } },
    ],
  },
  {
    name: 'approval when the eligibility ended meanwhile → activation_failed (not_eligible)',
    setup: { settings: 'one', request: PENDING, eligibility: eligibility({ endsAt: T0 + HOUR }) },
    steps: [{ at: T0 + HOUR, event: approve('bob'), expect: { ok: true, status: 'activation_failed', effect: { kind: 'none' }, reasons: ['not_eligible'] } }],
  },
  {
    name: 'approval when the eligibility was removed meanwhile → activation_failed (not_eligible)',
    setup: { settings: 'one', request: PENDING, eligibility: null },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'activation_failed', reasons: ['not_eligible'] } }],
  },
  {
    name: 'approval of a scheduled start beyond the eligibility end → activation_failed',
    setup: { settings: 'one', request: { ...PENDING, startAt: T0 + 3 * HOUR }, eligibility: eligibility({ endsAt: T0 + 2 * HOUR }) },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'activation_failed', reasons: ['eligibility_ends_before_start'] } }],
  },

  // ---- cancel
  {
    name: 'the requester cancels a pending request → cancelled',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0, event: { type: 'cancel', actorId: 'alice' }, expect: { ok: true, status: 'cancelled', effect: { kind: 'none' } } },
      { at: T0 + 1, event: approve('bob'), expect: { ok: false, code: 'request_not_pending' } },
    ],
  },
  {
    name: 'someone else cannot cancel → not_requester',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: { type: 'cancel', actorId: 'bob' }, expect: { ok: false, code: 'not_requester', kind: 'forbidden' } }],
  },
  {
    name: 'cancel after approval (active) is refused → invalid_state',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'active' } },
      { at: T0 + MIN, event: { type: 'cancel', actorId: 'alice' }, expect: { ok: false, code: 'invalid_state', kind: 'conflict' } },
    ],
  },
  {
    name: 'cancel an active grant → invalid_state (deactivate it instead)',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [{ at: T0, event: { type: 'cancel', actorId: 'alice' }, expect: { ok: false, code: 'invalid_state' } }],
  },
  {
    name: 'cancel a scheduled grant before it starts → cancelled, assignment ended',
    setup: { settings: 'one', request: SCHEDULED, assignment: SCHEDULED_ASSIGNMENT },
    steps: [{ at: T0, event: { type: 'cancel', actorId: 'alice' }, expect: { ok: true, status: 'cancelled', effect: { kind: 'end', assignmentId: 'as-1', status: 'deactivated' } } }],
  },
  {
    name: 'cancel a denied request → invalid_state',
    setup: { settings: 'one', request: { status: 'denied' } },
    steps: [{ at: T0, event: { type: 'cancel', actorId: 'alice' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- timeout job
  {
    name: 'timeout before it is due → not_due; at the timeout → timed_out',
    setup: { settings: 'one', request: PENDING },
    steps: [
      { at: T0 + 8 * HOUR - 1, event: { type: 'timeout' }, expect: { ok: false, code: 'not_due', kind: 'conflict' } },
      { at: T0 + 8 * HOUR, event: { type: 'timeout' }, expect: { ok: true, status: 'timed_out', effect: { kind: 'none' } } },
      { at: T0 + 9 * HOUR, event: { type: 'timeout' }, expect: { ok: false, code: 'invalid_state' } },
      { at: T0 + 9 * HOUR, event: approve('bob'), expect: { ok: false, code: 'request_timed_out' } },
    ],
  },
  {
    name: 'timeout of an active request → invalid_state',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [{ at: T0 + 100 * HOUR, event: { type: 'timeout' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- scheduled start
  {
    name: 'scheduled → start before its time → not_due; at its time → active',
    setup: { settings: 'one', request: SCHEDULED, assignment: SCHEDULED_ASSIGNMENT },
    steps: [
      { at: T0 + 2 * HOUR - 1, event: { type: 'start' }, expect: { ok: false, code: 'not_due' } },
      { at: T0 + 2 * HOUR, event: { type: 'start' }, expect: { ok: true, status: 'active', effect: { kind: 'start', assignmentId: 'as-1' } } },
      { at: T0 + 2 * HOUR + 1, event: { type: 'start' }, expect: { ok: false, code: 'invalid_state' } },
    ],
  },
  {
    name: 'approve with a future start, then the start event activates it',
    setup: { settings: 'one', request: { ...PENDING, startAt: T0 + 2 * HOUR, assignmentId: 'as-1' } },
    steps: [
      { at: T0, event: approve('bob'), expect: { ok: true, status: 'scheduled', effect: { kind: 'grant', startsAt: T0 + 2 * HOUR, endsAt: T0 + 3 * HOUR } } },
      { at: T0 + 2 * HOUR, event: { type: 'start' }, ctx: { assignment: SCHEDULED_ASSIGNMENT }, expect: { ok: true, status: 'active' } },
    ],
  },
  {
    name: 'start of a pending request → invalid_state',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: { type: 'start' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- expire
  {
    name: 'expire before the end → not_due; at the end → expired',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [
      { at: T0 + 50 * MIN - 1, event: { type: 'expire' }, expect: { ok: false, code: 'not_due', kind: 'conflict' } },
      { at: T0 + 50 * MIN, event: { type: 'expire' }, expect: { ok: true, status: 'expired', effect: { kind: 'end', assignmentId: 'as-1', status: 'expired' } } },
      { at: T0 + 51 * MIN, event: { type: 'expire' }, expect: { ok: false, code: 'invalid_state' } },
    ],
  },
  {
    name: 'expire a permanent assignment → not_due, ever',
    setup: { settings: 'one', request: ACTIVE, assignment: { ...ACTIVE_ASSIGNMENT, endsAt: null } },
    steps: [{ at: T0 + 1000 * DAY, event: { type: 'expire' }, expect: { ok: false, code: 'not_due' } }],
  },
  {
    name: 'expire a pending request → invalid_state',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0 + DAY, event: { type: 'expire' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- deactivate
  {
    name: 'deactivate by someone who is not the holder → not_holder; by the holder → deactivated',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [
      { at: T0, event: { type: 'deactivate', actorId: 'bob' }, expect: { ok: false, code: 'not_holder', kind: 'forbidden' } },
      { at: T0 + MIN, event: { type: 'deactivate', actorId: 'alice' }, expect: { ok: true, status: 'deactivated', effect: { kind: 'end', assignmentId: 'as-1', status: 'deactivated' } } },
      { at: T0 + 2 * MIN, event: { type: 'deactivate', actorId: 'alice' }, expect: { ok: false, code: 'invalid_state' } },
    ],
  },
  {
    name: 'deactivate a scheduled grant → deactivated',
    setup: { settings: 'one', request: SCHEDULED, assignment: SCHEDULED_ASSIGNMENT },
    steps: [{ at: T0, event: { type: 'deactivate', actorId: 'alice' }, expect: { ok: true, status: 'deactivated' } }],
  },
  {
    name: 'deactivate a pending request → invalid_state',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: { type: 'deactivate', actorId: 'alice' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- revoke
  {
    name: 'revoke an active grant → revoked; revoking again → invalid_state',
    setup: { settings: 'one', request: ACTIVE, assignment: ACTIVE_ASSIGNMENT },
    steps: [
      { at: T0, event: { type: 'revoke', actorId: 'admin', reason: 'suspicious queries' }, expect: { ok: true, status: 'revoked', effect: { kind: 'end', assignmentId: 'as-1', status: 'revoked' } } },
      { at: T0 + 1, event: { type: 'revoke', actorId: 'admin', reason: 'again' }, expect: { ok: false, code: 'invalid_state' } },
      { at: T0 + 2, event: { type: 'expire' }, expect: { ok: false, code: 'invalid_state' } },
    ],
  },
  {
    name: 'revoke a scheduled grant → revoked',
    setup: { settings: 'one', request: SCHEDULED, assignment: SCHEDULED_ASSIGNMENT },
    steps: [{ at: T0, event: { type: 'revoke', actorId: 'admin', reason: 'change freeze' }, expect: { ok: true, status: 'revoked' } }],
  },
  {
    name: 'revoke a pending request → invalid_state (deny it instead)',
    setup: { settings: 'one', request: PENDING },
    steps: [{ at: T0, event: { type: 'revoke', actorId: 'admin', reason: 'x' }, expect: { ok: false, code: 'invalid_state' } }],
  },

  // ---- extensions
  {
    name: 'an extension never shortens: the assignment already ends later than now + duration',
    setup: { settings: 'one', request: { ...PENDING, kind: 'extend', assignmentId: 'as-1' }, assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0 + 3 * HOUR, status: 'active' } },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'active', effect: { kind: 'extend', assignmentId: 'as-1', endsAt: T0 + 3 * HOUR } } }],
  },
  {
    name: 'an extension moves the end to now + duration',
    setup: { settings: 'one', request: { ...PENDING, kind: 'extend', assignmentId: 'as-1' }, assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0 + 10 * MIN, status: 'active' } },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'active', effect: { kind: 'extend', assignmentId: 'as-1', endsAt: T0 + HOUR } } }],
  },
  {
    name: 'an extension is capped at the eligibility end, but never below the current end',
    setup: {
      settings: 'one',
      request: { ...PENDING, kind: 'extend', assignmentId: 'as-1' },
      eligibility: eligibility({ endsAt: T0 + 20 * MIN }),
      assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0 + 30 * MIN, status: 'active' },
    },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'active', effect: { kind: 'extend', assignmentId: 'as-1', endsAt: T0 + 30 * MIN } } }],
  },
  {
    name: 'an extension of an assignment that ended meanwhile → activation_failed (assignment_not_active)',
    setup: { settings: 'one', request: { ...PENDING, kind: 'extend', assignmentId: 'as-1' }, assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0, status: 'active' } },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'activation_failed', reasons: ['assignment_not_active'] } }],
  },
  {
    name: 'an extension of a revoked assignment → activation_failed (assignment_not_active)',
    setup: { settings: 'one', request: { ...PENDING, kind: 'extend', assignmentId: 'as-1' }, assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0 + HOUR, status: 'revoked' } },
    steps: [{ at: T0, event: approve('bob'), expect: { ok: true, status: 'activation_failed', reasons: ['assignment_not_active'] } }],
  },
];

describe('transition(): scenario table', () => {
  for (const sc of scenarios) it(sc.name, () => runScenario(sc));
});

describe('grantWithoutApproval()', () => {
  const ctx = (patch: Partial<TransitionContext> = {}): TransitionContext =>
    deepFreeze({ settings: S.none, stageApprovers: [], approvals: [], eligibility: eligibility(), assignment: null, ...patch });

  it('grants at once for the requested duration', () => {
    const res = grantWithoutApproval(deepFreeze(request({ status: 'active', timeoutAt: null })), ctx(), T0);
    assert.equal(res.ok, true);
    assert.ok(res.ok);
    assert.deepEqual(res.effect, { kind: 'grant', startsAt: T0, endsAt: T0 + HOUR });
    assert.equal(res.next.status, 'active');
  });

  it('refuses when the eligibility is gone', () => {
    const res = grantWithoutApproval(deepFreeze(request()), ctx({ eligibility: null }), T0);
    assert.equal(res.ok, false);
    assert.ok(!res.ok);
    assert.equal(res.code, 'not_eligible');
  });

  it('an extension without approval never shortens either', () => {
    const res = grantWithoutApproval(
      deepFreeze(request({ kind: 'extend', assignmentId: 'as-1', durationMs: 30 * MIN })),
      ctx({ assignment: { id: 'as-1', startsAt: T0 - HOUR, endsAt: T0 + 2 * HOUR, status: 'active' } }),
      T0,
    );
    assert.ok(res.ok);
    assert.deepEqual(res.effect, { kind: 'extend', assignmentId: 'as-1', endsAt: T0 + 2 * HOUR });
  });
});

// ------------------------------------------------------------------------------------ approvers

describe('stageApprovers()', () => {
  const alice = person('alice', { managerId: 'mgr', adminUnit: 'eu' });
  const people = new Map<string, Principal>(
    [
      alice,
      person('bob', { adminUnit: 'eu' }),
      person('carol'),
      person('mgr'),
      person('sam', { status: 'suspended' }),
      person('svc', { kind: 'service' }),
      person('dbas', { kind: 'group' }),
      person('leads', { kind: 'group' }),
      person('frozen', { kind: 'group', status: 'suspended' }),
    ].map((p) => [p.id, p]),
  );
  const members: Record<string, string[]> = { dbas: ['alice', 'bob', 'leads', 'sam'], leads: ['carol', 'alice'], frozen: ['carol'] };
  const dir: DirectoryView = {
    principal: (id) => people.get(id) ?? null,
    membersOf: (g) => {
      const out = new Set<string>();
      const walk = (x: string) => {
        for (const m of members[x] ?? []) {
          const p = people.get(m);
          if (!p || p.status !== 'active') continue;
          if (p.kind === 'group') walk(m);
          else out.add(m);
        }
      };
      walk(g);
      return out;
    },
  };

  it('expands groups without the requester, even when the requester is a member (directly or nested)', () => {
    const set = stageApprovers({ approvers: [{ group: 'dbas' }], minApprovals: 1, distinctAdminUnits: false }, alice, dir);
    assert.deepEqual([...set].sort(), ['bob', 'carol']);
    assert.equal(set.has('alice'), false);
  });

  it('never contains the requester, named directly or as their own manager', () => {
    const set = stageApprovers({ approvers: [{ principal: 'alice' }, { principal: 'bob' }, { manager: true }], minApprovals: 1, distinctAdminUnits: false }, alice, dir);
    assert.deepEqual([...set].sort(), ['bob', 'mgr']);
    const selfManaged = person('alice', { managerId: 'alice' });
    assert.deepEqual([...stageApprovers({ approvers: [{ manager: true }], minApprovals: 1, distinctAdminUnits: false }, selfManaged, dir)], []);
  });

  it('leaves out suspended people, suspended groups and unknown principals, and keeps services', () => {
    const set = stageApprovers({ approvers: [{ principal: 'sam' }, { group: 'frozen' }, { principal: 'ghost' }, { principal: 'svc' }], minApprovals: 1, distinctAdminUnits: false }, alice, dir);
    assert.deepEqual([...set], ['svc']);
  });

  it('a requester in the approver group approving → self_approval, and the group leaves too few approvers for a quorum', () => {
    const stage = { approvers: [{ group: 'leads' }], minApprovals: 2, distinctAdminUnits: false };
    const set = stageApprovers(stage, alice, dir);
    assert.deepEqual([...set], ['carol']);
    const s = settings({ approval: { required: true, approvers: [{ group: 'leads' }], minApprovals: 1 } });
    const res = transition(request(), approve('alice'), { settings: s, stageApprovers: [set], approvals: [], eligibility: eligibility(), assignment: null }, T0);
    assert.ok(!res.ok);
    assert.equal(res.code, 'self_approval');
    // At creation, a quorum of two out of a group of {alice, carol} cannot be met without alice.
    const plan = evaluateActivation({ ...cleanInput(), settings: settings({ approval: { required: true, approvers: [{ group: 'leads' }], minApprovals: 2 } }), stageApprovers: [set] });
    assert.deepEqual(plan, { ok: false, reasons: ['insufficient_approvers'] });
  });
});

// ------------------------------------------------------------------------------------ evaluateActivation

const GOOD_JUSTIFICATION = 'Investigating INC-1234 replication lag';
const BERLIN_WORKDAY = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00', timeZone: 'Europe/Berlin' };

function cleanInput(): ActivationInput {
  return {
    requester: person('alice'),
    settings: settings({ maxActivation: 'PT2H', ticket: { required: true, pattern: '^INC-\\d+$' } }),
    scope: '/prod/paymentsX',
    durationMs: HOUR,
    justification: GOOD_JUSTIFICATION,
    ticket: 'INC-1234',
    startAt: null,
    eligibilities: [eligibility({ scope: '/prod' })],
    stageApprovers: [],
    minActivationMs: MIN_ACTIVATION,
    now: T0,
    maxScheduleAheadMs: 14 * DAY,
    caller: { mfa: [], deviceCompliant: null, signInRisk: null, sourceIp: null },
  };
}

const reasonsOf = (i: ActivationInput): string[] => {
  const p = evaluateActivation(i);
  return p.ok ? [] : [...p.reasons].sort();
};

describe('evaluateActivation(): each reason appears when and only when its rule fails', () => {
  // Each dimension: a passing value and the failing values with the reason each must produce.
  type Dim = { name: string; options: { label: string; reason: string | null; apply: (i: ActivationInput, s: Record<string, unknown>) => void }[] };
  const dims: Dim[] = [
    {
      name: 'eligibility',
      options: [
        { label: 'eligible at /prod (covers /prod/paymentsX)', reason: null, apply: () => {} },
        { label: 'eligible at / ', reason: null, apply: (i) => (i.eligibilities = [eligibility({ scope: '/' })]) },
        { label: 'eligible at exactly the scope', reason: null, apply: (i) => (i.eligibilities = [eligibility({ scope: '/prod/paymentsX' })]) },
        { label: 'no eligibility', reason: 'not_eligible', apply: (i) => (i.eligibilities = []) },
        { label: 'eligible at /prod/payments only (sibling-prefix trap)', reason: 'not_eligible', apply: (i) => (i.eligibilities = [eligibility({ scope: '/prod/payments' })]) },
        { label: 'eligible below the scope only', reason: 'not_eligible', apply: (i) => (i.eligibilities = [eligibility({ scope: '/prod/paymentsX/eu' })]) },
        { label: 'eligibility ended exactly now', reason: 'not_eligible', apply: (i) => (i.eligibilities = [eligibility({ endsAt: T0 })]) },
        { label: 'eligibility not started yet', reason: 'not_eligible', apply: (i) => (i.eligibilities = [eligibility({ startsAt: T0 + 1 })]) },
        { label: 'eligibility removed', reason: 'not_eligible', apply: (i) => (i.eligibilities = [eligibility({ removedAt: T0 - 1 })]) },
      ],
    },
    {
      name: 'duration',
      options: [
        { label: '1h', reason: null, apply: () => {} },
        { label: 'exactly the minimum', reason: null, apply: (i) => (i.durationMs = MIN_ACTIVATION) },
        { label: 'exactly the maximum', reason: null, apply: (i) => (i.durationMs = 2 * HOUR) },
        { label: 'below the minimum', reason: 'duration_too_short', apply: (i) => (i.durationMs = MIN_ACTIVATION - 1) },
        { label: 'above the maximum', reason: 'duration_exceeds_max', apply: (i) => (i.durationMs = 2 * HOUR + 1) },
      ],
    },
    {
      name: 'justification',
      options: [
        { label: 'good', reason: null, apply: () => {} },
        { label: 'empty', reason: 'justification_required', apply: (i) => (i.justification = '  ') },
        { label: 'placeholder', reason: 'justification_too_weak', apply: (i) => (i.justification = 'n/a') },
        { label: 'too short', reason: 'justification_too_weak', apply: (i) => (i.justification = 'INC-1 lag') },
      ],
    },
    {
      name: 'ticket',
      options: [
        { label: 'good', reason: null, apply: () => {} },
        { label: 'missing', reason: 'ticket_required', apply: (i) => (i.ticket = null) },
        { label: 'blank', reason: 'ticket_required', apply: (i) => (i.ticket = '   ') },
        { label: 'does not match the pattern', reason: 'ticket_invalid', apply: (i) => (i.ticket = 'JIRA-77') },
      ],
    },
    {
      name: 'window',
      options: [
        { label: 'no windows', reason: null, apply: () => {} },
        { label: 'inside a Berlin workday window', reason: null, apply: (_i, s) => (s.windows = [BERLIN_WORKDAY]) },
        { label: 'weekend-only window', reason: 'outside_activation_window', apply: (_i, s) => (s.windows = [{ ...BERLIN_WORKDAY, days: ['sat', 'sun'] }]) },
      ],
    },
    {
      name: 'approvers',
      options: [
        { label: 'no approval', reason: null, apply: () => {} },
        {
          label: 'approval with enough approvers',
          reason: null,
          apply: (i, s) => {
            s.approval = { required: true, approvers: [{ group: 'dbas' }], minApprovals: 2 };
            i.stageApprovers = [new Set(['bob', 'carol'])];
          },
        },
        {
          label: 'approval with too few approvers',
          reason: 'insufficient_approvers',
          apply: (i, s) => {
            s.approval = { required: true, approvers: [{ group: 'dbas' }], minApprovals: 2 };
            i.stageApprovers = [new Set(['bob'])];
          },
        },
        {
          label: 'approval with nobody left',
          reason: 'insufficient_approvers',
          apply: (i, s) => {
            s.approval = { required: true, approvers: [{ group: 'dbas' }] };
            i.stageApprovers = [new Set()];
          },
        },
      ],
    },
  ];

  it('over every combination of passing and failing rules (exhaustive)', () => {
    let combos = 0;
    const walk = (d: number, chosen: Dim['options']) => {
      if (d === dims.length) {
        combos++;
        const i = cleanInput();
        const s: Record<string, unknown> = { maxActivation: 'PT2H', ticket: { required: true, pattern: '^INC-\\d+$' } };
        for (const o of chosen) o.apply(i, s);
        i.settings = settings(s);
        const expected = [...new Set(chosen.map((o) => o.reason).filter((r): r is string => r !== null))].sort();
        const label = chosen.map((o) => o.label).join(' / ');
        const plan = evaluateActivation(deepFreeze(i));
        if (expected.length === 0) {
          assert.ok(plan.ok, `${label}: expected a plan, got ${JSON.stringify(plan)}`);
          assert.equal(plan.status, 'approval' in s ? 'pending_approval' : 'active', label);
        } else {
          assert.ok(!plan.ok, `${label}: expected ${expected}, got a plan`);
          assert.deepEqual([...plan.reasons].sort(), expected, label);
          assert.equal(new Set(plan.reasons).size, plan.reasons.length, `${label}: no duplicate reasons`);
        }
        return;
      }
      for (const o of dims[d]!.options) walk(d + 1, [...chosen, o]);
    };
    walk(0, []);
    assert.equal(combos, 9 * 5 * 4 * 4 * 3 * 4);
  });

  it('multiple failing rules give multiple reasons', () => {
    const i = { ...cleanInput(), durationMs: 3 * HOUR, justification: 'test', ticket: null, eligibilities: [] };
    assert.deepEqual(reasonsOf(i), ['duration_exceeds_max', 'justification_too_weak', 'not_eligible', 'ticket_required']);
  });

  it('a ticket is optional unless required, but must match the pattern when given', () => {
    const s = settings({ ticket: { required: false, pattern: '^INC-\\d+$' } });
    assert.deepEqual(reasonsOf({ ...cleanInput(), settings: s, ticket: null }), []);
    assert.deepEqual(reasonsOf({ ...cleanInput(), settings: s, ticket: 'CHG-1' }), ['ticket_invalid']);
  });

  it('a justification is optional unless required', () => {
    const s = settings({ justification: { required: false } });
    assert.deepEqual(reasonsOf({ ...cleanInput(), settings: s, ticket: null, justification: '' }), []);
  });
});

describe('evaluateActivation(): who and what', () => {
  it('unknown principal → unknown_principal', () => {
    assert.deepEqual(evaluateActivation({ ...cleanInput(), requester: null }), { ok: false, reasons: ['unknown_principal'] });
  });
  it('suspended principal → principal_suspended, even when everything else is fine', () => {
    assert.deepEqual(evaluateActivation({ ...cleanInput(), requester: person('alice', { status: 'suspended' }) }), { ok: false, reasons: ['principal_suspended'] });
  });
  it('unknown role → unknown_role', () => {
    assert.deepEqual(evaluateActivation({ ...cleanInput(), settings: null }), { ok: false, reasons: ['unknown_role'] });
  });
  it('a group cannot activate', () => {
    assert.deepEqual(evaluateActivation({ ...cleanInput(), requester: person('dbas', { kind: 'group' }) }), { ok: false, reasons: ['groups_cannot_activate'] });
  });
  it('a service principal can activate', () => {
    assert.equal(evaluateActivation({ ...cleanInput(), requester: person('etl', { kind: 'service' }) }).ok, true);
  });
  it('an eligibility held through a group counts', () => {
    assert.equal(evaluateActivation({ ...cleanInput(), eligibilities: [eligibility({ principalId: 'dbas' })] }).ok, true);
  });
});

describe('evaluateActivation(): activation windows in a time zone', () => {
  const at = (iso: string, windows: unknown[]) => reasonsOf({ ...cleanInput(), now: Date.parse(iso), settings: settings({ maxActivation: 'PT2H', ticket: { required: true, pattern: '^INC-\\d+$' }, windows }) });
  const OUT = ['outside_activation_window'];

  it('a Berlin 09:00-17:00 weekday window is read in Berlin time, not UTC', () => {
    assert.deepEqual(at('2024-03-06T08:30:00Z', [BERLIN_WORKDAY]), [], 'Wed 09:30 in Berlin (08:30 UTC) is inside');
    assert.deepEqual(at('2024-03-06T16:30:00Z', [BERLIN_WORKDAY]), OUT, 'Wed 17:30 in Berlin (16:30 UTC) is outside');
    assert.deepEqual(at('2024-03-06T07:59:59Z', [BERLIN_WORKDAY]), OUT, 'Wed 08:59:59 in Berlin is outside');
    assert.deepEqual(at('2024-03-06T08:00:00Z', [BERLIN_WORKDAY]), [], 'Wed 09:00 in Berlin: from is inclusive');
    assert.deepEqual(at('2024-03-06T16:00:00Z', [BERLIN_WORKDAY]), OUT, 'Wed 17:00 in Berlin: to is exclusive');
    assert.deepEqual(at('2024-03-09T10:00:00Z', [BERLIN_WORKDAY]), OUT, 'Saturday is outside');
  });

  it('follows summer time: 07:30 UTC is 09:30 in Berlin in July', () => {
    assert.deepEqual(at('2024-07-05T07:30:00Z', [BERLIN_WORKDAY]), []);
    assert.deepEqual(at('2024-07-05T15:30:00Z', [BERLIN_WORKDAY]), OUT, '17:30 CEST');
  });

  it('a Friday 22:00-06:00 window spans midnight: the morning part belongs to Friday', () => {
    const fridayNight = [{ days: ['fri'], from: '22:00', to: '06:00', timeZone: 'Europe/Berlin' }];
    assert.deepEqual(at('2024-03-08T22:00:00Z', fridayNight), [], 'Fri 23:00 Berlin');
    assert.deepEqual(at('2024-03-08T21:00:00Z', fridayNight), [], 'Fri 22:00 Berlin (inclusive)');
    assert.deepEqual(at('2024-03-09T04:00:00Z', fridayNight), [], 'Sat 05:00 Berlin, still Friday night');
    assert.deepEqual(at('2024-03-09T05:00:00Z', fridayNight), OUT, 'Sat 06:00 Berlin (exclusive)');
    assert.deepEqual(at('2024-03-08T04:00:00Z', fridayNight), OUT, 'Fri 05:00 Berlin belongs to Thursday night');
    assert.deepEqual(at('2024-03-09T22:00:00Z', fridayNight), OUT, 'Sat 23:00 Berlin');
    assert.deepEqual(at('2024-03-08T12:00:00Z', fridayNight), OUT, 'Fri 13:00 Berlin');
  });

  it('any one of several windows is enough', () => {
    const windows = [BERLIN_WORKDAY, { days: ['sat'], from: '10:00', to: '12:00', timeZone: 'America/New_York' }];
    assert.deepEqual(at('2024-03-09T15:30:00Z', windows), [], 'Sat 10:30 in New York');
    assert.deepEqual(at('2024-03-09T18:00:00Z', windows), OUT, 'Sat 13:00 in New York');
  });

  it('a scheduled start is judged at the start, not at the time of the request', () => {
    const s = settings({ maxActivation: 'PT2H', ticket: { required: true, pattern: '^INC-\\d+$' }, windows: [BERLIN_WORKDAY] });
    const friEvening = Date.parse('2024-03-08T18:00:00Z');
    assert.deepEqual(reasonsOf({ ...cleanInput(), settings: s, now: friEvening }), OUT);
    assert.deepEqual(reasonsOf({ ...cleanInput(), settings: s, now: friEvening, startAt: Date.parse('2024-03-11T08:00:00Z') }), [], 'Monday 09:00 Berlin');
  });
});

describe('evaluateActivation(): the plan for a clean request', () => {
  it('no approval → active now, for the requested duration', () => {
    const plan = evaluateActivation(cleanInput());
    assert.deepEqual(plan, { ok: true, status: 'active', startsAt: T0, endsAt: T0 + HOUR, eligibility: eligibility({ scope: '/prod' }), timeoutAt: null });
  });

  it('approval required → pending_approval, timing out after the approval timeout', () => {
    const plan = evaluateActivation({
      ...cleanInput(),
      settings: settings({ maxActivation: 'PT2H', approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT4H' } }),
      stageApprovers: [new Set(['bob'])],
    });
    assert.ok(plan.ok);
    assert.equal(plan.status, 'pending_approval');
    assert.equal(plan.timeoutAt, T0 + 4 * HOUR);
    assert.equal(plan.endsAt, T0 + HOUR);
  });

  it('a future start → scheduled at that start', () => {
    const plan = evaluateActivation({ ...cleanInput(), startAt: T0 + DAY });
    assert.ok(plan.ok);
    assert.equal(plan.status, 'scheduled');
    assert.equal(plan.startsAt, T0 + DAY);
    assert.equal(plan.endsAt, T0 + DAY + HOUR);
  });

  it('endsAt is capped at the eligibility end', () => {
    const plan = evaluateActivation({ ...cleanInput(), eligibilities: [eligibility({ endsAt: T0 + 25 * MIN })] });
    assert.ok(plan.ok);
    assert.equal(plan.endsAt, T0 + 25 * MIN);
  });

  it('of several covering eligibilities, the one that lasts longest is used', () => {
    const short = eligibility({ id: 'el-short', endsAt: T0 + 10 * MIN });
    const long = eligibility({ id: 'el-long', scope: '/', endsAt: null });
    for (const eligibilities of [[short, long], [long, short]]) {
      const plan = evaluateActivation({ ...cleanInput(), eligibilities });
      assert.ok(plan.ok);
      assert.equal(plan.eligibility.id, 'el-long');
      assert.equal(plan.endsAt, T0 + HOUR);
    }
  });

  it('a start inside an eligibility that begins later is allowed', () => {
    const future = eligibility({ startsAt: T0 + HOUR, endsAt: T0 + 5 * HOUR });
    const plan = evaluateActivation({ ...cleanInput(), eligibilities: [future], startAt: T0 + 2 * HOUR });
    assert.ok(plan.ok);
    assert.equal(plan.status, 'scheduled');
    assert.deepEqual(reasonsOf({ ...cleanInput(), eligibilities: [future] }), ['not_eligible'], 'but not now');
  });

  it('scheduling: a start beyond the eligibility end, in the past, or too far ahead is refused', () => {
    assert.deepEqual(reasonsOf({ ...cleanInput(), eligibilities: [eligibility({ endsAt: T0 + HOUR })], startAt: T0 + 2 * HOUR }), ['eligibility_ends_before_start']);
    assert.deepEqual(reasonsOf({ ...cleanInput(), startAt: T0 - 2 * MIN }), ['start_in_past']);
    assert.deepEqual(reasonsOf({ ...cleanInput(), startAt: T0 - 30 * SEC }), [], 'a little clock skew is tolerated');
    assert.deepEqual(reasonsOf({ ...cleanInput(), startAt: T0 + 15 * DAY }), ['start_too_far_ahead']);
  });
});
