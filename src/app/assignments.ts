import { Conflict, Forbidden, Invalid, NotFound } from '../core/errors.js';
import { normalizeId } from '../core/ids.js';
import { ADMIN_ROLE, type Assignment, type Eligibility } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { deny, isAdmin, requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import type { Tx } from './ports.js';
import { endAssignment } from './grants.js';
import { assertAdminRemains, lockAdmins } from './holders.js';
import { settingsOf } from './roles.js';
import { checkAdminGrant, parseAdminGrant, type AdminGrantInput } from './standing.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export type DirectAssignmentInput = AdminGrantInput;

export function makeAssignments(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  return {
    /** Admin-made standing access, where the role allows it. This is what Elevate exists to drive to zero. */
    async createDirect(actor: Actor, input: DirectAssignmentInput): Promise<Assignment> {
      const { principalId, roleId, scope, justification } = parseAdminGrant(input, 'a direct assignment');
      await requireAdmin(deps, actor, 'assignment.create', { principalId, roleId, scope });
      const now = clock.now();
      const startsAt = input.startsAt ?? now;
      const made = await store.transaction(async (tx) => {
        await checkAdminGrant(store, tx, { principalId, roleId, startsAt, endsAt: input.endsAt, now }, 'activeAssignment');
        // A role in enforced rollout takes no new standing access (break-glass is a separate path): refused, audited.
        if ((await store.inventory.rollout(tx, roleId))?.mode === 'enforced') {
          await writeAudit(audit, tx, now, actor, { principalId, roleId, scope }, [draft('authz.denied', 'denied', { action: 'assignment.create', justification }, ['rollout_enforced'])]);
          return null;
        }
        const a: Assignment = {
          id: deps.newId(),
          principalId,
          roleId,
          scope,
          source: 'direct',
          requestId: null,
          startsAt,
          endsAt: input.endsAt,
          status: startsAt <= now ? 'active' : 'scheduled',
          justification,
          createdBy: actor.principalId,
          createdAt: now,
          endedAt: null,
        };
        await store.assignments.insert(tx, a);
        await writeAudit(audit, tx, now, actor, { principalId, roleId, scope }, [
          draft('assignment.direct_created', 'info', { assignmentId: a.id, startsAt, endsAt: a.endsAt, standing: true, justification }),
        ]);
        await store.changes.publish(tx, { kind: 'assignment', id: a.id });
        tx.afterCommit(() => index.upsertAssignment(a));
        return a;
      });
      if (!made) {
        throw new Conflict('rollout_enforced', `role ${roleId} is in enforced rollout: no new direct assignments; make the principal eligible instead (break-glass is unaffected)`, {
          roleId,
          reasons: ['rollout_enforced'],
        });
      }
      return made;
    },

    async get(actor: Actor, id: string): Promise<Assignment> {
      const a = await store.transaction((tx) => store.assignments.get(tx, id));
      if (!a || (a.principalId !== actor.principalId && !isAdmin(deps, actor.principalId))) throw new NotFound('not_found', 'assignment not found');
      return a;
    },

    async list(actor: Actor, f: { mine?: boolean; principalId?: string; roleId?: string; live?: boolean; source?: Assignment['source']; limit: number; after?: string }): Promise<Assignment[]> {
      const principalId = f.principalId ? normalizeId(f.principalId) : undefined;
      if (f.mine || principalId === actor.principalId) return store.transaction((tx) => store.assignments.list(tx, { ...f, principalId: actor.principalId }));
      await requireAdmin(deps, actor, 'assignment.list');
      return store.transaction((tx) => store.assignments.list(tx, { ...f, principalId }));
    },

    /** The holder ends their own grant early. */
    async deactivate(actor: Actor, id: string): Promise<Assignment> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const a = await store.assignments.get(tx, id);
        if (!a) throw new NotFound('not_found', 'assignment not found');
        if (a.principalId !== actor.principalId) {
          if (!isAdmin(deps, actor.principalId)) throw new NotFound('not_found', 'assignment not found');
          throw new Forbidden('not_holder', 'only the holder deactivates a grant; admins revoke it');
        }
        if (a.status !== 'active' && a.status !== 'scheduled') throw new Conflict('invalid_state', `the assignment is ${a.status}`);
        if (a.roleId === ADMIN_ROLE) await lockAdmins(store, tx);
        const ended = await endAssignment(deps, tx, actor, a, 'deactivated', now);
        if (a.roleId === ADMIN_ROLE) await assertAdminRemains(store, tx, now);
        return ended;
      });
    },

    /**
     * Turn standing access into just-in-time access, in one transaction: the direct assignment ends
     * now (revoked, reason `converted_to_eligible`) and the same principal becomes eligible for the
     * same role at the same scope: permanently when the role allows it, else for the role's longest
     * eligibility. An eligibility already there for that role and scope is kept rather than doubled.
     * The last standing elevate-admin cannot be converted (409 last_admin, nothing changes).
     */
    async convertToEligible(actor: Actor, id: string): Promise<{ assignment: Assignment; eligibility: Eligibility; created: boolean }> {
      await requireAdmin(deps, actor, 'assignment.convert_to_eligible', {});
      const now = clock.now();
      return store.transaction((tx) => convertToEligibleInTx(deps, tx, actor, id, now));
    },

    /** An admin ends someone's grant now. */
    async revoke(actor: Actor, id: string, reason: string): Promise<Assignment> {
      const why = (reason ?? '').trim();
      if (!why) throw new Invalid('reason_required', 'a reason is required to revoke', { field: 'reason' });
      if (!isAdmin(deps, actor.principalId)) await deny(deps, actor, 'assignment.revoke', {}, 'not_admin', 'revoking needs the elevate-admin role');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const a = await store.assignments.get(tx, id);
        if (!a) throw new NotFound('not_found', 'assignment not found');
        if (a.status !== 'active' && a.status !== 'scheduled') throw new Conflict('invalid_state', `the assignment is ${a.status}`);
        if (a.roleId === ADMIN_ROLE) await lockAdmins(store, tx);
        const ended = await endAssignment(deps, tx, actor, a, 'revoked', now, why);
        if (a.roleId === ADMIN_ROLE) await assertAdminRemains(store, tx, now);
        return ended;
      });
    },
  };
}

/**
 * Turn standing access into just-in-time access inside the caller's transaction: the direct
 * assignment ends now (revoked, reason `converted_to_eligible`) and the same principal becomes
 * eligible for the same role at the same scope: permanently when the role allows it, else for the
 * role's longest eligibility (or until `opts.eligibilityEndsAt`, checked against the role). An
 * eligibility already there for that role and scope is kept rather than doubled. The last standing
 * elevate-admin cannot be converted (409 last_admin). The caller checked the actor is an admin.
 */
export async function convertToEligibleInTx(
  deps: Deps,
  tx: Tx,
  actor: Actor,
  id: string,
  now: number,
  opts: { eligibilityEndsAt?: number | null } = {},
): Promise<{ assignment: Assignment; eligibility: Eligibility; created: boolean }> {
  const { store, index } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const a = await store.assignments.get(tx, id);
  if (!a) throw new NotFound('not_found', 'assignment not found');
  if (a.source !== 'direct') throw new Conflict('not_direct', `only a direct (standing) assignment can be converted; this one comes from ${a.source === 'activation' ? 'an activation' : a.source}`);
  if (a.status !== 'active' && a.status !== 'scheduled') throw new Conflict('invalid_state', `the assignment is ${a.status}`);
  if (a.roleId === ADMIN_ROLE) await lockAdmins(store, tx);
  const role = await store.roles.get(tx, a.roleId);
  if (!role) throw new Conflict('unknown_role', `role ${a.roleId} no longer exists`);
  const rule = settingsOf(role).eligibility;
  const endsAt = opts.eligibilityEndsAt !== undefined ? opts.eligibilityEndsAt : rule.allowPermanent || rule.maxDurationMs === null ? null : now + rule.maxDurationMs;
  const ended = await endAssignment(deps, tx, actor, a, 'revoked', now, 'converted_to_eligible');
  const same = await store.eligibilities.list(tx, { principalIds: [a.principalId], roleId: a.roleId, limit: 10_000 });
  let e = same.find((x) => x.scope === a.scope && (x.endsAt === null || x.endsAt > now)) ?? null;
  const created = e === null;
  if (!e) {
    await checkAdminGrant(store, tx, { principalId: a.principalId, roleId: a.roleId, startsAt: now, endsAt, now }, 'eligibility');
    const justification = a.justification || 'converted from a standing assignment';
    e = { id: deps.newId(), principalId: a.principalId, roleId: a.roleId, scope: a.scope, startsAt: now, endsAt, justification, createdBy: actor.principalId, createdAt: now, removedAt: null };
    await store.eligibilities.insert(tx, e);
    const made = e;
    await writeAudit(audit, tx, now, actor, { principalId: a.principalId, roleId: a.roleId, scope: a.scope }, [
      draft('eligibility.created', 'info', { eligibilityId: made.id, startsAt: now, endsAt, justification, convertedFrom: a.id }),
    ]);
    await store.changes.publish(tx, { kind: 'eligibility', id: made.id });
    tx.afterCommit(() => index.upsertEligibility(made));
  }
  await writeAudit(audit, tx, now, actor, { principalId: a.principalId, roleId: a.roleId, scope: a.scope }, [
    draft('assignment.converted_to_eligible', 'info', { assignmentId: a.id, eligibilityId: e.id, eligibilityCreated: created, eligibleUntil: e.endsAt, standing: false }),
  ]);
  if (a.roleId === ADMIN_ROLE) await assertAdminRemains(store, tx, now);
  return { assignment: ended, eligibility: e, created };
}
