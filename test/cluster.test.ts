import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN, PG_SKIP, T0, freshStore, startServer, testSigner, user, type TestServer } from './helpers/harness.js';

/** Two stateless nodes on one PostgreSQL: jobs are leased once, revocations reach the other node's index within a second. */
describe('two nodes on one PostgreSQL', { skip: PG_SKIP }, () => {
  let a: TestServer, b: TestServer;
  let cleanupSchema: () => Promise<void>;
  const clock = new ManualClock(T0);

  before(async () => {
    const first = await freshStore('postgres');
    cleanupSchema = first.cleanup;
    const signer = testSigner();
    a = await startServer('postgres', { clock, store: { store: first.store, cleanup: async () => {} }, signer });
    const second = await freshStore('postgres', { schema: first.schema! });
    b = await startServer('postgres', { clock, store: { store: second.store, cleanup: async () => {} }, signer });
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await cleanupSchema?.();
  });

  async function until(pred: () => Promise<boolean>, ms: number): Promise<number> {
    const t = performance.now();
    while (performance.now() - t < ms) {
      if (await pred()) return performance.now() - t;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`not within ${ms} ms`);
  }

  test('a grant made on one node is answered by the other, and a revocation there within a second', async () => {
    const tok = await user(a, 'alice');
    assert.equal((await a.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'ops', riskTier: 'low' })).status, 201);
    assert.equal((await a.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' })).status, 201);
    const r = await a.call('POST', '/api/v1/requests', tok, { roleId: 'ops', scope: '/prod', duration: 'PT10M', justification: 'Rolling restart of the fleet' });
    assert.equal(r.body.status, 'active', JSON.stringify(r.body));
    const allowedOnB = async () => (await b.call('GET', '/api/v1/check?principal=alice&role=ops&scope=/prod', ADMIN_TOKEN)).body.allowed === true;
    await until(allowedOnB, 1000);
    const rev = await a.call('POST', `/api/v1/assignments/${r.body.assignmentId}/revoke`, ADMIN_TOKEN, { reason: 'incident over' });
    assert.equal(rev.status, 200);
    const took = await until(async () => !(await allowedOnB()), 1000);
    assert.ok(took < 1000);
  });

  test('a node whose change feed dropped reloads its index and catches up', async () => {
    const tok = await user(a, 'frank');
    await a.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'frank', roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' });
    const pgm = (await import('pg')).default;
    const c = new pgm.Client({ connectionString: process.env.ELEVATE_TEST_DATABASE_URL });
    await c.connect();
    // Cut every LISTEN connection (both nodes'); the grant below is published while they are down.
    await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'listen %' AND pid <> pg_backend_pid()`);
    await c.end();
    const r = await a.call('POST', '/api/v1/requests', tok, { roleId: 'ops', scope: '/prod', duration: 'PT10M', justification: 'Rolling restart of the fleet' });
    assert.equal(r.body.status, 'active');
    await until(async () => (await b.call('GET', '/api/v1/check?principal=frank&role=ops&scope=/prod', ADMIN_TOKEN)).body.allowed === true, 5000);
  });

  test("a node's own writes made while it reloads its index are kept", async () => {
    // Hold node a's reload after it has read the database, so the writes below land between the
    // read and the swap: without replaying them, the loaded index would not know gail at all.
    const orig = a.store.loadIndex.bind(a.store);
    let read!: () => void;
    let release!: () => void;
    const wasRead = new Promise<void>((r) => (read = r));
    const gate = new Promise<void>((r) => (release = r));
    a.store.loadIndex = async (sink) => {
      await orig(sink);
      read();
      await gate;
    };
    try {
      const pgm = (await import('pg')).default;
      const c = new pgm.Client({ connectionString: process.env.ELEVATE_TEST_DATABASE_URL });
      await c.connect();
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'listen %' AND pid <> pg_backend_pid()`);
      await c.end();
      await wasRead;
      const tok = await user(a, 'gail');
      assert.equal((await a.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'gail', roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' })).status, 201);
      release();
      let last: unknown = null;
      await until(async () => {
        const r = await a.call('POST', '/api/v1/requests', tok, { roleId: 'ops', scope: '/prod', duration: 'PT10M', justification: 'Rolling restart of the fleet' });
        last = r.body;
        return r.status === 201 && r.body.status === 'active';
      }, 3000).catch(() => assert.fail(`gail cannot activate on the node that made her eligible: ${JSON.stringify(last)}`));
    } finally {
      release();
      a.store.loadIndex = orig;
    }
  });

  test('an expiry is booked exactly once when both nodes run the jobs at the same time', async () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    const tokens = await Promise.all(users.map((u) => user(a, u)));
    for (const u of users) await a.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: u, roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' });
    const ids: string[] = [];
    for (const t of tokens) {
      const r = await a.call('POST', '/api/v1/requests', t, { roleId: 'ops', scope: '/prod', duration: 'PT10M', justification: 'Rolling restart of the fleet' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.assignmentId);
    }
    clock.advance(11 * 60_000);
    await Promise.all([a.jobs.tick(), b.jobs.tick(), a.jobs.tick(), b.jobs.tick()]);
    const ev = await a.call('GET', '/api/v1/audit?type=assignment.expired&limit=1000', ADMIN_TOKEN);
    for (const id of ids) assert.equal(ev.body.items.filter((e: any) => e.data.assignmentId === id).length, 1, `assignment ${id}`);
    const v = await b.call('GET', '/api/v1/audit/verify', ADMIN_TOKEN);
    assert.equal(v.body.ok, true, JSON.stringify(v.body));
  });
});
