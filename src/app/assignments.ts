import { Conflict, Forbidden, Invalid, NotFound } from '../core/errors.js';
import { normalizeId } from '../core/ids.js';
import { ADMIN_ROLE, type Assignment } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { deny, isAdmin, requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import { endAssignment } from './grants.js';
import { assertAdminRemains, lockAdmins } from './holders.js';
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
      return store.transaction(async (tx) => {
        await checkAdminGrant(store, tx, { principalId, roleId, startsAt, endsAt: input.endsAt, now }, 'activeAssignment');
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
