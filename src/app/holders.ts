import { Conflict } from '../core/errors.js';
import { ADMIN_ROLE, ROOT_SCOPE, type Eligibility } from '../core/model.js';
import { covers } from '../core/scope.js';
import { draft, writeAudit } from './audit-log.js';
import type { Actor, AppDeps } from './context.js';
import { endAssignment } from './grants.js';
import type { Store, Tx } from './ports.js';

/**
 * Questions that must be answered from the database inside the writing transaction, not from the
 * in-memory index (which learns of a change only after commit): who is in which group right now,
 * who still holds standing admin, which grants are still covered by an eligibility.
 */
type S = Pick<Store, 'principals' | 'members' | 'assignments' | 'eligibilities' | 'roles'>;

/** The principal and every active group it is in, transitively, as stored now. */
export async function subjectsInTx(store: S, tx: Tx, principalId: string): Promise<string[]> {
  const out = [principalId];
  const seen = new Set(out);
  for (let i = 0; i < out.length; i++) {
    for (const g of await store.members.groupsOf(tx, out[i]!)) {
      if (seen.has(g)) continue;
      seen.add(g);
      const p = await store.principals.get(tx, g);
      if (p && p.status === 'active') out.push(g);
    }
  }
  return out;
}

/** Every active user or service in a group, nested groups expanded, as stored now. */
export async function membersInTx(store: S, tx: Tx, groupId: string): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set([groupId]);
  const queue = [groupId];
  while (queue.length) {
    for (const m of await store.members.members(tx, queue.pop()!)) {
      if (seen.has(m)) continue;
      seen.add(m);
      const p = await store.principals.get(tx, m);
      if (!p || p.status !== 'active') continue;
      if (p.kind === 'group') queue.push(m);
      else out.push(m);
    }
  }
  return out;
}

/** Serialize every operation that could take away the last administrator. Call first in the transaction. */
export async function lockAdmins(store: S, tx: Tx): Promise<void> {
  await store.roles.lock(tx, ADMIN_ROLE);
}

/**
 * After the change is written (same transaction): somebody must still hold elevate-admin at /
 * through a grant that has started and never ends. Otherwise throw, which rolls the change back.
 */
export async function assertAdminRemains(store: S, tx: Tx, now: number): Promise<void> {
  const live = await store.assignments.list(tx, { roleId: ADMIN_ROLE, live: true, limit: 10_000 });
  for (const a of live) {
    if (a.endsAt !== null || a.startsAt > now || a.scope !== ROOT_SCOPE) continue;
    const p = await store.principals.get(tx, a.principalId);
    if (!p || p.status !== 'active') continue;
    if (p.kind !== 'group' || (await membersInTx(store, tx, p.id)).length > 0) return;
  }
  throw new Conflict('last_admin', 'this would leave nobody holding a standing elevate-admin grant: nobody could administer Elevate');
}

const live = (e: Eligibility, now: number) => e.removedAt === null && e.startsAt <= now && (e.endsAt === null || e.endsAt > now);

/**
 * Grants activated under eligibilities must stay covered by one: after an eligibility is removed or
 * a membership ends, each affected principal's activated grants end (or shrink to the latest end of
 * what still covers them). Direct assignments are left alone: they never came from an eligibility.
 */
export async function reconcileGrants(deps: Pick<AppDeps, 'store' | 'index' | 'newId'>, tx: Tx, actor: Actor, principalIds: Iterable<string>, now: number, reason: string): Promise<string[]> {
  const { store } = deps;
  const touched: string[] = [];
  for (const pid of new Set(principalIds)) {
    const grants = await store.assignments.list(tx, { principalId: pid, live: true, source: 'activation', limit: 10_000 });
    if (grants.length === 0) continue;
    const eligs = (await store.eligibilities.list(tx, { principalIds: await subjectsInTx(store, tx, pid), limit: 100_000 })).filter((e) => live(e, now));
    for (const a of grants) {
      const covering = eligs.filter((e) => e.roleId === a.roleId && covers(e.scope, a.scope));
      if (covering.length === 0) {
        await endAssignment(deps, tx, actor, a, 'revoked', now, reason);
        touched.push(a.id);
        continue;
      }
      const until = covering.some((e) => e.endsAt === null) ? null : Math.max(...covering.map((e) => e.endsAt!));
      if (until !== null && (a.endsAt === null || a.endsAt > until)) {
        const next = { ...a, endsAt: until };
        await store.assignments.update(tx, next);
        await deps.store.changes.publish(tx, { kind: 'assignment', id: a.id });
        tx.afterCommit(() => deps.index.upsertAssignment(next));
        await writeAudit({ audit: deps.store.audit, newId: deps.newId }, tx, now, actor, { principalId: a.principalId, roleId: a.roleId, scope: a.scope, requestId: a.requestId }, [
          draft('assignment.shortened', 'info', { assignmentId: a.id, endsAt: until, previousEndsAt: a.endsAt }, [reason]),
        ]);
        touched.push(a.id);
      }
    }
  }
  return touched;
}
