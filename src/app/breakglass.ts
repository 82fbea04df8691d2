import { Conflict, Forbidden, Invalid, NotFound } from '../core/errors.js';
import { freshMfa } from '../core/identity.js';
import { normalizeId, parseId } from '../core/ids.js';
import { checkJustification } from '../core/justification.js';
import type { Assignment } from '../core/model.js';
import { parseScope } from '../core/scope.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import type { BreakglassReview } from './ports.js';
import { saveAssignment } from './grants.js';
import { settingsOf } from './roles.js';

/**
 * Break-glass: when the IdP is down, designated emergency accounts activate designated roles with a
 * local password plus a passkey, without approval. Every use is a critical audit event, a
 * notification through the outbox, and a review item that stays open until someone else closes it.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'limits'>;

/** How recent the passkey verification must be, at most (a role's own freshness may be shorter). */
const BREAKGLASS_MFA_FRESHNESS_MS = 5 * 60_000;

export interface BreakglassInput {
  roleId: string;
  scope: string;
  durationMs: number;
  justification: string;
}

export function makeBreakglass(deps: Deps) {
  const { store, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  return {
    async designate(actor: Actor, rawId: string): Promise<void> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'breakglass.designate', { principalId: id });
      const now = clock.now();
      await store.transaction(async (tx) => {
        const p = await store.principals.get(tx, id);
        if (!p) throw new NotFound('not_found', `principal ${id} not found`);
        if (p.kind !== 'user') throw new Invalid('not_a_user', 'only users can be break-glass accounts', { field: 'principalId' });
        await store.breakglass.designate(tx, id, actor.principalId, now);
        await writeAudit(audit, tx, now, actor, { principalId: id }, [draft('breakglass.designated', 'info', { severity: 'high' })]);
      });
    },

    async undesignate(actor: Actor, rawId: string): Promise<void> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'breakglass.undesignate', { principalId: id });
      const now = clock.now();
      await store.transaction(async (tx) => {
        if (!(await store.breakglass.isDesignated(tx, id))) throw new NotFound('not_found', `${id} is not a break-glass account`);
        await store.breakglass.undesignate(tx, id);
        await writeAudit(audit, tx, now, actor, { principalId: id }, [draft('breakglass.undesignated', 'info')]);
      });
    },

    async accounts(actor: Actor) {
      await requireAdmin(deps, actor, 'breakglass.list');
      return store.transaction((tx) => store.breakglass.accounts(tx));
    },

    /** Use the glass. Refusals are audited (as critical: someone tried) and answered 403 with every reason. */
    async activate(actor: Actor, input: BreakglassInput): Promise<{ assignment: Assignment; review: BreakglassReview }> {
      const roleId = parseId(input.roleId, 'roleId');
      const scope = parseScope(input.scope);
      if (!Number.isFinite(input.durationMs) || input.durationMs <= 0) throw new Invalid('invalid_duration', 'duration must be positive', { field: 'duration' });
      const justification = (input.justification ?? '').trim();
      const now = clock.now();
      const out = await store.transaction(async (tx) => {
        const reasons: string[] = [];
        const principal = await store.principals.get(tx, actor.principalId);
        const role = await store.roles.get(tx, roleId);
        if (!principal || principal.status !== 'active') reasons.push('principal_suspended');
        if (!(await store.breakglass.isDesignated(tx, actor.principalId))) reasons.push('not_breakglass_account');
        if (actor.auth.method !== 'session' || actor.auth.signIn?.signIn !== 'password') reasons.push('local_sign_in_required');
        const s = role ? settingsOf(role) : null;
        if (!role || !s) reasons.push('unknown_role');
        else {
          if (!s.breakGlass) reasons.push('role_not_breakglass');
          if (input.durationMs > s.maxActivationMs) reasons.push('duration_exceeds_max');
        }
        if (input.durationMs < deps.limits.minActivationMs) reasons.push('duration_too_short');
        const j = checkJustification(justification, true, 10);
        if (j) reasons.push(j);
        const freshness = Math.min(BREAKGLASS_MFA_FRESHNESS_MS, s?.mfa.freshnessMs ?? BREAKGLASS_MFA_FRESHNESS_MS);
        const mfa = freshMfa(actor.auth.mfa, now, freshness);
        if (mfa.strength !== 'phishing_resistant') reasons.push('webauthn_required');
        const subject = { principalId: actor.principalId, roleId, scope };
        if (reasons.length > 0) {
          await writeAudit(audit, tx, now, actor, subject, [draft('breakglass.denied', 'denied', { severity: 'critical', justification, durationMs: input.durationMs, sourceIp: actor.sourceIp }, reasons)]);
          return { refused: reasons };
        }
        const a: Assignment = {
          id: deps.newId(),
          principalId: actor.principalId,
          roleId,
          scope,
          source: 'breakglass',
          requestId: null,
          startsAt: now,
          endsAt: now + input.durationMs,
          status: 'active',
          justification,
          createdBy: actor.principalId,
          createdAt: now,
          endedAt: null,
        };
        await saveAssignment(deps, tx, a, true);
        const review: BreakglassReview = {
          id: deps.newId(), assignmentId: a.id, principalId: a.principalId, roleId, scope, justification, createdAt: now,
          status: 'open', closedBy: null, closedAt: null, note: null,
        };
        await store.breakglass.insertReview(tx, review);
        const payload = { event: 'breakglass.activated', severity: 'critical', principalId: a.principalId, roleId, scope, startsAt: a.startsAt, endsAt: a.endsAt, justification, reviewId: review.id, sourceIp: actor.sourceIp };
        await store.outbox.enqueue(tx, { id: deps.newId(), kind: 'notify', payload, createdAt: now, attempts: 0, nextAttemptAt: now, deliveredAt: null, lastError: null });
        await writeAudit(audit, tx, now, actor, subject, [
          draft('breakglass.activated', 'allowed', {
            severity: 'critical', assignmentId: a.id, startsAt: a.startsAt, endsAt: a.endsAt, justification, reviewId: review.id, sourceIp: actor.sourceIp,
            mfa: { required: 'phishing_resistant', metBy: mfa.by ? { method: mfa.by.method, at: mfa.by.at, credentialId: mfa.by.credentialId ?? null } : null },
          }),
        ]);
        return { assignment: a, review };
      });
      if (out.refused) throw new Forbidden(out.refused[0]!, `break-glass refused: ${out.refused.join(', ')}`, { reasons: out.refused });
      return { assignment: out.assignment!, review: out.review! };
    },

    async reviews(actor: Actor, f: { status?: 'open' | 'closed'; limit: number }): Promise<BreakglassReview[]> {
      await requireAdmin(deps, actor, 'breakglass.reviews');
      return store.transaction((tx) => store.breakglass.reviews(tx, f));
    },

    /** Close the after-the-fact review. Nobody closes the review of their own break-glass use. */
    async closeReview(actor: Actor, id: string, note: string): Promise<BreakglassReview> {
      await requireAdmin(deps, actor, 'breakglass.review_close');
      const why = (note ?? '').trim();
      if (why.length < 3) throw new Invalid('note_required', 'closing a break-glass review needs a note on what was found', { field: 'note' });
      const now = clock.now();
      const out = await store.transaction(async (tx) => {
        const r = await store.breakglass.review(tx, id);
        if (!r) throw new NotFound('not_found', `review ${id} not found`);
        if (r.status !== 'open') return { refused: 'already_closed' };
        if (r.principalId === actor.principalId) {
          await writeAudit(audit, tx, now, actor, { principalId: r.principalId, roleId: r.roleId, scope: r.scope }, [draft('breakglass.review_refused', 'denied', { reviewId: id }, ['self_review'])]);
          return { refused: 'self_review' };
        }
        const next: BreakglassReview = { ...r, status: 'closed', closedBy: actor.principalId, closedAt: now, note: why.slice(0, 2000) };
        await store.breakglass.updateReview(tx, next);
        await writeAudit(audit, tx, now, actor, { principalId: r.principalId, roleId: r.roleId, scope: r.scope }, [draft('breakglass.review_closed', 'info', { reviewId: id, note: next.note })]);
        return { review: next };
      });
      if ('refused' in out) {
        if (out.refused === 'self_review') throw new Forbidden('self_review', 'you cannot close the review of your own break-glass use');
        throw new Conflict('already_closed', 'this review is already closed');
      }
      return out.review;
    },
  };
}
