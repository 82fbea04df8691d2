import { conditionReasons, freshMfa, mfaReason, type MfaEvidence, type SignInRisk } from './identity.js';
import { checkJustification } from './justification.js';
import { ipInNetworks } from './network.js';
import type { ActivationRequest, Approval, Eligibility, Principal, RequestStatus } from './model.js';
import { TERMINAL_STATUSES } from './model.js';
import { covers } from './scope.js';
import type { ApprovalStage, EffectiveSettings } from './settings.js';
import { inAnyWindow } from './windows.js';

/**
 * The request state machine, after Google PAM's grant lifecycle:
 *   pending_approval → approved → scheduled → active → expired | deactivated | revoked
 *   and denied, cancelled, timed_out, activation_failed.
 * Every function here is pure: (request, event, context, now) → next state + audit drafts + effect.
 * Use cases persist what these return, in one transaction.
 */

export interface AuditDraft {
  type: string;
  outcome: 'allowed' | 'denied' | 'info';
  reasons: string[];
  data: Record<string, unknown>;
}

/** What the use case must do to the assignment after a transition. */
export type GrantEffect =
  | { kind: 'grant'; startsAt: number; endsAt: number }
  | { kind: 'extend'; assignmentId: string; endsAt: number }
  | { kind: 'start'; assignmentId: string }
  | { kind: 'end'; assignmentId: string; status: 'expired' | 'deactivated' | 'revoked' }
  | { kind: 'none' };

export type TransitionResult =
  | { ok: true; next: ActivationRequest; events: AuditDraft[]; effect: GrantEffect; approval?: Approval }
  | {
      ok: false;
      kind: 'forbidden' | 'conflict';
      code: string;
      message: string;
      reasons: string[];
      events: AuditDraft[];
      /** Some refusals still move the request (an approval that arrives after the timeout times it out). */
      next?: ActivationRequest;
    };

// ---------------------------------------------------------------------------------------------
// Evaluating a new activation or extension request
// ---------------------------------------------------------------------------------------------

export interface ActivationInput {
  requester: Principal | null;
  settings: EffectiveSettings | null; // null: unknown role
  scope: string;
  durationMs: number;
  justification: string;
  ticket: string | null;
  startAt: number | null;
  /** Eligibilities of the requester and of every group it is in (transitively), for this role. */
  eligibilities: readonly Eligibility[];
  /** Approvers per stage, requester already removed; empty sets mean the stage cannot be met. */
  stageApprovers: readonly ReadonlySet<string>[];
  minActivationMs: number;
  now: number;
  /** How far ahead a start may be scheduled. */
  maxScheduleAheadMs: number;
  /** What is known about the caller: MFA Elevate verified, and the facts conditions read. */
  caller: CallerFacts;
}

export interface CallerFacts {
  mfa: readonly MfaEvidence[];
  deviceCompliant: boolean | null;
  signInRisk: SignInRisk | null;
  sourceIp: string | null;
}

/** The MFA and condition reasons a role's settings give for this caller now (empty when all are met). */
export function callerReasons(s: EffectiveSettings, c: CallerFacts, now: number): string[] {
  const out: string[] = [];
  const m = mfaReason(s.mfa.required, c.mfa, now, s.mfa.freshnessMs);
  if (m) out.push(m);
  return out.concat(
    conditionReasons(s.conditions, {
      deviceCompliant: c.deviceCompliant,
      signInRisk: c.signInRisk,
      inAllowedNetwork: s.conditions.networks.length === 0 ? null : ipInNetworks(c.sourceIp, s.conditions.networks),
    }),
  );
}

/** The verification that met the role's MFA requirement, for the audit trail (null when none was needed). */
export function mfaMetBy(s: EffectiveSettings, c: CallerFacts, now: number): MfaEvidence | null {
  return s.mfa.required === 'none' ? null : freshMfa(c.mfa, now, s.mfa.freshnessMs).by;
}

export type ActivationPlan =
  | { ok: true; status: 'pending_approval' | 'active' | 'scheduled'; startsAt: number; endsAt: number; eligibility: Eligibility; timeoutAt: number | null }
  | { ok: false; reasons: string[] };

function eligibilityCovering(eligs: readonly Eligibility[], scope: string, at: number): Eligibility | null {
  let best: Eligibility | null = null;
  for (const e of eligs) {
    if (e.removedAt !== null || e.startsAt > at || (e.endsAt !== null && e.endsAt <= at) || !covers(e.scope, scope)) continue;
    // Prefer the one that lasts longest.
    if (!best || (best.endsAt !== null && (e.endsAt === null || e.endsAt > best.endsAt))) best = e;
  }
  return best;
}

/** Check every rule and return all reasons that fail (deny by default), or the plan. */
export function evaluateActivation(i: ActivationInput): ActivationPlan {
  const reasons: string[] = [];
  if (!i.requester) return { ok: false, reasons: ['unknown_principal'] };
  if (i.requester.status !== 'active') return { ok: false, reasons: ['principal_suspended'] };
  if (i.requester.kind === 'group') return { ok: false, reasons: ['groups_cannot_activate'] };
  const s = i.settings;
  if (!s) return { ok: false, reasons: ['unknown_role'] };

  const startsAt = i.startAt === null ? i.now : Math.max(i.startAt, i.now);
  if (i.startAt !== null && i.startAt < i.now - 60_000) reasons.push('start_in_past');
  if (i.startAt !== null && i.startAt - i.now > i.maxScheduleAheadMs) reasons.push('start_too_far_ahead');

  const elig = eligibilityCovering(i.eligibilities, i.scope, i.now) ?? (startsAt > i.now ? eligibilityCovering(i.eligibilities, i.scope, startsAt) : null);
  if (!elig) reasons.push('not_eligible');
  else if (elig.endsAt !== null && elig.endsAt <= startsAt) reasons.push('eligibility_ends_before_start');

  if (i.durationMs < i.minActivationMs) reasons.push('duration_too_short');
  if (i.durationMs > s.maxActivationMs) reasons.push('duration_exceeds_max');

  const j = checkJustification(i.justification, s.justification.required, s.justification.minLength);
  if (j) reasons.push(j);

  const ticket = i.ticket?.trim() ?? '';
  if (ticket === '') {
    if (s.ticket.required) reasons.push('ticket_required');
  } else if (s.ticket.pattern && !s.ticket.pattern.test(ticket)) {
    reasons.push('ticket_invalid');
  }

  if (!inAnyWindow(startsAt, s.windows)) reasons.push('outside_activation_window');
  reasons.push(...callerReasons(s, i.caller, i.now));

  if (s.approval.required) {
    s.approval.stages.forEach((stage, idx) => {
      const people = i.stageApprovers[idx];
      if (!people || people.size < stage.minApprovals) reasons.push('insufficient_approvers');
    });
  }

  if (reasons.length > 0 || !elig) return { ok: false, reasons: [...new Set(reasons)] };
  const endsAt = elig.endsAt === null ? startsAt + i.durationMs : Math.min(startsAt + i.durationMs, elig.endsAt);
  if (s.approval.required) return { ok: true, status: 'pending_approval', startsAt, endsAt, eligibility: elig, timeoutAt: i.now + s.approval.timeoutMs };
  return { ok: true, status: startsAt > i.now ? 'scheduled' : 'active', startsAt, endsAt, eligibility: elig, timeoutAt: null };
}

// ---------------------------------------------------------------------------------------------
// Approvers
// ---------------------------------------------------------------------------------------------

export interface DirectoryView {
  principal(id: string): Principal | null;
  /** Every user or service principal in a group, nested groups expanded. */
  membersOf(groupId: string): Iterable<string>;
}

/**
 * The people who may approve a stage: named principals, group members and the requester's manager,
 * only active users and services, and never the requester (nor the requester through a group).
 */
export function stageApprovers(stage: ApprovalStage, requester: Principal, dir: DirectoryView): Set<string> {
  const out = new Set<string>();
  const add = (id: string) => {
    const p = dir.principal(id);
    if (!p || p.status !== 'active') return;
    if (p.kind === 'group') {
      for (const m of dir.membersOf(p.id)) add(m);
      return;
    }
    if (p.id !== requester.id) out.add(p.id);
  };
  for (const a of stage.approvers) {
    if ('principal' in a) add(a.principal);
    else if ('group' in a) add(a.group);
    else if (requester.managerId) add(requester.managerId);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

export type RequestEvent =
  | { type: 'approve' | 'deny'; approverId: string; approverAdminUnit: string | null; reason: string; approvalId: string; approverEmail?: string | null }
  | { type: 'cancel'; actorId: string }
  | { type: 'timeout' }
  | { type: 'start' }
  | { type: 'expire' }
  | { type: 'deactivate'; actorId: string }
  | { type: 'revoke'; actorId: string; reason: string };

export interface TransitionContext {
  settings: EffectiveSettings;
  /** Approvers per stage (requester removed), resolved when the decision is made. */
  stageApprovers: readonly ReadonlySet<string>[];
  /** Approvals already recorded for this request. */
  approvals: readonly Approval[];
  /** The eligibility still valid at decision time, or null when it has ended or been removed. */
  eligibility: Eligibility | null;
  /** The assignment's current window, for requests that have one. */
  assignment: { id: string; startsAt: number; endsAt: number | null; status: string } | null;
  /** false when the requester has been suspended since asking: nothing is granted then. */
  requesterActive?: boolean;
  /** The requester's email: another principal with the same email is an alias of the same person. */
  requesterEmail?: string | null;
}

const refuse = (kind: 'forbidden' | 'conflict', code: string, message: string, reasons: string[] = [code], events: AuditDraft[] = []): TransitionResult => ({
  ok: false,
  kind,
  code,
  message,
  reasons,
  events,
});

function moved(r: ActivationRequest, status: RequestStatus, now: number, patch: Partial<ActivationRequest> = {}): ActivationRequest {
  return { ...r, ...patch, status, updatedAt: now };
}

function notInState(r: ActivationRequest, action: string): TransitionResult {
  return refuse('conflict', 'invalid_state', `cannot ${action} a request that is ${r.status}`, ['invalid_state']);
}

/** Compute the grant once every stage is approved: start now or at the requested start. */
function grantFor(r: ActivationRequest, ctx: TransitionContext, now: number): { next: ActivationRequest; effect: GrantEffect; events: AuditDraft[] } | { failed: string } {
  if (ctx.requesterActive === false) return { failed: 'principal_suspended' };
  const elig = ctx.eligibility;
  if (!elig || elig.removedAt !== null || (elig.endsAt !== null && elig.endsAt <= now)) return { failed: 'not_eligible' };
  // The role's rules as they are now: a shorter maximum set since the request applies, and so do windows.
  const durationMs = Math.min(r.durationMs, ctx.settings.maxActivationMs);
  if (r.kind === 'extend') {
    const a = ctx.assignment;
    if (!a || (a.status !== 'active' && a.status !== 'scheduled') || (a.endsAt !== null && a.endsAt <= now)) return { failed: 'assignment_not_active' };
    if (!inAnyWindow(now, ctx.settings.windows)) return { failed: 'outside_activation_window' };
    let endsAt = now + durationMs;
    if (elig.endsAt !== null) endsAt = Math.min(endsAt, elig.endsAt);
    if (a.endsAt !== null) endsAt = Math.max(endsAt, a.endsAt); // never cut short
    return {
      next: moved(r, 'active', now),
      effect: { kind: 'extend', assignmentId: a.id, endsAt },
      events: [{ type: 'assignment.extended', outcome: 'allowed', reasons: [], data: { assignmentId: a.id, endsAt } }],
    };
  }
  const startsAt = Math.max(now, r.startAt ?? now);
  if (!inAnyWindow(startsAt, ctx.settings.windows)) return { failed: 'outside_activation_window' };
  let endsAt = startsAt + durationMs;
  if (elig.endsAt !== null) endsAt = Math.min(endsAt, elig.endsAt);
  if (endsAt <= startsAt) return { failed: 'eligibility_ends_before_start' };
  const status = startsAt > now ? 'scheduled' : 'active';
  return {
    next: moved(r, status, now),
    effect: { kind: 'grant', startsAt, endsAt },
    events: [{ type: status === 'active' ? 'assignment.activated' : 'assignment.scheduled', outcome: 'allowed', reasons: [], data: { startsAt, endsAt } }],
  };
}

export function transition(r: ActivationRequest, ev: RequestEvent, ctx: TransitionContext, now: number): TransitionResult {
  switch (ev.type) {
    case 'approve':
    case 'deny':
      return decide(r, ev, ctx, now);
    case 'cancel': {
      if (ev.actorId !== r.principalId) {
        return refuse('forbidden', 'not_requester', 'only the requester can cancel a request', ['not_requester'], [
          { type: 'request.cancel_refused', outcome: 'denied', reasons: ['not_requester'], data: { by: ev.actorId } },
        ]);
      }
      if (r.status === 'pending_approval') {
        return { ok: true, next: moved(r, 'cancelled', now), events: [{ type: 'request.cancelled', outcome: 'info', reasons: [], data: {} }], effect: { kind: 'none' } };
      }
      if (r.status === 'scheduled' && r.assignmentId) {
        return {
          ok: true,
          next: moved(r, 'cancelled', now),
          events: [{ type: 'request.cancelled', outcome: 'info', reasons: [], data: {} }],
          effect: { kind: 'end', assignmentId: r.assignmentId, status: 'deactivated' },
        };
      }
      return notInState(r, 'cancel');
    }
    case 'timeout': {
      if (r.status !== 'pending_approval') return notInState(r, 'time out');
      if (r.timeoutAt === null || now < r.timeoutAt) return refuse('conflict', 'not_due', 'the request has not reached its timeout');
      return { ok: true, next: moved(r, 'timed_out', now), events: [{ type: 'request.timed_out', outcome: 'info', reasons: ['approval_timeout'], data: {} }], effect: { kind: 'none' } };
    }
    case 'start': {
      if (r.status !== 'scheduled' || !r.assignmentId) return notInState(r, 'start');
      if (!ctx.assignment || now < ctx.assignment.startsAt) return refuse('conflict', 'not_due', 'the scheduled start has not come');
      return {
        ok: true,
        next: moved(r, 'active', now),
        events: [{ type: 'assignment.started', outcome: 'info', reasons: [], data: { assignmentId: r.assignmentId } }],
        effect: { kind: 'start', assignmentId: r.assignmentId },
      };
    }
    case 'expire': {
      if ((r.status !== 'active' && r.status !== 'scheduled') || !r.assignmentId) return notInState(r, 'expire');
      const a = ctx.assignment;
      if (!a || a.endsAt === null || now < a.endsAt) return refuse('conflict', 'not_due', 'the grant has not reached its end');
      return { ok: true, next: moved(r, 'expired', now), events: [], effect: { kind: 'end', assignmentId: r.assignmentId, status: 'expired' } };
    }
    case 'deactivate': {
      if (ev.actorId !== r.principalId) return refuse('forbidden', 'not_holder', 'only the holder can deactivate a grant; admins revoke');
      if ((r.status !== 'active' && r.status !== 'scheduled') || !r.assignmentId) return notInState(r, 'deactivate');
      return { ok: true, next: moved(r, 'deactivated', now), events: [], effect: { kind: 'end', assignmentId: r.assignmentId, status: 'deactivated' } };
    }
    case 'revoke': {
      if ((r.status !== 'active' && r.status !== 'scheduled') || !r.assignmentId) return notInState(r, 'revoke');
      return { ok: true, next: moved(r, 'revoked', now), events: [], effect: { kind: 'end', assignmentId: r.assignmentId, status: 'revoked' } };
    }
  }
}

function decide(r: ActivationRequest, ev: Extract<RequestEvent, { type: 'approve' | 'deny' }>, ctx: TransitionContext, now: number): TransitionResult {
  const verb = ev.type === 'approve' ? 'approval' : 'denial';
  const refused = (kind: 'forbidden' | 'conflict', code: string, message: string, next?: ActivationRequest, extra: AuditDraft[] = []): TransitionResult => ({
    ok: false,
    kind,
    code,
    message,
    reasons: [code],
    events: [...extra, { type: `request.${ev.type === 'approve' ? 'approval' : 'denial'}_refused`, outcome: 'denied', reasons: [code], data: { approverId: ev.approverId } }],
    ...(next ? { next } : {}),
  });

  // Separation of duties comes first: the requester never decides their own request, whatever its state.
  const alias = !!ev.approverEmail && !!ctx.requesterEmail && ev.approverEmail === ctx.requesterEmail;
  if (ev.approverId === r.principalId || alias) {
    return refused('forbidden', 'self_approval', alias ? `${ev.approverId} shares the requester's email: the same person cannot decide their own request` : `a requester cannot record an ${verb} of their own request`);
  }
  if (TERMINAL_STATUSES.has(r.status) || r.status !== 'pending_approval') {
    return refused('conflict', r.status === 'timed_out' ? 'request_timed_out' : 'request_not_pending', `the request is ${r.status}, not pending approval`);
  }
  if (r.timeoutAt !== null && now >= r.timeoutAt) {
    const next = moved(r, 'timed_out', now);
    return refused('conflict', 'request_timed_out', 'the request timed out before this decision', next, [
      { type: 'request.timed_out', outcome: 'info', reasons: ['approval_timeout'], data: {} },
    ]);
  }
  const stages = ctx.settings.approval.stages;
  const stage = stages[r.stage];
  const allowed = ctx.stageApprovers[r.stage];
  if (!stage || !allowed) return refused('conflict', 'request_not_pending', 'no approval stage is open');
  if (!allowed.has(ev.approverId)) {
    const later = ctx.stageApprovers.some((set, i) => i > r.stage && set.has(ev.approverId));
    return refused('forbidden', later ? 'stage_not_reached' : 'not_an_approver', later ? `approval stage ${r.stage + 1} must complete first` : 'you are not an approver for this request');
  }
  const inStage = ctx.approvals.filter((a) => a.stage === r.stage);
  if (ctx.approvals.some((a) => a.approverId === ev.approverId)) return refused('conflict', 'already_decided', 'you have already decided this request');
  if (ev.type === 'approve' && stage.distinctAdminUnits) {
    if (!ev.approverAdminUnit) return refused('forbidden', 'admin_unit_missing', 'this stage needs approvers from distinct administrative units, and you have none');
    if (inStage.some((a) => a.decision === 'approve' && a.adminUnit === ev.approverAdminUnit)) {
      return refused('forbidden', 'admin_unit_already_counted', `an approver from administrative unit ${ev.approverAdminUnit} has already approved this stage`);
    }
  }

  const approval: Approval = {
    id: ev.approvalId,
    requestId: r.id,
    approverId: ev.approverId,
    decision: ev.type,
    reason: ev.reason,
    stage: r.stage,
    adminUnit: ev.approverAdminUnit,
    createdAt: now,
  };
  const recorded: AuditDraft = { type: `approval.${ev.type === 'approve' ? 'granted' : 'denied'}`, outcome: 'info', reasons: [], data: { approverId: ev.approverId, stage: r.stage, reason: ev.reason } };

  if (ev.type === 'deny') {
    return {
      ok: true,
      approval,
      next: moved(r, 'denied', now, { reasons: ['approver_denied'] }),
      events: [recorded, { type: 'request.denied', outcome: 'denied', reasons: ['approver_denied'], data: { by: ev.approverId } }],
      effect: { kind: 'none' },
    };
  }
  // Only approvals from people who may still approve this stage count (someone removed from the approver group no longer does).
  const approvers = new Set(inStage.filter((a) => a.decision === 'approve' && allowed.has(a.approverId)).map((a) => a.approverId));
  approvers.add(ev.approverId);
  if (approvers.size < stage.minApprovals) {
    return { ok: true, approval, next: moved(r, 'pending_approval', now), events: [recorded], effect: { kind: 'none' } };
  }
  const nextStage = r.stage + 1;
  if (nextStage < stages.length) {
    return {
      ok: true,
      approval,
      next: moved(r, 'pending_approval', now, { stage: nextStage }),
      events: [recorded, { type: 'request.stage_completed', outcome: 'info', reasons: [], data: { stage: r.stage } }],
      effect: { kind: 'none' },
    };
  }
  const approved = moved(r, 'approved', now, { stage: nextStage });
  const g = grantFor(approved, ctx, now);
  if ('failed' in g) {
    return {
      ok: true,
      approval,
      next: moved(approved, 'activation_failed', now, { reasons: [g.failed] }),
      events: [recorded, { type: 'request.approved', outcome: 'info', reasons: [], data: {} }, { type: 'request.activation_failed', outcome: 'denied', reasons: [g.failed], data: {} }],
      effect: { kind: 'none' },
    };
  }
  return { ok: true, approval, next: g.next, events: [recorded, { type: 'request.approved', outcome: 'allowed', reasons: [], data: {} }, ...g.events], effect: g.effect };
}

/** Grant computation for a request that needs no approval (used at creation). */
export function grantWithoutApproval(r: ActivationRequest, ctx: TransitionContext, now: number): TransitionResult {
  const g = grantFor(r, ctx, now);
  if ('failed' in g) return refuse('forbidden', g.failed, 'the grant could not be made');
  return { ok: true, next: g.next, events: g.events, effect: g.effect };
}
