import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import type { AuditDraftRow, IndexChange, Store, Tx } from '../src/app/ports.js';
import { ChainVerifier, signCheckpoint } from '../src/core/audit.js';
import { Conflict } from '../src/core/errors.js';
import type { ActivationRequest, ApiToken, Approval, Assignment, Eligibility, Principal, Role } from '../src/core/model.js';
import { DEFAULT_SETTINGS } from '../src/core/settings.js';
import { openStore } from '../src/storage/index.js';

/**
 * One contract, every backend: SQLite always, PostgreSQL when ELEVATE_TEST_DATABASE_URL is set.
 * Each test gets a fresh store (a temp SQLite file, or a fresh PostgreSQL schema dropped after).
 */

const PG_URL = process.env.ELEVATE_TEST_DATABASE_URL;
const T = 1_772_442_000_000;

type Dialect = 'sqlite' | 'postgres';
interface Harness {
  store: Store;
  /** What the store logged (failed afterCommit callbacks, lost listener connections). */
  logs: string[];
  /** Open another store on the same database (another node, or a restart). */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

async function openHarness(dialect: Dialect): Promise<Harness> {
  const logs: string[] = [];
  const log = (msg: string) => logs.push(msg);
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'elevate-storage-'));
    const sqlitePath = join(dir, 'nested', 'elevate.db');
    const store = await openStore({ sqlitePath, log });
    return {
      store,
      logs,
      reopen: () => openStore({ sqlitePath, log }),
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `elevate_test_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ databaseUrl: PG_URL!, pgSchema: schema, log });
  return {
    store,
    logs,
    reopen: () => openStore({ databaseUrl: PG_URL!, pgSchema: schema, log }),
    async cleanup() {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}

// ---- fixtures ---------------------------------------------------------------------------------

const principal = (id: string, over: Partial<Principal> = {}): Principal => ({
  id,
  kind: 'user',
  name: `Name of ${id}`,
  email: `${id}@example.com`,
  managerId: null,
  adminUnit: 'emea',
  attributes: { team: 'payments', 'cost-center': '42' },
  status: 'active',
  createdAt: T,
  updatedAt: T,
  ...over,
});

const role = (id: string, over: Partial<Role> = {}): Role => ({
  id,
  name: `Role ${id}`,
  description: 'a role',
  riskTier: 'high',
  settings: { ...DEFAULT_SETTINGS, maxActivation: 'PT2H', approval: { ...DEFAULT_SETTINGS.approval, required: true, approvers: [{ group: 'sre' }, { manager: true }] } },
  builtin: false,
  createdAt: T,
  updatedAt: T,
  ...over,
});

const eligibility = (id: string, over: Partial<Eligibility> = {}): Eligibility => ({
  id,
  principalId: 'alice',
  roleId: 'db-admin',
  scope: '/prod',
  startsAt: T,
  endsAt: null,
  justification: 'on call rotation',
  createdBy: 'admin',
  createdAt: T,
  removedAt: null,
  ...over,
});

const assignment = (id: string, over: Partial<Assignment> = {}): Assignment => ({
  id,
  principalId: 'alice',
  roleId: 'db-admin',
  scope: '/prod',
  source: 'activation',
  requestId: null,
  startsAt: T,
  endsAt: T + 3_600_000,
  status: 'active',
  justification: 'incident 123',
  createdBy: 'alice',
  createdAt: T,
  endedAt: null,
  ...over,
});

const request = (id: string, over: Partial<ActivationRequest> = {}): ActivationRequest => ({
  id,
  kind: 'activate',
  principalId: 'alice',
  roleId: 'db-admin',
  scope: '/prod',
  durationMs: 3_600_000,
  justification: 'incident 123 needs a look',
  ticket: 'INC-123',
  startAt: null,
  status: 'pending_approval',
  stage: 0,
  timeoutAt: T + 86_400_000,
  assignmentId: null,
  eligibilityId: 'e1',
  reasons: ['approval_required'],
  context: {
    auth: { method: 'token', tokenId: 't1', sessionId: null, signIn: null, mfa: [{ method: 'webauthn', at: T - 1000 }], authenticatedAt: T - 5000 },
    sourceIp: '10.0.0.1',
    userAgent: 'elevate-cli/1.0',
  },
  createdAt: T,
  updatedAt: T,
  ...over,
});

const draft = (i: number, over: Partial<AuditDraftRow> = {}): AuditDraftRow => ({
  id: `ev-${i}`,
  ts: T + i,
  type: 'request.created',
  outcome: 'info',
  actorId: 'alice',
  principalId: 'alice',
  roleId: 'db-admin',
  scope: '/prod',
  requestId: `r-${i}`,
  reasons: [],
  data: { i, nested: { list: [1, 'two', null], unicode: 'é✓' } },
  ...over,
});

async function verifyChain(store: Store, checkpointsToo = false) {
  const { checkpoints, keys } = await store.transaction(async (tx) => ({ checkpoints: await store.audit.checkpoints(tx), keys: await store.audit.keys(tx) }));
  const v = new ChainVerifier(checkpointsToo ? checkpoints : [], new Map(keys.map((k) => [k.keyId, k.publicKeyPem])));
  for await (const page of store.audit.scan(1, 1000)) for (const e of page) v.push(e);
  return v.finish();
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(10);
  }
}

// ---- the contract -----------------------------------------------------------------------------

function contract(dialect: Dialect) {
  let h: Harness;
  let store: Store;
  const tx = <T>(fn: (tx: Tx) => Promise<T>) => store.transaction(fn);
  const pgOnly = dialect === 'postgres' ? false : 'PostgreSQL only: row locks and LISTEN/NOTIFY do not exist on the embedded store';

  beforeEach(async () => {
    h = await openHarness(dialect);
    store = h.store;
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('starts empty, and reopens an existing database (even from two nodes at once) with its data', async () => {
    assert.equal(store.dialect, dialect);
    assert.deepEqual(await tx((t) => store.audit.head(t)), { seq: 0, hash: '0'.repeat(64) });
    await tx(async (t) => {
      await store.principals.insert(t, principal('alice'));
      await store.audit.append(t, [draft(1)]);
    });
    const again = await Promise.all([h.reopen(), h.reopen()]);
    try {
      for (const s of again) {
        assert.deepEqual(await s.transaction((t) => s.principals.get(t, 'alice')), principal('alice'));
        assert.equal((await s.transaction((t) => s.audit.head(t))).seq, 1);
      }
    } finally {
      await Promise.all(again.map((s) => s.close()));
    }
  });

  it('round-trips principals, with list filters, keyset paging and count', async () => {
    await tx(async (t) => {
      await store.principals.insert(t, principal('alice', { managerId: 'bob' }));
      await store.principals.insert(t, principal('bob', { email: null, adminUnit: null, attributes: {} }));
      await store.principals.insert(t, principal('sre', { kind: 'group', email: null }));
      await store.principals.insert(t, principal('ci-bot', { kind: 'service' }));
    });
    await tx(async (t) => {
      assert.deepEqual(await store.principals.get(t, 'alice'), principal('alice', { managerId: 'bob' }));
      assert.deepEqual(await store.principals.get(t, 'bob'), principal('bob', { email: null, adminUnit: null, attributes: {} }));
      assert.equal(await store.principals.get(t, 'nobody'), null);
      assert.equal(await store.principals.count(t), 4);
      assert.deepEqual((await store.principals.list(t, { limit: 10 })).map((p) => p.id), ['alice', 'bob', 'ci-bot', 'sre']);
      assert.deepEqual((await store.principals.list(t, { limit: 2, after: 'alice' })).map((p) => p.id), ['bob', 'ci-bot']);
      assert.deepEqual((await store.principals.list(t, { kind: 'group', limit: 10 })).map((p) => p.id), ['sre']);

      const updated = principal('alice', { name: 'Alice A.', status: 'suspended', attributes: { team: 'core' }, updatedAt: T + 5 });
      await store.principals.update(t, updated);
      assert.deepEqual(await store.principals.get(t, 'alice'), updated);
      const p = (await store.principals.get(t, 'alice'))!;
      assert.equal(typeof p.createdAt, 'number');

      await store.principals.delete(t, 'ci-bot');
      assert.equal(await store.principals.get(t, 'ci-bot'), null);
      assert.equal(await store.principals.count(t), 3);
    });
  });

  it('turns a duplicate id into a Conflict and leaves the transaction to roll back', async () => {
    await tx((t) => store.principals.insert(t, principal('alice')));
    await assert.rejects(
      tx((t) => store.principals.insert(t, principal('alice'))),
      (e: unknown) => e instanceof Conflict && e.code === 'already_exists',
    );
    assert.equal(await tx((t) => store.principals.count(t)), 1);
  });

  it('replaces group members, removes a principal everywhere, and cascades on delete', async () => {
    await tx(async (t) => {
      for (const id of ['alice', 'bob', 'carol']) await store.principals.insert(t, principal(id));
      for (const id of ['sre', 'dba', 'ops']) await store.principals.insert(t, principal(id, { kind: 'group' }));
      await store.members.setMembers(t, 'sre', ['bob', 'alice', 'alice']);
      await store.members.setMembers(t, 'dba', ['alice', 'carol']);
      await store.members.setMembers(t, 'ops', ['sre', 'carol']);
    });
    await tx(async (t) => {
      assert.deepEqual(await store.members.members(t, 'sre'), ['alice', 'bob']);
      await store.members.setMembers(t, 'sre', ['carol']);
      assert.deepEqual(await store.members.members(t, 'sre'), ['carol']);
      await store.members.setMembers(t, 'sre', ['alice', 'bob']);
      assert.deepEqual(await store.members.members(t, 'nobody'), []);

      // alice leaves sre and dba; sre itself leaves ops and loses its members.
      assert.deepEqual(await store.members.removeEverywhere(t, 'alice'), ['dba', 'sre']);
      assert.deepEqual(await store.members.members(t, 'sre'), ['bob']);
      assert.deepEqual(await store.members.removeEverywhere(t, 'sre'), ['ops']);
      assert.deepEqual(await store.members.members(t, 'sre'), []);
      assert.deepEqual(await store.members.members(t, 'ops'), ['carol']);

      await store.principals.delete(t, 'carol');
      assert.deepEqual(await store.members.members(t, 'ops'), []);
      assert.deepEqual(await store.members.members(t, 'dba'), []);
    });
  });

  it('round-trips api tokens: unique hash, revoke once, touch', async () => {
    const tok = (id: string, hash: string): ApiToken => ({ id, principalId: 'alice', name: `token ${id}`, hash, createdAt: T, expiresAt: T + 1000, revokedAt: null, lastUsedAt: null });
    await tx(async (t) => {
      await store.principals.insert(t, principal('alice'));
      await store.tokens.insert(t, tok('t1', 'h1'));
      await store.tokens.insert(t, { ...tok('t2', 'h2'), createdAt: T + 1, expiresAt: null });
    });
    await assert.rejects(tx((t) => store.tokens.insert(t, tok('t3', 'h1'))), Conflict);
    await tx(async (t) => {
      assert.deepEqual(await store.tokens.byHash(t, 'h1'), tok('t1', 'h1'));
      assert.equal(await store.tokens.byHash(t, 'nope'), null);
      assert.deepEqual((await store.tokens.get(t, 't2'))?.expiresAt, null);
      assert.deepEqual((await store.tokens.listFor(t, 'alice')).map((x) => x.id), ['t1', 't2']);
      await store.tokens.touch(t, 't1', T + 50);
      await store.tokens.revoke(t, 't1', T + 100);
      await store.tokens.revoke(t, 't1', T + 200);
      const t1 = (await store.tokens.get(t, 't1'))!;
      assert.equal(t1.lastUsedAt, T + 50);
      assert.equal(t1.revokedAt, T + 100, 'a second revoke keeps the first time');
    });
  });

  it('round-trips roles with their settings and builtin flag', async () => {
    const r1 = role('db-admin');
    const r2 = role('elevate-admin', { builtin: true, riskTier: 'critical', settings: DEFAULT_SETTINGS });
    await tx(async (t) => {
      await store.roles.insert(t, r1);
      await store.roles.insert(t, r2);
    });
    await tx(async (t) => {
      assert.deepEqual(await store.roles.get(t, 'db-admin'), r1);
      assert.deepEqual(await store.roles.list(t), [r1, r2]);
      const changed = { ...r1, description: 'changed', settings: { ...r1.settings, windows: [] }, updatedAt: T + 9 };
      await store.roles.update(t, changed);
      assert.deepEqual(await store.roles.get(t, 'db-admin'), changed);
      await store.roles.delete(t, 'db-admin');
      assert.equal(await store.roles.get(t, 'db-admin'), null);
    });
  });

  it('round-trips eligibilities: filters, removal, keyset paging, bulk insert', async () => {
    await tx(async (t) => {
      await store.eligibilities.insert(t, eligibility('e1'));
      await store.eligibilities.insert(t, eligibility('e2', { principalId: 'sre', roleId: 'viewer', endsAt: T + 10 }));
      await store.eligibilities.insert(t, eligibility('e3', { principalId: 'bob' }));
    });
    await tx(async (t) => {
      assert.deepEqual(await store.eligibilities.get(t, 'e2'), eligibility('e2', { principalId: 'sre', roleId: 'viewer', endsAt: T + 10 }));
      await store.eligibilities.markRemoved(t, 'e3', T + 7);
      await store.eligibilities.markRemoved(t, 'e3', T + 8);
      assert.equal((await store.eligibilities.get(t, 'e3'))!.removedAt, T + 7);
      const ids = async (f: Parameters<Store['eligibilities']['list']>[1]) => (await store.eligibilities.list(t, f)).map((e) => e.id);
      assert.deepEqual(await ids({ limit: 10 }), ['e1', 'e2']);
      assert.deepEqual(await ids({ limit: 10, includeRemoved: true }), ['e1', 'e2', 'e3']);
      assert.deepEqual(await ids({ principalIds: ['alice', 'sre'], limit: 10 }), ['e1', 'e2']);
      assert.deepEqual(await ids({ principalIds: [], limit: 10 }), []);
      assert.deepEqual(await ids({ roleId: 'viewer', limit: 10 }), ['e2']);
      assert.deepEqual(await ids({ limit: 1, after: 'e1' }), ['e2']);
    });
    // Bulk: more rows than one statement may carry.
    const many = Array.from({ length: 5000 }, (_, i) => eligibility(`bulk-${String(i).padStart(5, '0')}`, { principalId: `u${i % 100}` }));
    await tx((t) => store.eligibilities.insertMany(t, many));
    await tx(async (t) => {
      assert.equal((await store.eligibilities.list(t, { limit: 10_000 })).length, 5002);
      assert.deepEqual(await store.eligibilities.get(t, 'bulk-04999'), many[4999]);
    });
  });

  it('round-trips assignments: filters, live, update, bulk insert', async () => {
    await tx(async (t) => {
      await store.assignments.insert(t, assignment('a1'));
      await store.assignments.insert(t, assignment('a2', { source: 'direct', endsAt: null, requestId: null }));
      await store.assignments.insert(t, assignment('a3', { status: 'expired', endedAt: T + 1, requestId: 'r1' }));
      await store.assignments.insert(t, assignment('a4', { principalId: 'bob', roleId: 'viewer', status: 'scheduled', startsAt: T + 1000 }));
    });
    await tx(async (t) => {
      assert.deepEqual(await store.assignments.get(t, 'a3'), assignment('a3', { status: 'expired', endedAt: T + 1, requestId: 'r1' }));
      const ids = async (f: Parameters<Store['assignments']['list']>[1]) => (await store.assignments.list(t, f)).map((a) => a.id);
      assert.deepEqual(await ids({ limit: 10 }), ['a1', 'a2', 'a3', 'a4']);
      assert.deepEqual(await ids({ live: true, limit: 10 }), ['a1', 'a2', 'a4']);
      assert.deepEqual(await ids({ live: false, limit: 10 }), ['a3']);
      assert.deepEqual(await ids({ source: 'direct', limit: 10 }), ['a2']);
      assert.deepEqual(await ids({ principalId: 'bob', limit: 10 }), ['a4']);
      assert.deepEqual(await ids({ roleId: 'db-admin', limit: 2, after: 'a1' }), ['a2', 'a3']);
      const ended = { ...assignment('a1'), status: 'revoked' as const, endedAt: T + 60 };
      await store.assignments.update(t, ended);
      assert.deepEqual(await store.assignments.get(t, 'a1'), ended);
    });
    const many = Array.from({ length: 3000 }, (_, i) => assignment(`bulk-${String(i).padStart(4, '0')}`));
    await tx((t) => store.assignments.insertMany(t, many));
    assert.equal((await tx((t) => store.assignments.list(t, { limit: 10_000 }))).length, 3004);
  });

  it('leases due assignments: expire takes ended live grants, start takes scheduled ones that have come', async () => {
    const now = T + 10_000;
    await tx((t) =>
      store.assignments.insertMany(t, [
        assignment('ends-past', { endsAt: now - 10 }),
        assignment('ends-now', { endsAt: now }),
        assignment('ends-later', { endsAt: now + 1 }),
        assignment('permanent', { endsAt: null, source: 'direct' }),
        assignment('already-expired', { endsAt: now - 100, status: 'expired', endedAt: now - 100 }),
        assignment('sched-passed-end', { status: 'scheduled', startsAt: now - 50, endsAt: now - 5 }),
        assignment('sched-due', { status: 'scheduled', startsAt: now - 1, endsAt: now + 500 }),
        assignment('sched-later', { status: 'scheduled', startsAt: now + 1, endsAt: now + 500 }),
      ]),
    );
    await tx(async (t) => {
      assert.deepEqual((await store.assignments.leaseDue(t, 'expire', now, 10)).map((a) => a.id), ['ends-past', 'sched-passed-end', 'ends-now']);
      assert.deepEqual((await store.assignments.leaseDue(t, 'expire', now, 1)).map((a) => a.id), ['ends-past']);
      assert.deepEqual((await store.assignments.leaseDue(t, 'start', now, 10)).map((a) => a.id), ['sched-passed-end', 'sched-due']);
    });
  });

  it('round-trips requests, with idempotency keys unique per principal', async () => {
    const r1 = request('r1');
    await tx(async (t) => {
      await store.requests.insert(t, r1, { key: 'k-1', fingerprint: 'fp-1' });
      await store.requests.insert(t, request('r2', { principalId: 'bob' }), { key: 'k-1', fingerprint: 'fp-2' });
      await store.requests.insert(t, request('r3', { status: 'active', assignmentId: 'a1', timeoutAt: null, ticket: null, reasons: [] }), null);
      await store.requests.insert(t, request('r4', { status: 'expired', assignmentId: 'a1' }), null);
    });
    await assert.rejects(
      tx((t) => store.requests.insert(t, request('r5'), { key: 'k-1', fingerprint: 'fp-3' })),
      (e: unknown) => e instanceof Conflict && e.code === 'idempotency_key_in_use',
    );
    await assert.rejects(
      tx((t) => store.requests.insert(t, request('r1'), null)),
      (e: unknown) => e instanceof Conflict && e.code === 'already_exists',
    );
    await tx(async (t) => {
      assert.deepEqual(await store.requests.get(t, 'r1'), r1);
      assert.equal(await store.requests.get(t, 'r5'), null);
      assert.deepEqual(await store.requests.byIdempotencyKey(t, 'alice', 'k-1'), { request: r1, fingerprint: 'fp-1' });
      assert.equal((await store.requests.byIdempotencyKey(t, 'bob', 'k-1'))?.request.id, 'r2');
      assert.equal(await store.requests.byIdempotencyKey(t, 'alice', 'k-2'), null);
      assert.deepEqual(await store.requests.getForUpdate(t, 'r1'), r1);

      const next = { ...r1, status: 'approved' as const, stage: 1, timeoutAt: null, reasons: [], updatedAt: T + 3 };
      await store.requests.update(t, next);
      assert.deepEqual(await store.requests.get(t, 'r1'), next);
      assert.equal((await store.requests.byIdempotencyKey(t, 'alice', 'k-1'))?.fingerprint, 'fp-1', 'an update keeps the key');

      const ids = async (f: Parameters<Store['requests']['list']>[1]) => (await store.requests.list(t, f)).map((r) => r.id);
      assert.deepEqual(await ids({ limit: 10 }), ['r1', 'r2', 'r3', 'r4']);
      assert.deepEqual(await ids({ principalId: 'alice', status: 'active', limit: 10 }), ['r3']);
      assert.deepEqual(await ids({ roleId: 'db-admin', after: 'r2', limit: 1 }), ['r3']);
      assert.deepEqual((await store.requests.byAssignment(t, 'a1')).map((r) => r.id), ['r3'], 'terminal requests are not live');
      assert.deepEqual((await store.requests.pending(t, 10)).map((r) => r.id), ['r2']);
    });
  });

  it('leases timed-out pending requests', async () => {
    const now = T + 1000;
    await tx(async (t) => {
      await store.requests.insert(t, request('late', { timeoutAt: now - 1 }), null);
      await store.requests.insert(t, request('exact', { timeoutAt: now }), null);
      await store.requests.insert(t, request('not-yet', { timeoutAt: now + 1 }), null);
      await store.requests.insert(t, request('approved', { status: 'approved', timeoutAt: now - 5 }), null);
    });
    assert.deepEqual((await tx((t) => store.requests.leaseTimedOut(t, now, 10))).map((r) => r.id), ['late', 'exact']);
  });

  it('round-trips approvals in the order they were made', async () => {
    const ap = (id: string, at: number, over: Partial<Approval> = {}): Approval => ({ id, requestId: 'r1', approverId: 'bob', decision: 'approve', reason: 'ok', stage: 0, adminUnit: 'emea', createdAt: at, ...over });
    await tx(async (t) => {
      await store.requests.insert(t, request('r1'), null);
      await store.approvals.insert(t, ap('z', T + 1));
      await store.approvals.insert(t, ap('a', T + 2, { approverId: 'carol', decision: 'deny', adminUnit: null, stage: 1 }));
    });
    assert.deepEqual(await tx((t) => store.approvals.forRequest(t, 'r1')), [ap('z', T + 1), ap('a', T + 2, { approverId: 'carol', decision: 'deny', adminUnit: null, stage: 1 })]);
    assert.deepEqual(await tx((t) => store.approvals.forRequest(t, 'other')), []);
  });

  it('runs afterCommit callbacks after commit, in order, and never after a rollback', async () => {
    const seen: string[] = [];
    const result = await tx(async (t) => {
      t.afterCommit(() => seen.push('first'));
      t.afterCommit(() => {
        throw new Error('a failing callback is logged, not thrown');
      });
      t.afterCommit(() => seen.push('second'));
      await store.principals.insert(t, principal('alice'));
      assert.deepEqual(seen, [], 'nothing runs before commit');
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(seen, ['first', 'second']);
    assert.equal(h.logs.length, 1);
    assert.match(h.logs[0]!, /afterCommit callback failed: .*a failing callback is logged/);

    seen.length = 0;
    await assert.rejects(
      tx(async (t) => {
        t.afterCommit(() => seen.push('rolled back'));
        await store.principals.insert(t, principal('bob'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(seen, []);
  });

  it('leaves no rows and no audit events behind a rolled-back transaction', async () => {
    await tx((t) => store.audit.append(t, [draft(1)]));
    const before = await tx((t) => store.audit.head(t));
    await assert.rejects(
      tx(async (t) => {
        await store.principals.insert(t, principal('alice'));
        await store.eligibilities.insert(t, eligibility('e1'));
        await store.requests.insert(t, request('r1'), { key: 'k', fingerprint: 'f' });
        await store.audit.append(t, [draft(2), draft(3)]);
        throw new Error('rollback');
      }),
      /rollback/,
    );
    await tx(async (t) => {
      assert.equal(await store.principals.count(t), 0);
      assert.equal(await store.eligibilities.get(t, 'e1'), null);
      assert.equal(await store.requests.byIdempotencyKey(t, 'alice', 'k'), null);
      assert.deepEqual(await store.audit.head(t), before);
      assert.equal((await store.audit.query(t, { limit: 10 })).length, 1);
    });
    // The chain continues from the committed head, with no gap.
    await tx((t) => store.audit.append(t, [draft(4)]));
    const report = await verifyChain(store);
    assert.equal(report.ok, true, JSON.stringify(report.firstBadEvent));
    assert.equal(report.events, 2);
  });

  it('refuses a nested transaction instead of deadlocking, and queues concurrent ones', async () => {
    await assert.rejects(
      tx(() => tx(async () => 1)),
      /inside a transaction/,
    );
    await assert.rejects(
      tx(async () => {
        for await (const page of store.audit.scan(1, 10)) void page;
      }),
      /inside a transaction/,
    );
    // A handle used after its transaction ended is refused, not silently run elsewhere.
    let leaked: Tx | null = null;
    await tx(async (t) => {
      leaked = t;
    });
    await assert.rejects(store.principals.get(leaked!, 'alice'), /finished/);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tx(async (t) => {
          await store.principals.insert(t, principal(`p${i}`));
          await store.audit.append(t, [draft(i)]);
        }),
      ),
    );
    assert.equal(await tx((t) => store.principals.count(t)), 20);
    assert.equal((await verifyChain(store)).ok, true);
  });

  it('appends audit events that chain across transactions and verify', async () => {
    const first = await tx((t) => store.audit.append(t, [draft(1), draft(2, { reasons: ['no_eligibility', 'mfa_required'], outcome: 'denied' })]));
    assert.deepEqual(
      first.map((e) => e.seq),
      [1, 2],
    );
    assert.equal(first[0]!.prevHash, '0'.repeat(64));
    assert.equal(first[1]!.prevHash, first[0]!.hash);
    assert.deepEqual(await tx((t) => store.audit.append(t, [])), []);
    const second = await tx((t) => store.audit.append(t, [draft(3, { actorId: null, principalId: null, roleId: null, scope: null, requestId: null, data: {} })]));
    assert.equal(second[0]!.seq, 3);
    assert.equal(second[0]!.prevHash, first[1]!.hash);
    assert.deepEqual(await tx((t) => store.audit.head(t)), { seq: 3, hash: second[0]!.hash });
    assert.deepEqual(await tx((t) => store.audit.lockHead(t)), { seq: 3, hash: second[0]!.hash });

    // What comes back is exactly what was appended.
    assert.deepEqual(await tx((t) => store.audit.query(t, { limit: 10 })), [...first, ...second]);
    const report = await verifyChain(store);
    assert.equal(report.ok, true, JSON.stringify(report.firstBadEvent));
    assert.equal(report.events, 3);
    assert.equal(report.head, second[0]!.hash);
  });

  it('queries audit events by principal, actor, role, type (exact or prefix), outcome, time and seq', async () => {
    await tx((t) =>
      store.audit.append(t, [
        draft(1, { type: 'request.created' }),
        draft(2, { type: 'request.denied', outcome: 'denied', principalId: 'bob' }),
        draft(3, { type: 'requests.other', actorId: 'carol' }),
        draft(4, { type: 'assignment.activated', outcome: 'allowed', roleId: 'viewer' }),
        draft(5, { type: 'request_x.created', actorId: 'system' }),
      ]),
    );
    await tx(async (t) => {
      const seqs = async (f: Omit<Parameters<Store['audit']['query']>[1], 'limit'>, limit = 100) => (await store.audit.query(t, { ...f, limit })).map((e) => e.seq);
      assert.deepEqual(await seqs({}), [1, 2, 3, 4, 5]);
      assert.deepEqual(await seqs({ principalId: 'bob' }), [2]);
      assert.deepEqual(await seqs({ actorId: 'carol' }), [3]);
      assert.deepEqual(await seqs({ roleId: 'viewer' }), [4]);
      assert.deepEqual(await seqs({ type: 'request.denied' }), [2]);
      assert.deepEqual(await seqs({ type: 'request.*' }), [1, 2], 'a prefix matches whole segments only');
      assert.deepEqual(await seqs({ outcome: 'denied' }), [2]);
      assert.deepEqual(await seqs({ from: T + 2, to: T + 4 }), [2, 3, 4], 'from and to are inclusive');
      assert.deepEqual(await seqs({ afterSeq: 3 }), [4, 5]);
      assert.deepEqual(await seqs({ afterSeq: 1 }, 2), [2, 3]);
    });
  });

  it('scans the whole chain in keyset pages', async () => {
    const total = 2500;
    for (let i = 0; i < total; i += 500) await tx((t) => store.audit.append(t, Array.from({ length: 500 }, (_, k) => draft(i + k))));
    const sizes: number[] = [];
    let expected = 1;
    for await (const page of store.audit.scan(1, 1000)) {
      sizes.push(page.length);
      for (const e of page) assert.equal(e.seq, expected++);
    }
    assert.deepEqual(sizes, [1000, 1000, 500]);
    const tail: number[] = [];
    for await (const page of store.audit.scan(2401, 50)) tail.push(...page.map((e) => e.seq));
    assert.equal(tail.length, 100);
    assert.equal(tail[0], 2401);
    const exact: number[] = [];
    for await (const page of store.audit.scan(1501, 1000)) exact.push(page.length);
    assert.deepEqual(exact, [1000], 'a last page that is exactly full ends the scan');
    const report = await verifyChain(store);
    assert.equal(report.ok, true);
    assert.equal(report.events, total);
  });

  it('stores signed checkpoints and keys, and a verifier accepts them', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await tx((t) => store.audit.append(t, [draft(1), draft(2)]));
    await tx(async (t) => {
      await store.audit.putKey(t, 'k1', pem, T);
      await store.audit.putKey(t, 'k1', pem, T + 1); // idempotent
      assert.equal(await store.audit.lastCheckpoint(t), null);
      const head = await store.audit.lockHead(t);
      await store.audit.insertCheckpoint(t, signCheckpoint({ seq: head.seq, hash: head.hash, ts: T + 2, keyId: 'k1' }, privateKey));
    });
    await assert.rejects(tx((t) => store.audit.putKey(t, 'k1', 'another key', T)), Conflict);
    await tx((t) => store.audit.append(t, [draft(3)]));
    await tx(async (t) => {
      const head = await store.audit.lockHead(t);
      await store.audit.insertCheckpoint(t, signCheckpoint({ seq: head.seq, hash: head.hash, ts: T + 3, keyId: 'k1' }, privateKey));
    });
    await tx(async (t) => {
      assert.deepEqual(await store.audit.keys(t), [{ keyId: 'k1', publicKeyPem: pem, createdAt: T }]);
      assert.deepEqual((await store.audit.checkpoints(t)).map((c) => c.seq), [2, 3]);
      assert.equal((await store.audit.lastCheckpoint(t))?.seq, 3);
    });
    const report = await verifyChain(store, true);
    assert.equal(report.ok, true, JSON.stringify(report.firstBadEvent));
    assert.equal(report.checkpoints, 2);
  });

  it('streams what the decision index needs', async () => {
    await tx(async (t) => {
      for (const id of ['alice', 'bob']) await store.principals.insert(t, principal(id));
      await store.principals.insert(t, principal('carol', { status: 'suspended' }));
      for (const id of ['sre', 'dba']) await store.principals.insert(t, principal(id, { kind: 'group' }));
      await store.members.setMembers(t, 'sre', ['alice', 'bob']);
      await store.members.setMembers(t, 'dba', ['carol']);
      await store.roles.insert(t, role('db-admin'));
      await store.eligibilities.insertMany(t, [eligibility('e1'), eligibility('e2', { removedAt: T + 1 }), eligibility('e3', { endsAt: T - 1 })]);
      await store.assignments.insertMany(t, [assignment('a1'), assignment('a2', { status: 'scheduled' }), assignment('a3', { status: 'expired' })]);
    });
    const got = { principals: [] as string[], roles: [] as string[], members: new Map<string, string[]>(), eligibilities: [] as Eligibility[], assignments: [] as string[] };
    await store.loadIndex({
      principal: (id, kind, status) => got.principals.push(`${id}:${kind}:${status}`),
      role: (id) => got.roles.push(id),
      members: (g, m) => {
        assert.equal(got.members.has(g), false, 'each group arrives once');
        got.members.set(g, m);
      },
      eligibility: (e) => got.eligibilities.push(e),
      assignment: (a) => got.assignments.push(a.id),
    });
    assert.deepEqual(got.principals.sort(), ['alice:user:active', 'bob:user:active', 'carol:user:suspended', 'dba:group:active', 'sre:group:active']);
    assert.deepEqual(got.roles, ['db-admin']);
    assert.deepEqual(Object.fromEntries(got.members), { dba: ['carol'], sre: ['alice', 'bob'] });
    assert.deepEqual(got.eligibilities.sort((a, b) => a.id.localeCompare(b.id)), [eligibility('e1'), eligibility('e3', { endsAt: T - 1 })]);
    assert.deepEqual(got.assignments.sort(), ['a1', 'a2']);
  });

  it('accepts publish on every backend, and listen returns a closer', async () => {
    const close = await store.listen(() => {});
    await tx((t) => store.changes.publish(t, { kind: 'role', id: 'db-admin' }));
    await close();
  });

  // ---- PostgreSQL only: behaviour under concurrency --------------------------------------------

  it('never leases one due assignment to two transactions (SKIP LOCKED)', { skip: pgOnly }, async () => {
    const now = T + 10_000;
    await tx((t) => store.assignments.insertMany(t, Array.from({ length: 10 }, (_, i) => assignment(`a${i}`, { endsAt: now - 100 + i }))));
    const leasedA = deferred<string[]>();
    const releaseA = deferred();
    const a = tx(async (t) => {
      leasedA.resolve((await store.assignments.leaseDue(t, 'expire', now, 4)).map((x) => x.id));
      await releaseA.promise;
    });
    const idsA = await leasedA.promise;
    const idsB = await tx(async (t) => (await store.assignments.leaseDue(t, 'expire', now, 100)).map((x) => x.id));
    releaseA.resolve();
    await a;
    assert.deepEqual(idsA, ['a0', 'a1', 'a2', 'a3']);
    assert.deepEqual(idsB, ['a4', 'a5', 'a6', 'a7', 'a8', 'a9']);

    // The same for timed-out requests.
    await tx(async (t) => {
      for (let i = 0; i < 4; i++) await store.requests.insert(t, request(`r${i}`, { timeoutAt: now - 10 + i }), null);
    });
    const leasedR = deferred<string[]>();
    const releaseR = deferred();
    const r = tx(async (t) => {
      leasedR.resolve((await store.requests.leaseTimedOut(t, now, 2)).map((x) => x.id));
      await releaseR.promise;
    });
    const idsR = await leasedR.promise;
    const idsR2 = await tx(async (t) => (await store.requests.leaseTimedOut(t, now, 10)).map((x) => x.id));
    releaseR.resolve();
    await r;
    assert.deepEqual(idsR, ['r0', 'r1']);
    assert.deepEqual(idsR2, ['r2', 'r3']);
  });

  it('locks a request read for update until its transaction ends', { skip: pgOnly }, async () => {
    await tx((t) => store.requests.insert(t, request('r1'), null));
    const locked = deferred();
    const release = deferred();
    const a = tx(async (t) => {
      await store.requests.getForUpdate(t, 'r1');
      locked.resolve();
      await release.promise;
      await store.requests.update(t, request('r1', { status: 'approved' }));
    });
    await locked.promise;
    let bDone = false;
    const b = tx(async (t) => {
      const got = await store.requests.getForUpdate(t, 'r1');
      bDone = true;
      return got?.status;
    });
    await sleep(150);
    assert.equal(bDone, false, 'the second reader waits for the lock');
    release.resolve();
    await a;
    assert.equal(await b, 'approved', 'and then sees the committed state');
  });

  it('keeps one unbroken chain under concurrent appends', { skip: pgOnly }, async () => {
    const writers = 12;
    const perWriter = 25;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        tx(async (t) => {
          for (let k = 0; k < perWriter; k += 5) {
            await store.audit.append(t, Array.from({ length: 5 }, (_, j) => draft(w * 1000 + k + j)));
            await sleep(1);
          }
        }),
      ),
    );
    const report = await verifyChain(store);
    assert.equal(report.ok, true, JSON.stringify(report.firstBadEvent));
    assert.equal(report.events, writers * perWriter);
    assert.equal((await tx((t) => store.audit.head(t))).seq, writers * perWriter);
  });

  it('delivers a published change to listeners only after commit, and never after a rollback', { skip: pgOnly }, async () => {
    const heard: IndexChange[] = [];
    const close = await store.listen((c) => heard.push(c));
    try {
      const published = deferred();
      const commit = deferred();
      const done = tx(async (t) => {
        await store.changes.publish(t, { kind: 'eligibility', id: 'e1', origin: 'node-a' });
        published.resolve();
        await commit.promise;
      });
      await published.promise;
      await sleep(150);
      assert.deepEqual(heard, [], 'nothing is heard before commit');
      commit.resolve();
      await done;
      await waitFor(() => heard.length === 1);
      assert.deepEqual(heard, [{ kind: 'eligibility', id: 'e1', origin: 'node-a' }]);

      await assert.rejects(
        tx(async (t) => {
          await store.changes.publish(t, { kind: 'role', id: 'rolled-back' });
          throw new Error('rollback');
        }),
      );
      await tx((t) => store.changes.publish(t, { kind: 'role', id: 'marker' }));
      await waitFor(() => heard.length === 2);
      assert.deepEqual(heard[1], { kind: 'role', id: 'marker' });
    } finally {
      await close();
    }
    // A closed listener hears nothing more.
    await tx((t) => store.changes.publish(t, { kind: 'role', id: 'after-close' }));
    await sleep(100);
    assert.equal(heard.length, 2);
  });

  it('keeps stores in different schemas from hearing each other', { skip: pgOnly }, async () => {
    const other = await openHarness('postgres');
    try {
      const heard: IndexChange[] = [];
      const close = await store.listen((c) => heard.push(c));
      await other.store.transaction((t) => other.store.changes.publish(t, { kind: 'role', id: 'elsewhere' }));
      await tx((t) => store.changes.publish(t, { kind: 'role', id: 'here' }));
      await waitFor(() => heard.length >= 1);
      await sleep(100);
      assert.deepEqual(heard, [{ kind: 'role', id: 'here' }]);
      await close();
    } finally {
      await other.cleanup();
    }
  });
}

describe('storage contract: sqlite', () => contract('sqlite'));

describe(
  'storage contract: postgres',
  { skip: PG_URL ? false : 'ELEVATE_TEST_DATABASE_URL is not set, so the PostgreSQL half of the contract was skipped (set it to e.g. postgres://postgres@127.0.0.1:5432/test)' },
  () => contract('postgres'),
);
