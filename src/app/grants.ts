import type { ActivationRequest, Assignment } from '../core/model.js';
import type { GrantEffect } from '../core/requests.js';
import { draft, writeAudit } from './audit-log.js';
import type { Actor, AppDeps } from './context.js';
import type { Tx } from './ports.js';

/**
 * Acting on assignments, inside the caller's transaction. The decision index learns of each change
 * after commit (this node) or through the change feed (other nodes). Targets outside Elevate will
 * hang off the same points through the outbox; for now the only target is the decision point.
 */
type Deps = Pick<AppDeps, 'store' | 'index' | 'newId'>;

/** Store an assignment, announce it to other nodes, and put it in this node's index after commit. */
export async function saveAssignment(deps: Deps, tx: Tx, a: Assignment, isNew: boolean): Promise<void> {
  if (isNew) await deps.store.assignments.insert(tx, a);
  else await deps.store.assignments.update(tx, a);
  await deps.store.changes.publish(tx, { kind: 'assignment', id: a.id });
  tx.afterCommit(() => deps.index.upsertAssignment(a));
}

/**
 * Make the grant for an approved activation. Activating the same role and scope while a grant is
 * active or scheduled merges into it: coverage is the union, never cut short.
 */
export async function grant(deps: Deps, tx: Tx, actor: Actor, r: ActivationRequest, win: { startsAt: number; endsAt: number }, now: number): Promise<Assignment> {
  // The index knows this node's grants: when it holds none for this role and scope, skip the query.
  // (A grant made at the same moment on another node is missed at worst: two grants whose union is the same access.)
  const known = deps.index.grantsOf(r.principalId, r.roleId).some((g) => g.scope === r.scope);
  const live = known ? await deps.store.assignments.list(tx, { principalId: r.principalId, roleId: r.roleId, live: true, source: 'activation', limit: 1000 }) : [];
  const overlapping = live.find((a) => a.scope === r.scope && a.startsAt <= win.endsAt && (a.endsAt === null || a.endsAt >= win.startsAt));
  if (overlapping) {
    const startsAt = Math.min(overlapping.startsAt, win.startsAt);
    const endsAt = overlapping.endsAt === null ? null : Math.max(overlapping.endsAt, win.endsAt);
    const merged: Assignment = { ...overlapping, startsAt, endsAt, status: startsAt <= now ? 'active' : 'scheduled' };
    await saveAssignment(deps, tx, merged, false);
    if (endsAt !== overlapping.endsAt || startsAt !== overlapping.startsAt) {
      await writeAudit({ audit: deps.store.audit, newId: deps.newId }, tx, now, actor, { principalId: r.principalId, roleId: r.roleId, scope: r.scope, requestId: r.id }, [
        draft('assignment.coverage_extended', 'info', { assignmentId: merged.id, startsAt, endsAt, previousEndsAt: overlapping.endsAt }),
      ]);
    }
    return merged;
  }
  const a: Assignment = {
    id: deps.newId(),
    principalId: r.principalId,
    roleId: r.roleId,
    scope: r.scope,
    source: 'activation',
    requestId: r.id,
    startsAt: win.startsAt,
    endsAt: win.endsAt,
    status: win.startsAt <= now ? 'active' : 'scheduled',
    justification: r.justification,
    createdBy: r.principalId,
    createdAt: now,
    endedAt: null,
  };
  await saveAssignment(deps, tx, a, true);
  return a;
}

/** End an assignment (expired, deactivated or revoked) and every live request tied to it. */
export async function endAssignment(deps: Deps, tx: Tx, actor: Actor, a: Assignment, status: 'expired' | 'deactivated' | 'revoked', now: number, reason: string | null = null): Promise<Assignment> {
  const endsAt = status === 'expired' ? a.endsAt : a.endsAt === null ? now : Math.min(a.endsAt, now);
  const ended: Assignment = { ...a, status, endsAt, endedAt: now };
  await saveAssignment(deps, tx, ended, false);
  for (const r of await deps.store.requests.byAssignment(tx, a.id)) {
    if (r.status === 'active' || r.status === 'scheduled') await deps.store.requests.update(tx, { ...r, status, updatedAt: now });
  }
  await writeAudit({ audit: deps.store.audit, newId: deps.newId }, tx, now, actor, { principalId: a.principalId, roleId: a.roleId, scope: a.scope, requestId: a.requestId }, [
    draft(`assignment.${status}`, 'info', { assignmentId: a.id, source: a.source, startsAt: a.startsAt, endsAt }, reason ? [reason] : []),
  ]);
  return ended;
}

/** Carry out what a request transition asks of the grant. Returns the assignment touched. */
export async function applyEffect(deps: Deps, tx: Tx, actor: Actor, r: ActivationRequest, effect: GrantEffect, now: number): Promise<Assignment | null> {
  switch (effect.kind) {
    case 'none':
      return null;
    case 'grant':
      return grant(deps, tx, actor, r, effect, now);
    case 'extend': {
      const a = await deps.store.assignments.get(tx, effect.assignmentId);
      if (!a) return null;
      const next: Assignment = { ...a, endsAt: a.endsAt === null ? null : Math.max(a.endsAt, effect.endsAt) };
      await saveAssignment(deps, tx, next, false);
      return next;
    }
    case 'start': {
      const a = await deps.store.assignments.get(tx, effect.assignmentId);
      if (!a || a.status !== 'scheduled') return a;
      const next: Assignment = { ...a, status: 'active' };
      await saveAssignment(deps, tx, next, false);
      return next;
    }
    case 'end': {
      const a = await deps.store.assignments.get(tx, effect.assignmentId);
      if (!a || (a.status !== 'active' && a.status !== 'scheduled')) return a;
      return endAssignment(deps, tx, actor, a, effect.status, now);
    }
  }
}
