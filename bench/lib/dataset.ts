import { randomUUID } from 'node:crypto';
import { bootstrap } from '../../src/app/index.js';
import type { Store } from '../../src/app/ports.js';
import { DecisionIndex } from '../../src/core/decision.js';
import type { Assignment, Eligibility, Principal, Role } from '../../src/core/model.js';
import { normalizeSettings } from '../../src/core/settings.js';
import { ADMIN_TOKEN } from '../../test/helpers/harness.js';
import { clock, LIMITS, log, pick, rng, scaled } from './common.js';

/**
 * The data set the decision-point and scale benchmarks share: users in groups, roles, scopes in a
 * three-level hierarchy (/env/team/service), eligibilities and active assignments held by users
 * and by groups. Generated from a fixed seed, bulk-loaded through the store's ports.
 */

export interface DatasetSize {
  users: number;
  groups: number;
  /** Groups each user is a direct member of. */
  groupsPerUser: number;
  roles: number;
  eligibilities: number;
  assignments: number;
}

export const FULL_SIZE: DatasetSize = { users: 100_000, groups: 1_000, groupsPerUser: 2, roles: 50, eligibilities: 1_000_000, assignments: 100_000 };

export function datasetSize(): DatasetSize {
  return {
    users: scaled(FULL_SIZE.users, 100),
    groups: scaled(FULL_SIZE.groups, 10),
    groupsPerUser: FULL_SIZE.groupsPerUser,
    roles: FULL_SIZE.roles,
    eligibilities: scaled(FULL_SIZE.eligibilities, 1000),
    assignments: scaled(FULL_SIZE.assignments, 100),
  };
}

export const ENVS = ['prod', 'staging', 'dev'] as const;
export const TEAMS = 20;
export const SERVICES = 10;

export const userId = (i: number): string => `u${String(i).padStart(6, '0')}`;
export const groupId = (i: number): string => `g${String(i).padStart(4, '0')}`;
export const roleId = (i: number): string => `r${String(i).padStart(2, '0')}`;

/** The groups user i is in: deterministic, so queries can be made without asking the store. */
export function groupsOf(i: number, size: DatasetSize): number[] {
  const out = new Set<number>();
  for (let k = 0; k < size.groupsPerUser; k++) out.add((i * (2 * k + 1) + k * 7919) % size.groups);
  return [...out];
}

/** A scope 1 to 3 levels deep. */
export function randomScope(r: () => number, minDepth = 1): string {
  const depth = minDepth + Math.floor(r() * (4 - minDepth));
  const env = pick(r, ENVS);
  const team = `t${String(Math.floor(r() * TEAMS)).padStart(2, '0')}`;
  const svc = `s${Math.floor(r() * SERVICES)}`;
  return depth === 1 ? `/${env}` : depth === 2 ? `/${env}/${team}` : `/${env}/${team}/${svc}`;
}

/** A scope at or below `scope`, down to a leaf and sometimes one level further. */
export function descend(r: () => number, scope: string): string {
  let s = scope;
  const depth = s.split('/').length - 1;
  if (depth < 2) s += `/t${String(Math.floor(r() * TEAMS)).padStart(2, '0')}`;
  if (depth < 3) s += `/s${Math.floor(r() * SERVICES)}`;
  if (r() < 0.3) s += '/db';
  return s;
}

export interface CheckQuery {
  principal: string;
  role: string;
  scope: string;
}

export interface SeededDataset {
  size: DatasetSize;
  /** Reference time: assignments run from t0 - 10 min to t0 + 1..8 h. */
  t0: number;
  /** The active assignments loaded (principal, role, scope), for questions that hit. */
  grants: { principalId: string; roleId: string; scope: string; endsAt: number }[];
  /** Wall-clock seconds per phase. */
  timings: Record<string, number>;
}

function role(id: string, now: number): Role {
  return {
    id,
    name: `Role ${id}`,
    description: 'benchmark role',
    riskTier: 'low',
    settings: normalizeSettings({ maxActivation: 'PT8H', justification: { required: false, minLength: 1 } }, 'low', LIMITS.minActivationMs),
    builtin: false,
    createdAt: now,
    updatedAt: now,
  };
}

function principal(id: string, kind: Principal['kind'], now: number): Principal {
  return { id, kind, name: id, email: kind === 'user' ? `${id}@example.com` : null, managerId: null, adminUnit: null, attributes: {}, status: 'active', createdAt: now, updatedAt: now };
}

/** Bootstrap (the admin holding elevate-admin, token ADMIN_TOKEN) on an empty store. */
export async function bootstrapStore(store: Store): Promise<void> {
  await bootstrap({ store, index: new DecisionIndex(), clock, newId: randomUUID, limits: LIMITS }, ADMIN_TOKEN);
}

async function inChunks<T>(store: Store, items: T[], per: number, fn: (tx: Parameters<Parameters<Store['transaction']>[0]>[0], part: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += per) {
    const part = items.slice(i, i + per);
    await store.transaction((tx) => fn(tx, part));
  }
}

/** Bootstrap, then bulk-load the data set. The store must be empty. */
export async function seedDataset(store: Store, size: DatasetSize, seed = 42): Promise<SeededDataset> {
  const r = rng(seed);
  const t0 = clock.now();
  const timings: Record<string, number> = {};
  const lap = (() => {
    let t = performance.now();
    return (name: string) => {
      const n = performance.now();
      timings[name] = (n - t) / 1000;
      t = n;
    };
  })();

  await bootstrapStore(store);
  const roles = Array.from({ length: size.roles }, (_, i) => role(roleId(i), t0));
  await store.transaction(async (tx) => {
    for (const x of roles) await store.roles.insert(tx, x);
  });

  const principals: Principal[] = [];
  for (let i = 0; i < size.groups; i++) principals.push(principal(groupId(i), 'group', t0));
  for (let i = 0; i < size.users; i++) principals.push(principal(userId(i), 'user', t0));
  await inChunks(store, principals, 10_000, async (tx, part) => {
    for (const p of part) await store.principals.insert(tx, p);
  });
  lap('principals');

  const members: string[][] = Array.from({ length: size.groups }, () => []);
  for (let i = 0; i < size.users; i++) for (const g of groupsOf(i, size)) members[g]!.push(userId(i));
  await inChunks(
    store,
    members.map((m, g) => ({ g, m })),
    100,
    async (tx, part) => {
      for (const { g, m } of part) await store.members.setMembers(tx, groupId(g), m);
    },
  );
  lap('memberships');

  // Eligibilities: 95 % held by users, 5 % by groups; half permanent, half ending in 90 days.
  const CHUNK = 50_000;
  for (let done = 0; done < size.eligibilities; done += CHUNK) {
    const n = Math.min(CHUNK, size.eligibilities - done);
    const es: Eligibility[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const byGroup = r() < 0.05;
      es[k] = {
        id: randomUUID(),
        principalId: byGroup ? groupId(Math.floor(r() * size.groups)) : userId(Math.floor(r() * size.users)),
        roleId: roleId(Math.floor(r() * size.roles)),
        scope: randomScope(r),
        startsAt: t0 - 86_400_000,
        endsAt: r() < 0.5 ? null : t0 + 90 * 86_400_000,
        justification: 'on-call rota',
        createdBy: 'admin',
        createdAt: t0,
        removedAt: null,
      };
    }
    await store.transaction((tx) => store.eligibilities.insertMany(tx, es));
  }
  lap('eligibilities');

  // Active assignments: 90 % users, 10 % groups; each lasts 1 to 8 hours from t0.
  const grants: SeededDataset['grants'] = [];
  const as: Assignment[] = [];
  for (let k = 0; k < size.assignments; k++) {
    const byGroup = r() < 0.1;
    const a: Assignment = {
      id: randomUUID(),
      principalId: byGroup ? groupId(Math.floor(r() * size.groups)) : userId(Math.floor(r() * size.users)),
      roleId: roleId(Math.floor(r() * size.roles)),
      scope: randomScope(r),
      source: 'activation',
      requestId: null,
      startsAt: t0 - 600_000,
      endsAt: t0 + 3_600_000 * (1 + Math.floor(r() * 8)),
      status: 'active',
      justification: 'incident response',
      createdBy: 'admin',
      createdAt: t0,
      endedAt: null,
    };
    as.push(a);
    grants.push({ principalId: a.principalId, roleId: a.roleId, scope: a.scope, endsAt: a.endsAt! });
  }
  await inChunks(store, as, 50_000, (tx, part) => store.assignments.insertMany(tx, part));
  lap('assignments');
  log(`seeded ${size.users} users, ${size.groups} groups, ${size.eligibilities} eligibilities, ${size.assignments} assignments: ${JSON.stringify(timings)}`);
  return { size, t0, grants, timings };
}

/**
 * Questions for the decision point: half of them about a grant that exists (asked by the holder,
 * or a member of the holding group, at the grant's scope or below), half about a random user,
 * role and scope (mostly denied).
 */
export function makeQueries(ds: SeededDataset, n: number, seed = 7): CheckQuery[] {
  const r = rng(seed);
  const out: CheckQuery[] = new Array(n);
  for (let k = 0; k < n; k++) {
    if (r() < 0.5 && ds.grants.length) {
      const g = pick(r, ds.grants);
      let principalId = g.principalId;
      if (principalId.startsWith('g')) {
        // groupsOf puts user i in group i % groups: pick one of those members.
        const gi = Number(principalId.slice(1));
        principalId = userId(gi + ds.size.groups * Math.floor(r() * Math.floor(ds.size.users / ds.size.groups)));
      }
      out[k] = { principal: principalId, role: g.roleId, scope: descend(r, g.scope) };
    } else {
      out[k] = { principal: userId(Math.floor(r() * ds.size.users)), role: roleId(Math.floor(r() * ds.size.roles)), scope: descend(r, randomScope(r, 3)) };
    }
  }
  return out;
}
