import { Conflict, NotFound } from '../core/errors.js';
import { normalizeId } from '../core/ids.js';
import type { Eligibility } from '../core/model.js';
import { membersInTx, reconcileGrants } from './holders.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import { cancelPendingRenewals } from './renewals.js';
import type { Actor, AppDeps } from './context.js';
import type { Tx } from './ports.js';
import { checkAdminGrant, parseAdminGrant, type AdminGrantInput } from './standing.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export type EligibilityInput = AdminGrantInput;

/**
 * Remove an eligibility (locked by the caller, still live) in the caller's transaction: mark it
 * removed, end the grants it alone covered, close its pending renewal, audit, and tell the index
 * after commit (other nodes through the change feed). `reason` goes on the ended grants and the
 * renewal; `audit` adds reason codes and data to the `eligibility.removed` event.
 */
export async function removeEligibilityInTx(
  deps: Deps,
  tx: Tx,
  actor: Actor,
  e: Eligibility,
  now: number,
  reason: string,
  audit: { reasons?: string[]; data?: Record<string, unknown> } = {},
): Promise<void> {
  const { store, index } = deps;
  await store.eligibilities.markRemoved(tx, e.id, now);
  const holder = await store.principals.get(tx, e.principalId);
  const affected = holder?.kind === 'group' ? await membersInTx(store, tx, holder.id) : [e.principalId];
  const ended = await reconcileGrants(deps, tx, actor, affected, now, reason);
  const cancelledRenewals = await cancelPendingRenewals(store, tx, e.id, actor.principalId, now, reason);
  await writeAudit({ audit: store.audit, newId: deps.newId }, tx, now, actor, { principalId: e.principalId, roleId: e.roleId, scope: e.scope }, [
    draft('eligibility.removed', 'info', { eligibilityId: e.id, endedAssignments: ended, cancelledRenewals, ...audit.data }, audit.reasons ?? []),
  ]);
  await store.changes.publish(tx, { kind: 'eligibility', id: e.id });
  tx.afterCommit(() => index.removeEligibility(e.id));
}

export function makeEligibilities(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  return {
    async create(actor: Actor, input: EligibilityInput): Promise<Eligibility> {
      const { principalId, roleId, scope, justification } = parseAdminGrant(input, 'an eligibility');
      await requireAdmin(deps, actor, 'eligibility.create', { principalId, roleId, scope });
      const now = clock.now();
      const startsAt = input.startsAt ?? now;
      return store.transaction(async (tx) => {
        await checkAdminGrant(store, tx, { principalId, roleId, startsAt, endsAt: input.endsAt, now }, 'eligibility');
        const same = await store.eligibilities.list(tx, { principalIds: [principalId], roleId, limit: 10_000 });
        if (same.some((x) => x.scope === scope && (x.endsAt === null || x.endsAt > now))) {
          throw new Conflict('already_exists', `${principalId} is already eligible for ${roleId} at ${scope}`);
        }
        const e: Eligibility = { id: deps.newId(), principalId, roleId, scope, startsAt, endsAt: input.endsAt, justification, createdBy: actor.principalId, createdAt: now, removedAt: null };
        await store.eligibilities.insert(tx, e);
        await writeAudit(audit, tx, now, actor, { principalId, roleId, scope }, [draft('eligibility.created', 'info', { eligibilityId: e.id, startsAt, endsAt: e.endsAt, justification })]);
        await store.changes.publish(tx, { kind: 'eligibility', id: e.id });
        tx.afterCommit(() => index.upsertEligibility(e));
        return e;
      });
    },

    /** Remove an eligibility; grants activated under it and not covered by another eligibility end now. */
    async remove(actor: Actor, id: string): Promise<void> {
      await requireAdmin(deps, actor, 'eligibility.remove');
      const now = clock.now();
      await store.transaction(async (tx) => {
        const [e] = await store.eligibilities.lock(tx, [id], 'update');
        if (!e || e.removedAt !== null) throw new NotFound('not_found', 'eligibility not found');
        await removeEligibilityInTx(deps, tx, actor, e, now, 'eligibility_removed');
      });
    },

    async list(actor: Actor, f: { mine?: boolean; principalId?: string; roleId?: string; limit: number; after?: string }): Promise<Eligibility[]> {
      const roleId = f.roleId ? normalizeId(f.roleId) : undefined;
      if (f.mine || (f.principalId && normalizeId(f.principalId) === actor.principalId)) {
        // A principal's own eligibilities include those it holds through its groups.
        const subjects = index.subjects(actor.principalId);
        return store.transaction((tx) => store.eligibilities.list(tx, { principalIds: subjects, roleId, limit: f.limit, after: f.after }));
      }
      await requireAdmin(deps, actor, 'eligibility.list');
      const principalIds = f.principalId ? [normalizeId(f.principalId)] : undefined;
      return store.transaction((tx) => store.eligibilities.list(tx, { principalIds, roleId, limit: f.limit, after: f.after }));
    },
  };
}
