import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecisionIndex } from '../../src/core/decision.js';
import type { AssignmentStatus, PrincipalKind, PrincipalStatus } from '../../src/core/model.js';

/**
 * DecisionIndex against a brute-force reference model: plain maps and a fixpoint for group
 * closure, no caches. After every command, every (principal, role, scope) answer must agree.
 */

const T0 = Date.UTC(2024, 0, 1);
const U = 60_000; // one grid unit: a minute. Times sit on a grid so boundaries are hit exactly.
const at = (k: number) => T0 + k * U;

const PRINCIPALS: readonly string[] = ['u1', 'u2', 'u3', 's1', 'g1', 'g2', 'g3'];
const GROUPS: readonly string[] = PRINCIPALS.filter((p) => p.startsWith('g'));
/** Start out unknown to the index, so registering them later is exercised. */
const INITIALLY_UNKNOWN = new Set(['u3', 'g3']);
const ROLES: readonly string[] = ['r1', 'r2', 'r3'];
const INITIAL_ROLES: readonly string[] = ['r1', 'r2'];
const GRANT_SCOPES: readonly string[] = ['/', '/prod', '/prod/payments', '/prod/paymentsX', '/dev', '/dev/a/b'];
const CHECK_SCOPES: readonly string[] = [...GRANT_SCOPES, '/dev/a', '/prod/payments/eu', '/prodX'];
const ASSIGNMENT_IDS: readonly string[] = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];

const kindOf = (id: string): PrincipalKind => (id.startsWith('g') ? 'group' : id.startsWith('s') ? 'service' : 'user');

// ------------------------------------------------------------------------------------ the model

interface ModelGrant {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  startsAt: number;
  endsAt: number | null;
  status: AssignmentStatus;
}

interface Model {
  principals: Map<string, PrincipalStatus>;
  roles: Set<string>;
  /** group → direct members */
  members: Map<string, Set<string>>;
  grants: Map<string, ModelGrant>;
  now: number;
}

const modelCovers = (granted: string, target: string) => granted === '/' || target === granted || target.startsWith(granted + '/');

/** The subject and every registered, active group reachable through registered, active groups (fixpoint). */
function modelSubjects(m: Model, p: string): Set<string> {
  const s = new Set([p]);
  let changed = true;
  while (changed) {
    changed = false;
    for (const [g, mem] of m.members) {
      if (s.has(g) || m.principals.get(g) !== 'active') continue;
      if ([...mem].some((x) => s.has(x))) {
        s.add(g);
        changed = true;
      }
    }
  }
  return s;
}

/** Active users and services reachable from a group through active groups. */
function modelMembersOf(m: Model, g: string): string[] {
  const reached = new Set([g]);
  const out = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const x of [...reached]) {
      for (const y of m.members.get(x) ?? []) {
        if (m.principals.get(y) !== 'active') continue;
        if (kindOf(y) === 'group') {
          if (!reached.has(y)) {
            reached.add(y);
            changed = true;
          }
        } else out.add(y);
      }
    }
  }
  return [...out].sort();
}

interface Expected {
  allowed: boolean;
  reason: string;
  expiresAt: number | null;
  /** Any of these grants may be reported (ties on the end time). */
  bestIds: string[];
}

function modelCheck(m: Model, subjects: Set<string>, p: string, role: string, scope: string, now: number): Expected {
  const deny = (reason: string): Expected => ({ allowed: false, reason, expiresAt: null, bestIds: [] });
  const status = m.principals.get(p);
  if (status === undefined) return deny('unknown_principal');
  if (status !== 'active') return deny('principal_suspended');
  if (!m.roles.has(role)) return deny('unknown_role');
  const live = [...m.grants.values()].filter(
    (g) =>
      (g.status === 'active' || g.status === 'scheduled') &&
      subjects.has(g.principalId) &&
      g.roleId === role &&
      g.startsAt <= now &&
      (g.endsAt === null || now < g.endsAt) &&
      modelCovers(g.scope, scope),
  );
  if (live.length === 0) return deny('no_active_assignment');
  const end = (g: ModelGrant) => g.endsAt ?? Infinity;
  const best = Math.max(...live.map(end));
  return {
    allowed: true,
    reason: 'active_assignment',
    expiresAt: best === Infinity ? null : best,
    bestIds: live.filter((g) => end(g) === best).map((g) => g.id),
  };
}

// ------------------------------------------------------------------------------------ commands

type Cmd =
  | { t: 'assign'; id: string; p: string; role: string; scope: string; start: number; end: number | null; status: AssignmentStatus }
  | { t: 'unassign'; id: string }
  | { t: 'members'; g: string; members: string[] }
  | { t: 'status'; p: string; status: PrincipalStatus }
  | { t: 'removePrincipal'; p: string }
  | { t: 'role'; role: string; present: boolean }
  | { t: 'clockTo'; k: number }
  | { t: 'advance'; units: number }
  | { t: 'tick'; ms: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('assign' as const),
      id: fc.constantFrom(...ASSIGNMENT_IDS),
      p: fc.constantFrom(...PRINCIPALS),
      role: fc.constantFrom('r1', 'r1', 'r2', 'r3'),
      scope: fc.constantFrom(...GRANT_SCOPES),
      start: fc.integer({ min: 0, max: 20 }),
      end: fc.option(fc.integer({ min: 0, max: 30 }), { freq: 5 }),
      status: fc.constantFrom<AssignmentStatus>('active', 'active', 'active', 'scheduled', 'scheduled', 'revoked', 'expired', 'deactivated'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('unassign' as const), id: fc.constantFrom(...ASSIGNMENT_IDS) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('members' as const),
      g: fc.constantFrom(...GROUPS),
      // Any principal, groups included (nesting), the group itself included (cycles).
      members: fc.subarray([...PRINCIPALS]),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('status' as const), p: fc.constantFrom(...PRINCIPALS), status: fc.constantFrom<PrincipalStatus>('active', 'active', 'suspended') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('removePrincipal' as const), p: fc.constantFrom(...PRINCIPALS) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('role' as const), role: fc.constantFrom(...ROLES), present: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('clockTo' as const), k: fc.integer({ min: -2, max: 32 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), units: fc.integer({ min: -3, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.constantFrom(-1, 1) }) },
);

function apply(ix: DecisionIndex, m: Model, c: Cmd): void {
  switch (c.t) {
    case 'assign': {
      const a = { id: c.id, principalId: c.p, roleId: c.role, scope: c.scope, startsAt: at(c.start), endsAt: c.end === null ? null : at(c.end), status: c.status };
      ix.upsertAssignment({ ...a, source: 'activation' });
      if (c.status === 'active' || c.status === 'scheduled') m.grants.set(c.id, a);
      else m.grants.delete(c.id);
      return;
    }
    case 'unassign':
      ix.removeAssignment(c.id);
      m.grants.delete(c.id);
      return;
    case 'members':
      ix.setMembers(c.g, c.members);
      if (c.members.length) m.members.set(c.g, new Set(c.members));
      else m.members.delete(c.g);
      return;
    case 'status':
      ix.upsertPrincipal(c.p, kindOf(c.p), c.status);
      m.principals.set(c.p, c.status);
      return;
    case 'removePrincipal':
      ix.removePrincipal(c.p);
      m.principals.delete(c.p);
      m.members.delete(c.p);
      for (const set of m.members.values()) set.delete(c.p);
      for (const [id, g] of m.grants) if (g.principalId === c.p) m.grants.delete(id);
      return;
    case 'role':
      if (c.present) {
        ix.upsertRole(c.role);
        m.roles.add(c.role);
      } else {
        ix.removeRole(c.role);
        m.roles.delete(c.role);
      }
      return;
    case 'clockTo':
      m.now = at(c.k);
      return;
    case 'advance':
      m.now += c.units * U;
      return;
    case 'tick':
      m.now += c.ms;
      return;
  }
}

function fresh(): { ix: DecisionIndex; m: Model } {
  const ix = new DecisionIndex();
  const m: Model = { principals: new Map(), roles: new Set(), members: new Map(), grants: new Map(), now: at(5) };
  for (const p of PRINCIPALS) {
    if (INITIALLY_UNKNOWN.has(p)) continue;
    ix.upsertPrincipal(p, kindOf(p), 'active');
    m.principals.set(p, 'active');
  }
  for (const r of INITIAL_ROLES) {
    ix.upsertRole(r);
    m.roles.add(r);
  }
  return { ix, m };
}

function compareAll(ix: DecisionIndex, m: Model, step: number, cmd: Cmd | null): void {
  const where = () => `after step ${step} ${JSON.stringify(cmd)} at now=T0+${(m.now - T0) / U}min`;
  for (const p of PRINCIPALS) {
    const subjects = modelSubjects(m, p);
    for (const role of ROLES) {
      for (const scope of CHECK_SCOPES) {
        const want = modelCheck(m, subjects, p, role, scope, m.now);
        const got = ix.check(p, role, scope, m.now);
        const what = `check(${p}, ${role}, ${scope}) ${where()}`;
        assert.equal(got.allowed, want.allowed, `allowed: ${what}`);
        assert.equal(got.reason, want.reason, `reason: ${what}`);
        assert.equal(got.expiresAt, want.expiresAt, `expiresAt: ${what}`);
        if (want.allowed) {
          assert.ok(got.assignmentId !== null && want.bestIds.includes(got.assignmentId), `assignmentId ${got.assignmentId} not among ${want.bestIds.join(',')}: ${what}`);
          const holder = m.grants.get(got.assignmentId)!.principalId;
          assert.equal(got.via, holder === p ? null : holder, `via: ${what}`);
        } else {
          assert.equal(got.assignmentId, null, `assignmentId: ${what}`);
        }
      }
    }
  }
  for (const g of GROUPS) {
    if (m.principals.get(g) !== 'active') continue;
    assert.deepEqual([...ix.membersOf(g)].sort(), modelMembersOf(m, g), `membersOf(${g}) ${where()}`);
  }
}

describe('DecisionIndex against a brute-force model', () => {
  it('agrees on every (principal, role, scope) after every command (property)', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { minLength: 1, maxLength: 40, size: 'max' }), (cmds) => {
        const { ix, m } = fresh();
        compareAll(ix, m, 0, null);
        cmds.forEach((c, i) => {
          const rev = ix.revision;
          apply(ix, m, c);
          if (!['clockTo', 'advance', 'tick', 'unassign', 'removePrincipal'].includes(c.t)) assert.ok(ix.revision > rev, `revision did not move on ${c.t}`);
          compareAll(ix, m, i + 1, c);
        });
      }),
      // 600 runs of up to 40 commands: about 4 s, and enough to catch a stale group-closure cache reliably.
      { numRuns: Number(process.env.DECISION_RUNS ?? 600) },
    );
  });

  it('does not loop on membership cycles, and a cycle grants nothing extra', () => {
    const { ix, m } = fresh();
    const cmds: Cmd[] = [
      { t: 'members', g: 'g1', members: ['g2', 'u1'] },
      { t: 'members', g: 'g2', members: ['g1', 'g2'] },
      { t: 'members', g: 'g3', members: ['g3'] },
      { t: 'status', p: 'g3', status: 'active' },
      { t: 'assign', id: 'a0', p: 'g2', role: 'r1', scope: '/prod', start: 0, end: null, status: 'active' },
    ];
    for (const c of cmds) apply(ix, m, c);
    compareAll(ix, m, cmds.length, null);
    const d = ix.check('u1', 'r1', '/prod/payments', m.now);
    assert.equal(d.allowed, true);
    assert.equal(d.via, 'g2');
    assert.equal(d.expiresAt, null);
    assert.equal(ix.check('u2', 'r1', '/prod', m.now).allowed, false);
    assert.deepEqual(ix.membersOf('g2').sort(), ['u1']);
  });

  it('a grant held by a group reaches members of a group registered after the membership was read', () => {
    // g3 is unknown to the index at first; u1 is put in it and u1's groups are looked up.
    const { ix, m } = fresh();
    const seq: Cmd[] = [
      { t: 'members', g: 'g3', members: ['u1'] },
      { t: 'assign', id: 'a0', p: 'g3', role: 'r1', scope: '/', start: 0, end: 20, status: 'active' },
    ];
    for (const c of seq) apply(ix, m, c);
    assert.equal(ix.check('u1', 'r1', '/prod', m.now).allowed, false, 'an unknown group grants nothing');
    apply(ix, m, { t: 'status', p: 'g3', status: 'active' });
    const d = ix.check('u1', 'r1', '/prod', m.now);
    assert.equal(d.allowed, true, 'once g3 exists, its members hold its grant');
    assert.equal(d.via, 'g3');
    assert.equal(d.expiresAt, at(20));
  });

  it('suspending a group takes its grants away from its members, and reinstating it gives them back', () => {
    const { ix, m } = fresh();
    for (const c of [
      { t: 'members', g: 'g1', members: ['u1'] },
      { t: 'members', g: 'g2', members: ['g1'] },
      { t: 'assign', id: 'a0', p: 'g2', role: 'r1', scope: '/prod', start: 0, end: null, status: 'active' },
    ] satisfies Cmd[])
      apply(ix, m, c);
    assert.equal(ix.check('u1', 'r1', '/prod', m.now).allowed, true);
    apply(ix, m, { t: 'status', p: 'g1', status: 'suspended' });
    assert.equal(ix.check('u1', 'r1', '/prod', m.now).allowed, false, 'the path to g2 runs through a suspended group');
    apply(ix, m, { t: 'status', p: 'g1', status: 'active' });
    assert.equal(ix.check('u1', 'r1', '/prod', m.now).allowed, true);
    apply(ix, m, { t: 'status', p: 'u1', status: 'suspended' });
    assert.equal(ix.check('u1', 'r1', '/prod', m.now).reason, 'principal_suspended');
  });
});

describe('DecisionIndex: expiry is exact at the decision point', () => {
  const S = Date.parse('2024-05-01T12:00:00.000Z');
  const T = S + 3_600_000;

  function index(endsAt: number | null, status: AssignmentStatus = 'active'): DecisionIndex {
    const ix = new DecisionIndex();
    ix.upsertPrincipal('alice', 'user', 'active');
    ix.upsertRole('db-admin');
    ix.upsertAssignment({ id: 'a1', principalId: 'alice', roleId: 'db-admin', scope: '/prod/payments', startsAt: S, endsAt, status, source: 'activation' });
    return ix;
  }

  it('a grant ending at T is allowed at T-1 and denied at T', () => {
    const ix = index(T);
    const before = ix.check('alice', 'db-admin', '/prod/payments', T - 1);
    assert.equal(before.allowed, true);
    assert.equal(before.expiresAt, T);
    assert.equal(before.assignmentId, 'a1');
    const atEnd = ix.check('alice', 'db-admin', '/prod/payments', T);
    assert.equal(atEnd.allowed, false);
    assert.equal(atEnd.reason, 'no_active_assignment');
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments', T + 1).allowed, false);
  });

  it('a grant starting at S is denied at S-1 and allowed at S', () => {
    for (const status of ['active', 'scheduled'] as const) {
      const ix = index(T, status);
      assert.equal(ix.check('alice', 'db-admin', '/prod/payments', S - 1).allowed, false, status);
      assert.equal(ix.check('alice', 'db-admin', '/prod/payments', S).allowed, true, status);
    }
  });

  it('a permanent grant reports no expiry, and wins over a finite one', () => {
    const ix = index(T);
    ix.upsertAssignment({ id: 'a2', principalId: 'alice', roleId: 'db-admin', scope: '/prod', startsAt: S, endsAt: null, status: 'active', source: 'direct' });
    const d = ix.check('alice', 'db-admin', '/prod/payments', S + 1);
    assert.equal(d.allowed, true);
    assert.equal(d.expiresAt, null);
    assert.equal(d.assignmentId, 'a2');
  });

  it('the grant reported is the one that lasts longest', () => {
    const ix = index(T);
    ix.upsertAssignment({ id: 'a2', principalId: 'alice', roleId: 'db-admin', scope: '/', startsAt: S, endsAt: T + 5, status: 'active', source: 'activation' });
    ix.upsertAssignment({ id: 'a3', principalId: 'alice', roleId: 'db-admin', scope: '/prod', startsAt: S, endsAt: T + 2, status: 'active', source: 'activation' });
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments', S).expiresAt, T + 5);
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments', T + 4).expiresAt, T + 5);
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments', T + 5).allowed, false);
  });

  it('revoking ends access immediately, whatever the end time', () => {
    const ix = index(T);
    ix.upsertAssignment({ id: 'a1', principalId: 'alice', roleId: 'db-admin', scope: '/prod/payments', startsAt: S, endsAt: T, status: 'revoked', source: 'activation' });
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments', S + 1).allowed, false);
  });

  it('a grant at /prod/payments does not reach /prod/paymentsX or /prod', () => {
    const ix = index(T);
    assert.equal(ix.check('alice', 'db-admin', '/prod/payments/eu', S).allowed, true);
    assert.equal(ix.check('alice', 'db-admin', '/prod/paymentsX', S).allowed, false);
    assert.equal(ix.check('alice', 'db-admin', '/prod', S).allowed, false);
  });

  it('denies unknown principals and roles by default', () => {
    const ix = index(T);
    assert.equal(ix.check('mallory', 'db-admin', '/prod/payments', S).reason, 'unknown_principal');
    assert.equal(ix.check('alice', 'root', '/prod/payments', S).reason, 'unknown_role');
  });
});
