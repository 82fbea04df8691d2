import type { Assignment, Eligibility, PrincipalKind, PrincipalStatus } from './model.js';
import { covers } from './scope.js';

/**
 * The one decision point. An in-memory index of who holds what, kept coherent with every write:
 * principal → role → grants (scope, start, end). Group membership is expanded through a cached
 * closure. A check compares each grant's window with `now`, so access ends exactly at its end
 * time, with no job involved; jobs only do the bookkeeping afterwards.
 */

export interface Decision {
  allowed: boolean;
  reason: 'active_assignment' | 'no_active_assignment' | 'unknown_principal' | 'principal_suspended' | 'unknown_role';
  assignmentId: string | null;
  expiresAt: number | null;
  /** The principal (the subject itself or one of its groups) the grant is held by. */
  via: string | null;
}

const denial = (reason: Decision['reason']): Decision => Object.freeze({ allowed: false, reason, assignmentId: null, expiresAt: null, via: null });
/** Denials are shared, frozen answers: the hot path allocates only when it allows. */
const DENY = {
  unknown_principal: denial('unknown_principal'),
  principal_suspended: denial('principal_suspended'),
  unknown_role: denial('unknown_role'),
  no_active_assignment: denial('no_active_assignment'),
} as const;

interface GrantEntry {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  startsAt: number;
  endsAt: number; // Infinity = permanent
  source: Assignment['source'];
}

interface PrincipalEntry {
  kind: PrincipalKind;
  status: PrincipalStatus;
}

type Nested<T> = Map<string, Map<string, T[]>>;

function put<T extends { id: string }>(m: Nested<T>, a: string, b: string, v: T): boolean {
  let inner = m.get(a);
  const created = !inner;
  if (!inner) m.set(a, (inner = new Map()));
  const list = inner.get(b);
  if (!list) inner.set(b, [v]);
  else {
    const i = list.findIndex((x) => x.id === v.id);
    if (i >= 0) list[i] = v;
    else list.push(v);
  }
  return created;
}

function drop<T extends { id: string }>(m: Nested<T>, a: string, b: string, id: string): void {
  const inner = m.get(a);
  const list = inner?.get(b);
  if (!inner || !list) return;
  const i = list.findIndex((x) => x.id === id);
  if (i < 0) return;
  list.splice(i, 1);
  // The inner map stays (possibly empty): the check cache holds references to it.
  if (list.length === 0) inner.delete(b);
}

export class DecisionIndex {
  private grants: Nested<GrantEntry> = new Map();
  private grantById = new Map<string, GrantEntry>();
  private eligs: Nested<Eligibility> = new Map();
  private eligById = new Map<string, Eligibility>();
  private principals = new Map<string, PrincipalEntry>();
  private roles = new Set<string>();
  /** member → groups it is directly in */
  private parents = new Map<string, Set<string>>();
  /** group → direct members */
  private children = new Map<string, Set<string>>();
  private closure = new Map<string, string[]>();
  /**
   * The hot path's cache: per principal, its status and the grant maps of itself and every group
   * it is in, so a check is one lookup for the principal and one per subject. Entries are valid
   * while `epoch` matches; membership and principal changes bump it.
   */
  private hot = new Map<string, { epoch: number; status: PrincipalStatus; lists: Map<string, GrantEntry[]>[] }>();
  private epoch = 0;
  /** Bumped on every change; lets callers wait for "at least this fresh". */
  revision = 0;

  // ------------------------------------------------------------------ writes

  private invalidate(): void {
    this.closure.clear();
    this.epoch++;
  }

  upsertPrincipal(id: string, kind: PrincipalKind, status: PrincipalStatus): void {
    if (!this.grants.has(id)) this.grants.set(id, new Map());
    const prev = this.principals.get(id);
    this.principals.set(id, { kind, status });
    if (!prev || prev.status !== status) this.invalidate();
    this.revision++;
  }

  removePrincipal(id: string): void {
    this.principals.delete(id);
    this.setMembers(id, []);
    for (const g of this.parents.get(id) ?? []) this.children.get(g)?.delete(id);
    this.parents.delete(id);
    for (const [, e] of this.grantById) if (e.principalId === id) this.removeAssignment(e.id);
    for (const [, e] of this.eligById) if (e.principalId === id) this.removeEligibility(e.id);
    this.grants.delete(id);
    this.hot.delete(id);
    this.invalidate();
    this.revision++;
  }

  upsertRole(id: string): void {
    this.roles.add(id);
    this.revision++;
  }

  removeRole(id: string): void {
    this.roles.delete(id);
    this.revision++;
  }

  /** Replace a group's direct members. */
  setMembers(groupId: string, members: readonly string[]): void {
    for (const m of this.children.get(groupId) ?? []) this.parents.get(m)?.delete(groupId);
    const set = new Set(members);
    if (set.size) this.children.set(groupId, set);
    else this.children.delete(groupId);
    for (const m of set) {
      let p = this.parents.get(m);
      if (!p) this.parents.set(m, (p = new Set()));
      p.add(groupId);
    }
    this.invalidate();
    this.revision++;
  }

  /** Keep an assignment if it is active or scheduled; drop it otherwise. */
  upsertAssignment(a: Pick<Assignment, 'id' | 'principalId' | 'roleId' | 'scope' | 'startsAt' | 'endsAt' | 'status' | 'source'>): void {
    const prev = this.grantById.get(a.id);
    if (prev) drop(this.grants, prev.principalId, prev.roleId, prev.id);
    if (a.status === 'active' || a.status === 'scheduled') {
      const e: GrantEntry = {
        id: a.id,
        principalId: a.principalId,
        roleId: a.roleId,
        scope: a.scope,
        startsAt: a.startsAt,
        endsAt: a.endsAt ?? Infinity,
        source: a.source,
      };
      this.grantById.set(a.id, e);
      // A principal's first grant map appearing changes what cached checks must look at.
      if (put(this.grants, a.principalId, a.roleId, e)) this.epoch++;
    } else {
      this.grantById.delete(a.id);
    }
    this.revision++;
  }

  removeAssignment(id: string): void {
    const prev = this.grantById.get(id);
    if (!prev) return;
    drop(this.grants, prev.principalId, prev.roleId, id);
    this.grantById.delete(id);
    this.revision++;
  }

  upsertEligibility(e: Eligibility): void {
    const prev = this.eligById.get(e.id);
    if (prev) drop(this.eligs, prev.principalId, prev.roleId, prev.id);
    if (e.removedAt === null) {
      this.eligById.set(e.id, e);
      put(this.eligs, e.principalId, e.roleId, e);
    } else {
      this.eligById.delete(e.id);
    }
    this.revision++;
  }

  removeEligibility(id: string): void {
    const prev = this.eligById.get(id);
    if (!prev) return;
    drop(this.eligs, prev.principalId, prev.roleId, id);
    this.eligById.delete(id);
    this.revision++;
  }

  /** Take over another index's contents (a full reload built off to the side, swapped in at once). */
  replaceWith(other: DecisionIndex): void {
    this.grants = other.grants;
    this.grantById = other.grantById;
    this.eligs = other.eligs;
    this.eligById = other.eligById;
    this.principals = other.principals;
    this.roles = other.roles;
    this.parents = other.parents;
    this.children = other.children;
    this.closure = new Map();
    this.hot = new Map();
    this.epoch++;
    this.revision++;
  }

  // ------------------------------------------------------------------ reads

  /** The subject and every active group it belongs to, transitively. Cached until membership changes. */
  subjects(principalId: string): string[] {
    let c = this.closure.get(principalId);
    if (c) return c;
    c = [principalId];
    const seen = new Set(c);
    for (let i = 0; i < c.length; i++) {
      for (const g of this.parents.get(c[i]!) ?? []) {
        if (seen.has(g)) continue;
        seen.add(g);
        const gp = this.principals.get(g);
        if (gp && gp.status === 'active') c.push(g);
      }
    }
    this.closure.set(principalId, c);
    return c;
  }

  /** Every user or service principal in a group, nested groups expanded. */
  membersOf(groupId: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>([groupId]);
    const queue = [groupId];
    while (queue.length) {
      const g = queue.pop()!;
      for (const m of this.children.get(g) ?? []) {
        if (seen.has(m)) continue;
        seen.add(m);
        const p = this.principals.get(m);
        if (!p || p.status !== 'active') continue;
        if (p.kind === 'group') queue.push(m);
        else out.push(m);
      }
    }
    return out;
  }

  /** Would making `member` a member of `groupId` create a cycle? */
  wouldCycle(groupId: string, member: string): boolean {
    if (groupId === member) return true;
    const seen = new Set<string>();
    const stack = [member];
    while (stack.length) {
      const g = stack.pop()!;
      if (g === groupId) return true;
      if (seen.has(g)) continue;
      seen.add(g);
      for (const c of this.children.get(g) ?? []) stack.push(c);
    }
    return false;
  }

  directMembers(groupId: string): string[] {
    return [...(this.children.get(groupId) ?? [])];
  }

  principalInfo(id: string): { id: string; kind: PrincipalKind; status: PrincipalStatus } | null {
    const p = this.principals.get(id);
    return p ? { id, kind: p.kind, status: p.status } : null;
  }

  hasPrincipal(id: string): boolean {
    return this.principals.has(id);
  }

  private hotEntry(principalId: string) {
    let h = this.hot.get(principalId);
    if (h && h.epoch === this.epoch) return h;
    const p = this.principals.get(principalId);
    if (!p) return null;
    const lists: Map<string, GrantEntry[]>[] = [];
    for (const s of this.subjects(principalId)) {
      const m = this.grants.get(s);
      if (m) lists.push(m);
    }
    h = { epoch: this.epoch, status: p.status, lists };
    this.hot.set(principalId, h);
    return h;
  }

  check(principalId: string, roleId: string, scope: string, now: number): Decision {
    const h = this.hotEntry(principalId);
    if (!h) return DENY.unknown_principal;
    if (h.status !== 'active') return DENY.principal_suspended;
    let best: GrantEntry | null = null;
    for (let k = 0; k < h.lists.length; k++) {
      const list = h.lists[k]!.get(roleId);
      if (list === undefined) continue;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.startsAt <= now && now < e.endsAt && covers(e.scope, scope) && (best === null || e.endsAt > best.endsAt)) best = e;
      }
    }
    if (!this.roles.has(roleId)) return DENY.unknown_role;
    if (best === null) return DENY.no_active_assignment;
    return {
      allowed: true,
      reason: 'active_assignment',
      assignmentId: best.id,
      expiresAt: best.endsAt === Infinity ? null : best.endsAt,
      via: best.principalId === principalId ? null : best.principalId,
    };
  }

  /** Eligibilities for a role held by the principal or any of its groups (not yet filtered by time). */
  eligibilitiesFor(principalId: string, roleId: string): Eligibility[] {
    const out: Eligibility[] = [];
    for (const s of this.subjects(principalId)) {
      const list = this.eligs.get(s)?.get(roleId);
      if (list) out.push(...list);
    }
    return out;
  }

  /** Active or scheduled grants a principal holds directly for a role (for coverage extension). */
  grantsOf(principalId: string, roleId: string): readonly GrantEntry[] {
    return this.grants.get(principalId)?.get(roleId) ?? [];
  }

  /** Where a live grant came from (activation, direct, breakglass), or null when the index does not hold it. One map lookup. */
  sourceOf(assignmentId: string): Assignment['source'] | null {
    return this.grantById.get(assignmentId)?.source ?? null;
  }

  /** Grants in force at `now`, by source (for the standing vs just-in-time share in metrics). One pass over the grants. */
  grantCounts(now: number): Record<Assignment['source'], number> {
    const out: Record<Assignment['source'], number> = { activation: 0, direct: 0, breakglass: 0 };
    for (const e of this.grantById.values()) if (e.startsAt <= now && now < e.endsAt) out[e.source]++;
    return out;
  }

  /** Principals holding a role through a grant that never ends (lockout protection). */
  permanentHolders(roleId: string, scope: string): string[] {
    const out = new Set<string>();
    for (const e of this.grantById.values()) {
      if (e.roleId !== roleId || e.endsAt !== Infinity || !covers(e.scope, scope)) continue;
      const p = this.principals.get(e.principalId);
      if (!p || p.status !== 'active') continue;
      if (p.kind === 'group') for (const m of this.membersOf(e.principalId)) out.add(m);
      else out.add(e.principalId);
    }
    return [...out];
  }

  stats(): { principals: number; assignments: number; eligibilities: number; revision: number } {
    return { principals: this.principals.size, assignments: this.grantById.size, eligibilities: this.eligById.size, revision: this.revision };
  }
}
