import { createHash } from 'node:crypto';
import { canonical } from '../core/audit.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../core/errors.js';
import { normalizeId, parseId } from '../core/ids.js';
import type { ActivationRequest, Principal, Role } from '../core/model.js';
import { evaluateActivation, mfaMetBy, stageApprovers, transition, type AuditDraft, type DirectoryView, type RequestEvent, type TransitionResult } from '../core/requests.js';
import { parseScope } from '../core/scope.js';
import { draft, writeAudit } from './audit-log.js';
import { isAdmin, requireAdmin } from './authz.js';
import { callerFacts, requestContext, type Actor, type AppDeps } from './context.js';
import { applyEffect } from './grants.js';
import { subjectsInTx } from './holders.js';
import type { Tx } from './ports.js';
import { settingsOf } from './roles.js';
import { mfaReason } from '../core/identity.js';
import type { EffectiveSettings } from '../core/settings.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'limits'>;

export interface ActivationInput {
  roleId: string;
  scope: string;
  durationMs: number;
  justification: string;
  ticket?: string | null;
  startAt?: number | null;
}

/** Reason codes in the order a person should fix them; the first one becomes the error code. */
const REASON_ORDER = [
  'unknown_principal', 'principal_suspended', 'groups_cannot_activate', 'unknown_role', 'not_eligible', 'eligibility_ends_before_start',
  'assignment_not_active', 'duration_too_short', 'duration_exceeds_max', 'justification_required', 'justification_too_weak', 'ticket_required',
  'ticket_invalid', 'outside_activation_window', 'start_in_past', 'start_too_far_ahead', 'insufficient_approvers',
  'device_compliance_unknown', 'device_not_compliant', 'sign_in_risk_unknown', 'sign_in_risk_too_high', 'network_not_allowed',
  'mfa_required', 'mfa_too_weak',
];

/** What a person can do about a refusal, by reason code (the API returns it with the denial). */
export const REASON_HELP: Record<string, string> = {
  mfa_required: 'verify with a passkey or an authenticator code (POST /api/v1/me/mfa/webauthn/verify or /totp/verify), or from the CLI run `elevate activate` with --totp or --step-up, then retry',
  mfa_too_weak: 'this role needs a passkey or security key (phishing-resistant MFA); an authenticator code is not enough: verify with WebAuthn and retry',
  device_compliance_unknown: 'sign in through your identity provider from a managed device, so it can report compliance',
  device_not_compliant: 'use a device your organisation marks as compliant',
  sign_in_risk_unknown: 'sign in through your identity provider so it can report the sign-in risk',
  sign_in_risk_too_high: 'your sign-in was rated too risky: sign in again from a trusted place',
  network_not_allowed: 'connect from a network this role allows (for example the corporate VPN)',
};
const byPriority = (a: string, b: string) => (REASON_ORDER.indexOf(a) >>> 0) - (REASON_ORDER.indexOf(b) >>> 0);

export class RequestDenied extends Forbidden {}

/** How the role's MFA rule was met (or not), as the audit trail records it. */
function mfaAudit(s: EffectiveSettings, actor: Actor, now: number): Record<string, unknown> {
  if (s.mfa.required === 'none') return { required: 'none' };
  const by = mfaMetBy(s, callerFacts(actor), now);
  return { required: s.mfa.required, metBy: by ? { method: by.method, at: by.at, credentialId: by.credentialId ?? null } : null };
}

export function makeRequests(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  const directory = (): DirectoryView => ({
    principal: (id) => {
      const p = index.principalInfo(id);
      return p ? ({ ...p, managerId: null } as unknown as Principal) : null;
    },
    membersOf: (g) => index.membersOf(g),
  });

  const approverSets = (role: Role, requester: Principal) => settingsOf(role).approval.stages.map((s) => stageApprovers(s, requester, directory()));

  function subject(r: ActivationRequest) {
    return { principalId: r.principalId, roleId: r.roleId, scope: r.scope, requestId: r.id };
  }

  /** Create an activation (or extension) request, decide it under the role's rules, and grant at once when no approval is needed. */
  async function submit(actor: Actor, input: ActivationInput, kind: 'activate' | 'extend', extendsAssignment: string | null, idempotencyKey: string | null) {
    const roleId = parseId(input.roleId, 'roleId');
    const scope = parseScope(input.scope);
    if (!Number.isFinite(input.durationMs) || input.durationMs <= 0) throw new Invalid('invalid_duration', 'duration must be positive', { field: 'duration' });
    if (idempotencyKey !== null && (idempotencyKey.length === 0 || idempotencyKey.length > 200)) {
      throw new Invalid('invalid_request', 'Idempotency-Key must be 1-200 characters', { field: 'Idempotency-Key' });
    }
    const justification = (input.justification ?? '').trim();
    const ticket = input.ticket?.trim() || null;
    const startAt = input.startAt ?? null;
    const fingerprint = createHash('sha256')
      .update(canonical({ kind, extendsAssignment, roleId, scope, durationMs: input.durationMs, justification, ticket, startAt }))
      .digest('hex');
    const now = clock.now();

    const out = await store.transaction(async (tx) => {
      if (idempotencyKey) {
        const prior = await store.requests.byIdempotencyKey(tx, actor.principalId, idempotencyKey);
        if (prior) {
          if (prior.fingerprint !== fingerprint) throw new Conflict('idempotency_key_reused', 'this Idempotency-Key was used for a different request');
          const granted = prior.request.assignmentId ? await store.assignments.get(tx, prior.request.assignmentId) : null;
          return { request: prior.request, replayed: true, expiresAt: granted ? granted.endsAt : null };
        }
      }
      const requester = await store.principals.get(tx, actor.principalId);
      const role = await store.roles.get(tx, roleId);
      let extraReasons: string[] = [];
      if (kind === 'extend') {
        const a = extendsAssignment ? await store.assignments.get(tx, extendsAssignment) : null;
        if (!a || a.principalId !== actor.principalId || a.roleId !== roleId || a.scope !== scope) throw new NotFound('not_found', 'assignment not found');
        if ((a.status !== 'active' && a.status !== 'scheduled') || (a.endsAt !== null && a.endsAt <= now)) extraReasons = ['assignment_not_active'];
        if (a.source !== 'activation') extraReasons.push('not_extendable');
      }
      const plan = evaluateActivation({
        requester,
        settings: role ? settingsOf(role) : null,
        scope,
        durationMs: input.durationMs,
        justification,
        ticket,
        startAt: kind === 'extend' ? null : startAt,
        eligibilities: requester ? index.eligibilitiesFor(requester.id, roleId) : [],
        stageApprovers: role && requester ? approverSets(role, requester) : [],
        minActivationMs: deps.limits.minActivationMs,
        maxScheduleAheadMs: deps.limits.maxScheduleAheadMs,
        now,
        caller: callerFacts(actor),
      });
      // The index chose the eligibility; confirm it under a row lock, from the database, so a removal
      // (or a membership change) committing at the same moment cannot leave a grant behind.
      if (plan.ok && requester && !(await stillEligible(tx, requester.id, plan.eligibility.id, now))) extraReasons.push('not_eligible');
      const reasons = [...new Set([...(plan.ok ? [] : plan.reasons), ...extraReasons])].sort(byPriority);
      const r: ActivationRequest = {
        id: deps.newId(),
        kind,
        principalId: actor.principalId,
        roleId,
        scope,
        durationMs: input.durationMs,
        justification,
        ticket,
        startAt,
        status: reasons.length ? 'denied' : plan.ok ? plan.status : 'denied',
        stage: 0,
        timeoutAt: plan.ok && reasons.length === 0 ? plan.timeoutAt : null,
        assignmentId: extendsAssignment,
        eligibilityId: plan.ok ? plan.eligibility.id : null,
        reasons,
        context: requestContext(actor),
        createdAt: now,
        updatedAt: now,
      };
      const created = draft(kind === 'extend' ? 'request.extension_created' : 'request.created', r.status === 'denied' ? 'denied' : 'info', {
        durationMs: r.durationMs,
        justification,
        ticket,
        startAt,
        status: r.status,
        assignmentId: extendsAssignment,
        sourceIp: actor.sourceIp,
        mfa: role ? mfaAudit(settingsOf(role), actor, now) : null,
      }, reasons);
      const events: AuditDraft[] = [created];
      if (r.status === 'denied') events.push(draft('request.denied', 'denied', {}, reasons));
      let next = r;
      let grantedEnd: number | null = null;
      if (plan.ok && reasons.length === 0 && r.status !== 'pending_approval') {
        // No approval needed: the grant is made in this same transaction.
        const elig = plan.eligibility;
        if (kind === 'extend') {
          const a = (await store.assignments.get(tx, extendsAssignment!))!;
          let endsAt = now + r.durationMs;
          if (elig.endsAt !== null) endsAt = Math.min(endsAt, elig.endsAt);
          const done = await applyEffect(deps, tx, actor, r, { kind: 'extend', assignmentId: a.id, endsAt }, now);
          next = { ...r, status: 'active', assignmentId: a.id };
          grantedEnd = done?.endsAt ?? null;
          events.push(draft('assignment.extended', 'allowed', { assignmentId: a.id, endsAt: grantedEnd }));
        } else {
          const a = await applyEffect(deps, tx, actor, r, { kind: 'grant', startsAt: plan.startsAt, endsAt: plan.endsAt }, now);
          next = { ...r, assignmentId: a?.id ?? null };
          grantedEnd = a?.endsAt ?? null;
          events.push(draft(r.status === 'active' ? 'assignment.activated' : 'assignment.scheduled', 'allowed', { assignmentId: a?.id, startsAt: a?.startsAt, endsAt: a?.endsAt }));
        }
      }
      await store.requests.insert(tx, next, idempotencyKey ? { key: idempotencyKey, fingerprint } : null);
      await writeAudit(audit, tx, now, actor, subject(next), events);
      return { request: next, replayed: false, expiresAt: grantedEnd };
    });
    if (out.request.status === 'denied' && out.request.reasons.length) {
      const help = out.request.reasons.filter((x) => REASON_HELP[x]).map((x) => `${x}: ${REASON_HELP[x]}`);
    throw new RequestDenied(out.request.reasons[0]!, `activation denied: ${out.request.reasons.join(', ')}${help.length ? `. To fix: ${help.join('; ')}` : ''}`, {
      reasons: out.request.reasons,
      requestId: out.request.id,
    });
    }
    return out;
  }

  /** Run one state-machine event against a request under a row lock, persist the result, audit it. */
  async function act(actor: Actor, id: string, event: (r: ActivationRequest) => RequestEvent): Promise<ActivationRequest> {
    const now = clock.now();
    const result = await store.transaction(async (tx): Promise<{ r: ActivationRequest; res: TransitionResult }> => {
      const r = await store.requests.getForUpdate(tx, id);
      if (!r) throw new NotFound('not_found', `request ${id} not found`);
      const res = await run(tx, actor, r, event(r), now);
      return { r, res };
    });
    if (!result.res.ok) {
      const E = result.res.kind === 'forbidden' ? Forbidden : Conflict;
      throw new E(result.res.code, result.res.message, { reasons: result.res.reasons, requestId: id, status: result.res.next?.status ?? result.r.status });
    }
    return result.res.next;
  }

  /** Is the eligibility still there (row-locked for share) and does the requester still hold it, directly or through a group? */
  async function stillEligible(tx: Tx, requesterId: string, eligibilityId: string, now: number): Promise<boolean> {
    const [e] = await store.eligibilities.lock(tx, [eligibilityId], 'share');
    if (!e || e.removedAt !== null || e.startsAt > now || (e.endsAt !== null && e.endsAt <= now)) return false;
    return e.principalId === requesterId || (await subjectsInTx(store, tx, requesterId)).includes(e.principalId);
  }

  async function run(tx: Tx, actor: Actor, r: ActivationRequest, ev: RequestEvent, now: number): Promise<TransitionResult> {
    const role = await store.roles.get(tx, r.roleId);
    const requester = await store.principals.get(tx, r.principalId);
    const assignment = r.assignmentId ? await store.assignments.get(tx, r.assignmentId) : null;
    if (!role || !requester) {
      // The role or the requester is gone: the request can never be granted. Close it rather than leave it pending.
      const reason = !role ? 'role_deleted' : 'principal_deleted';
      const live = r.status === 'pending_approval';
      const next: ActivationRequest | undefined = live ? { ...r, status: 'cancelled', reasons: [reason], updatedAt: now } : undefined;
      const res: TransitionResult = {
        ok: false, kind: 'conflict', code: 'invalid_state', message: `the request cannot proceed: ${reason.replace('_', ' ')}`, reasons: [reason],
        events: live ? [draft('request.cancelled', 'info', {}, [reason])] : [], ...(next ? { next } : {}),
      };
      if (next) await store.requests.update(tx, next);
      await writeAudit(audit, tx, now, actor, subject(r), res.events);
      return res;
    }
    const decisive = ev.type === 'approve';
    const elig = r.eligibilityId && (!decisive || (await stillEligible(tx, requester.id, r.eligibilityId, now))) ? await store.eligibilities.get(tx, r.eligibilityId) : null;
    const res = transition(r, ev, {
      settings: settingsOf(role),
      stageApprovers: approverSets(role, requester),
      approvals: await store.approvals.forRequest(tx, r.id),
      eligibility: elig && elig.removedAt === null && (elig.endsAt === null || elig.endsAt > now) ? elig : null,
      assignment,
      requesterActive: requester.status === 'active',
      requesterEmail: requester.email,
    }, now);
    const s = settingsOf(role);
    if (res.ok && (ev.type === 'approve' || ev.type === 'deny') && s.mfa.required !== 'none') {
      // Deciding is as privileged as activating: the approver's own fresh MFA, of the role's strength.
      const why = mfaReason(s.mfa.required, actor.auth.mfa, now, s.mfa.freshnessMs);
      const mfa = mfaAudit(s, actor, now);
      if (why) {
        const refused: TransitionResult = {
          ok: false, kind: 'forbidden', code: why, reasons: [why],
          message: `deciding a request for ${role.id} needs your own fresh ${s.mfa.required === 'phishing_resistant' ? 'phishing-resistant ' : ''}MFA: ${REASON_HELP[why]}`,
          events: [draft('request.decision_refused', 'denied', { decision: ev.type, mfa }, [why])],
        };
        await writeAudit(audit, tx, now, actor, subject(r), refused.events);
        return refused;
      }
      res.events = res.events.map((e) => ({ ...e, data: { ...e.data, approverMfa: mfa } }));
    }
    if (!res.ok) {
      if (res.next) await store.requests.update(tx, res.next);
      await writeAudit(audit, tx, now, actor, subject(r), res.events);
      return res;
    }
    if (res.approval) await store.approvals.insert(tx, res.approval);
    const a = await applyEffect(deps, tx, actor, res.next, res.effect, now);
    const next = a && res.effect.kind === 'grant' ? { ...res.next, assignmentId: a.id } : res.next;
    await store.requests.update(tx, next);
    await writeAudit(audit, tx, now, actor, subject(next), res.events);
    return { ...res, next };
  }

  return {
    activate: (actor: Actor, input: ActivationInput, idempotencyKey: string | null) => submit(actor, input, 'activate', null, idempotencyKey),

    async extend(actor: Actor, assignmentId: string, input: { durationMs: number; justification: string; ticket?: string | null }, idempotencyKey: string | null) {
      const a = await store.transaction((tx) => store.assignments.get(tx, assignmentId));
      if (!a || a.principalId !== actor.principalId) throw new NotFound('not_found', 'assignment not found');
      return submit(actor, { ...input, roleId: a.roleId, scope: a.scope }, 'extend', a.id, idempotencyKey);
    },

    async decide(actor: Actor, id: string, decision: 'approve' | 'deny', reason: string): Promise<ActivationRequest> {
      const why = (reason ?? '').trim();
      if (!why) throw new Invalid('reason_required', `a reason is required to ${decision}`, { field: 'reason' });
      const approver = await store.transaction((tx) => store.principals.get(tx, actor.principalId));
      return act(actor, id, () => ({
        type: decision,
        approverId: actor.principalId,
        approverAdminUnit: approver?.adminUnit ?? null,
        approverEmail: approver?.email ?? null,
        reason: why,
        approvalId: deps.newId(),
      }));
    },

    cancel: (actor: Actor, id: string) => act(actor, id, () => ({ type: 'cancel', actorId: actor.principalId })),

    /** Used by jobs: run a system event (timeout, start, expire) against a request already locked in `tx`. */
    run,

    /** A request with its approvals, when its grant ends, and how many approvals the open stage needs. */
    async get(actor: Actor, id: string) {
      const r = await store.transaction(async (tx) => {
        const r = await store.requests.get(tx, id);
        if (!r) return null;
        const a = r.assignmentId ? await store.assignments.get(tx, r.assignmentId) : null;
        const role = await store.roles.get(tx, r.roleId);
        const stage = role ? settingsOf(role).approval.stages[r.stage] : undefined;
        return { request: r, approvals: await store.approvals.forRequest(tx, id), expiresAt: a ? a.endsAt : null, approvalsRequired: stage?.minApprovals ?? null };
      });
      if (!r) throw new NotFound('not_found', `request ${id} not found`);
      if (r.request.principalId !== actor.principalId && !isAdmin(deps, actor.principalId) && !(await canApprove(actor, r.request))) {
        throw new NotFound('not_found', `request ${id} not found`);
      }
      return { ...r, context: r.request.principalId === actor.principalId ? null : await approverContext(actor, r.request) };
    },

    /**
     * `mine`: the caller's own. `approvable` (or a non-admin asking for status pending_approval): the
     * approvals inbox, pending requests the caller may decide, never their own. Anything else: admins.
     */
    async list(actor: Actor, f: { mine?: boolean; approvable?: boolean; status?: string; roleId?: string; principalId?: string; limit: number; after?: string }) {
      const { approvable, ...filter } = f;
      if (f.mine || f.principalId === actor.principalId) return store.transaction((tx) => store.requests.list(tx, { ...filter, principalId: actor.principalId }));
      if (approvable || (f.status === 'pending_approval' && !f.principalId && !isAdmin(deps, actor.principalId))) {
        if (f.status !== undefined && f.status !== 'pending_approval') return [];
        const roleId = f.roleId ? normalizeId(f.roleId) : undefined;
        const principalId = f.principalId ? normalizeId(f.principalId) : undefined;
        const pending = await store.transaction((tx) => store.requests.pending(tx, 1000));
        const out: ActivationRequest[] = [];
        for (const r of pending) {
          if (out.length >= f.limit) break;
          if ((roleId && r.roleId !== roleId) || (principalId && r.principalId !== principalId)) continue;
          if (await canApprove(actor, r)) out.push(r);
        }
        return out;
      }
      await requireAdmin(deps, actor, 'request.list');
      return store.transaction((tx) => store.requests.list(tx, filter));
    },
  };

  /**
   * What an approver needs besides the request: who else may decide its open stage (so the team can
   * split the work), and the requester's recent requests (a burst, or a pattern of denials, is context).
   */
  async function approverContext(actor: Actor, r: ActivationRequest) {
    const { role, requester, recent } = await store.transaction(async (tx) => ({
      role: await store.roles.get(tx, r.roleId),
      requester: await store.principals.get(tx, r.principalId),
      recent: await store.requests.list(tx, { principalId: r.principalId, limit: 200 }),
    }));
    const stage = role && requester && r.status === 'pending_approval' ? approverSets(role, requester)[r.stage] : undefined;
    return {
      otherApprovers: stage ? [...stage].filter((p) => p !== actor.principalId).sort() : [],
      recentRequests: recent
        .filter((x) => x.id !== r.id)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, 5)
        .map((x) => ({ id: x.id, roleId: x.roleId, scope: x.scope, status: x.status, durationMs: x.durationMs, createdAt: x.createdAt })),
    };
  }

  async function canApprove(actor: Actor, r: ActivationRequest): Promise<boolean> {
    if (r.principalId === actor.principalId) return false;
    const { role, requester } = await store.transaction(async (tx) => ({ role: await store.roles.get(tx, r.roleId), requester: await store.principals.get(tx, r.principalId) }));
    if (!role || !requester) return false;
    return approverSets(role, requester).some((s) => s.has(actor.principalId));
  }
}
