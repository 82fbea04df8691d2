import { Conflict, Forbidden, Invalid, NotFound } from '../core/errors.js';
import { checkJustification } from '../core/justification.js';
import type { Eligibility } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { deny, requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import type { EligibilityRenewal, Store, Tx } from './ports.js';
import { settingsOf } from './roles.js';
import { checkAdminGrant } from './standing.js';

/**
 * Renewing an eligibility that ends soon, as in Entra PIM: the person who holds it asks (with a
 * justification), an administrator who is not them approves or denies. Approval moves the
 * eligibility's end on by the role's longest eligibility (or, where the role allows permanent
 * eligibility, by the eligibility's own original length), in one transaction with its audit event;
 * the decision index sees the new end after commit, other nodes through the change feed.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

/** How close to its end an eligibility may be renewed. */
export const RENEWAL_WINDOW_MS = 14 * 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** Close the pending renewal of an eligibility that is going away (removed), in the caller's transaction. */
export async function cancelPendingRenewals(store: Pick<Store, 'renewals'>, tx: Tx, eligibilityId: string, by: string, now: number, reason: string): Promise<string[]> {
  const pending = await store.renewals.list(tx, { eligibilityId, status: 'pending', limit: 100 });
  for (const r of pending) await store.renewals.update(tx, { ...r, status: 'cancelled', decidedBy: by, decidedAt: now, reason });
  return pending.map((r) => r.id);
}

export function makeRenewals(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const subjectOf = (x: { principalId: string; roleId: string; scope: string }) => ({ principalId: x.principalId, roleId: x.roleId, scope: x.scope });
  const notify = (tx: Tx, now: number, payload: Record<string, unknown>) =>
    store.outbox.enqueue(tx, { id: deps.newId(), kind: 'notify', payload, createdAt: now, attempts: 0, nextAttemptAt: now, deliveredAt: null, lastError: null });

  return {
    /** The holder asks to keep an eligibility that ends within RENEWAL_WINDOW_MS. */
    async request(actor: Actor, eligibilityId: string, justification: string): Promise<EligibilityRenewal> {
      const now = clock.now();
      const seen = await store.transaction((tx) => store.eligibilities.get(tx, eligibilityId));
      if (!seen || seen.removedAt !== null) throw new NotFound('not_found', 'eligibility not found');
      if (seen.principalId !== actor.principalId) {
        const viaGroup = index.subjects(actor.principalId).includes(seen.principalId);
        await deny(
          deps,
          actor,
          'eligibility.renew',
          subjectOf(seen),
          'not_yours',
          viaGroup
            ? `you hold this eligibility through group ${seen.principalId}, not yourself: only the group's eligibility exists, and an administrator renews it`
            : 'only the principal who holds an eligibility can ask to renew it',
        );
      }
      return store.transaction(async (tx) => {
        const [e] = await store.eligibilities.lock(tx, [eligibilityId], 'update');
        if (!e || e.removedAt !== null) throw new NotFound('not_found', 'eligibility not found');
        if (e.endsAt === null) throw new Conflict('not_expiring', 'this eligibility has no end date: there is nothing to renew', { endsAt: null });
        if (e.endsAt <= now) throw new Conflict('not_expiring', `this eligibility ended at ${iso(e.endsAt)}: ask an administrator to make you eligible again`, { endsAt: iso(e.endsAt), ended: true });
        if (e.endsAt - now > RENEWAL_WINDOW_MS) {
          throw new Conflict('not_expiring', `this eligibility ends at ${iso(e.endsAt)}: it can be renewed from ${iso(e.endsAt - RENEWAL_WINDOW_MS)}, 14 days before it ends`, {
            endsAt: iso(e.endsAt),
            renewableFrom: iso(e.endsAt - RENEWAL_WINDOW_MS),
          });
        }
        const [pending] = await store.renewals.list(tx, { eligibilityId, status: 'pending', limit: 1 });
        if (pending) throw new Conflict('renewal_pending', 'a renewal of this eligibility is already waiting for a decision', { renewalId: pending.id });
        const role = await store.roles.get(tx, e.roleId);
        if (!role) throw new Conflict('unknown_role', `role ${e.roleId} no longer exists`);
        const why = (justification ?? '').trim();
        const problem = checkJustification(why, true, settingsOf(role).justification.minLength);
        if (problem) throw new Invalid(problem, 'say why you still need this eligibility', { field: 'justification', reasons: [problem] });
        const r: EligibilityRenewal = {
          id: deps.newId(), eligibilityId, principalId: e.principalId, roleId: e.roleId, scope: e.scope, justification: why,
          status: 'pending', createdAt: now, decidedBy: null, decidedAt: null, reason: null,
        };
        await store.renewals.insert(tx, r);
        await writeAudit(audit, tx, now, actor, subjectOf(e), [draft('eligibility.renewal_requested', 'info', { renewalId: r.id, eligibilityId, endsAt: e.endsAt, justification: why })]);
        await notify(tx, now, {
          event: 'eligibility.renewal_requested', audience: 'admins', renewalId: r.id, eligibilityId,
          principalId: e.principalId, roleId: e.roleId, scope: e.scope, endsAt: iso(e.endsAt), justification: why,
        });
        return r;
      });
    },

    /** Admins: every renewal (by status). Anyone: their own (`mine`). */
    async list(actor: Actor, f: { mine?: boolean; status?: EligibilityRenewal['status']; limit: number; after?: string }): Promise<EligibilityRenewal[]> {
      if (f.mine) return store.transaction((tx) => store.renewals.list(tx, { principalId: actor.principalId, status: f.status, limit: f.limit, after: f.after }));
      await requireAdmin(deps, actor, 'eligibility.renewal_list');
      return store.transaction((tx) => store.renewals.list(tx, { status: f.status, limit: f.limit, after: f.after }));
    },

    /** An admin other than the requester decides. Approval extends the eligibility; both are audited. */
    async decide(actor: Actor, id: string, decision: 'approve' | 'deny', reason: string): Promise<{ renewal: EligibilityRenewal; eligibility: Eligibility }> {
      await requireAdmin(deps, actor, `eligibility.renewal_${decision}`);
      const why = (reason ?? '').trim();
      if (!why) throw new Invalid('reason_required', `a reason is required to ${decision} a renewal`, { field: 'reason' });
      const now = clock.now();
      const out = await store.transaction(async (tx) => {
        const r = await store.renewals.get(tx, id, true);
        if (!r) throw new NotFound('not_found', `renewal ${id} not found`);
        if (r.principalId === actor.principalId) return { refused: 'self_approval' as const, r };
        if (r.status !== 'pending') throw new Conflict('renewal_not_pending', `this renewal is ${r.status}`, { status: r.status });
        const [e] = await store.eligibilities.lock(tx, [r.eligibilityId], 'update');
        if (!e || e.removedAt !== null) {
          // The eligibility went away meanwhile: nothing to renew; close the request for good.
          await store.renewals.update(tx, { ...r, status: 'cancelled', decidedBy: actor.principalId, decidedAt: now, reason: 'eligibility_removed' });
          await writeAudit(audit, tx, now, actor, subjectOf(r), [draft('eligibility.renewal_cancelled', 'info', { renewalId: r.id, eligibilityId: r.eligibilityId }, ['eligibility_removed'])]);
          return { refused: 'eligibility_removed' as const, r };
        }
        const decided: EligibilityRenewal = { ...r, status: decision === 'approve' ? 'approved' : 'denied', decidedBy: actor.principalId, decidedAt: now, reason: why.slice(0, 1000) };
        let next = e;
        if (decision === 'approve') {
          if (e.endsAt === null) throw new Conflict('not_expiring', 'this eligibility has no end date any more: there is nothing to renew');
          const role = await store.roles.get(tx, e.roleId);
          if (!role) throw new Conflict('unknown_role', `role ${e.roleId} no longer exists`);
          const rule = settingsOf(role).eligibility;
          // Settings guarantee a maximum exactly when permanent eligibility is not allowed.
          const by = rule.allowPermanent || rule.maxDurationMs === null ? e.endsAt - e.startsAt : rule.maxDurationMs;
          const from = Math.max(e.endsAt, now);
          const endsAt = from + by;
          // The added period is checked like a new eligibility: principal and role exist, the role allows that long.
          await checkAdminGrant(store, tx, { principalId: e.principalId, roleId: e.roleId, startsAt: from, endsAt, now }, 'eligibility');
          await store.eligibilities.setEndsAt(tx, e.id, endsAt);
          next = { ...e, endsAt };
          const updated = next;
          await store.changes.publish(tx, { kind: 'eligibility', id: e.id });
          tx.afterCommit(() => index.upsertEligibility(updated));
        }
        await store.renewals.update(tx, decided);
        await writeAudit(audit, tx, now, actor, subjectOf(e), [
          decision === 'approve'
            ? draft('eligibility.renewal_approved', 'allowed', { renewalId: r.id, eligibilityId: e.id, previousEndsAt: e.endsAt, endsAt: next.endsAt, extendedByMs: (next.endsAt ?? 0) - Math.max(e.endsAt ?? 0, now), reason: decided.reason, requestedBy: r.principalId })
            : draft('eligibility.renewal_denied', 'denied', { renewalId: r.id, eligibilityId: e.id, endsAt: e.endsAt, reason: decided.reason, requestedBy: r.principalId }),
        ]);
        await notify(tx, now, {
          event: `eligibility.renewal_${decided.status}`, audience: r.principalId, renewalId: r.id, eligibilityId: e.id,
          principalId: e.principalId, roleId: e.roleId, scope: e.scope, endsAt: next.endsAt === null ? null : iso(next.endsAt), reason: decided.reason, decidedBy: actor.principalId,
        });
        return { renewal: decided, eligibility: next };
      });
      if ('refused' in out) {
        if (out.refused === 'self_approval') {
          await deny(deps, actor, `eligibility.renewal_${decision}`, subjectOf(out.r), 'self_approval', 'you cannot decide the renewal of your own eligibility; another administrator must');
        }
        throw new Conflict('eligibility_removed', 'the eligibility was removed, so there is nothing to renew; the renewal request was closed');
      }
      return out;
    },

    /** The requester withdraws a pending renewal. */
    async cancel(actor: Actor, id: string): Promise<EligibilityRenewal> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const r = await store.renewals.get(tx, id, true);
        if (!r) throw new NotFound('not_found', `renewal ${id} not found`);
        if (r.principalId !== actor.principalId) throw new Forbidden('not_requester', 'only the person who asked can withdraw a renewal request', { reasons: ['not_requester'] });
        if (r.status !== 'pending') throw new Conflict('renewal_not_pending', `this renewal is ${r.status}`, { status: r.status });
        const next: EligibilityRenewal = { ...r, status: 'cancelled', decidedBy: actor.principalId, decidedAt: now, reason: 'withdrawn by the requester' };
        await store.renewals.update(tx, next);
        await writeAudit(audit, tx, now, actor, subjectOf(r), [draft('eligibility.renewal_cancelled', 'info', { renewalId: r.id, eligibilityId: r.eligibilityId })]);
        return next;
      });
    },
  };
}
