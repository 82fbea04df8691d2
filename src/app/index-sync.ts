import type { DecisionIndex } from '../core/decision.js';
import type { IndexChange, Store } from './ports.js';

/**
 * Bring the decision index up to date with a change another node committed: reload the entity and
 * apply it. Local writes apply their own objects after commit and never come through here.
 */
export async function applyRemoteChange(store: Store, index: DecisionIndex, c: IndexChange): Promise<void> {
  await store.transaction(async (tx) => {
    switch (c.kind) {
      case 'principal': {
        const p = await store.principals.get(tx, c.id);
        if (p) index.upsertPrincipal(p.id, p.kind, p.status);
        else index.removePrincipal(c.id);
        break;
      }
      case 'role': {
        const r = await store.roles.get(tx, c.id);
        if (r) index.upsertRole(r.id);
        else index.removeRole(c.id);
        break;
      }
      case 'members':
        index.setMembers(c.id, await store.members.members(tx, c.id));
        break;
      case 'eligibility': {
        const e = await store.eligibilities.get(tx, c.id);
        if (e) index.upsertEligibility(e);
        else index.removeEligibility(c.id);
        break;
      }
      case 'assignment': {
        const a = await store.assignments.get(tx, c.id);
        if (a) index.upsertAssignment(a);
        else index.removeAssignment(c.id);
        break;
      }
      case 'token':
        break; // token caches listen for this themselves
    }
  });
}

export async function loadIndex(store: Store, index: DecisionIndex): Promise<void> {
  await store.loadIndex({
    principal: (id, kind, status) => index.upsertPrincipal(id, kind, status),
    role: (id) => index.upsertRole(id),
    members: (g, m) => index.setMembers(g, m),
    eligibility: (e) => index.upsertEligibility(e),
    assignment: (a) => index.upsertAssignment(a),
  });
}
