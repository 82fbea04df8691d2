import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../src/storage/index.js';
import { ADMIN_TOKEN, BACKENDS, PG_URL, freshStore, startServer, user, type TestServer } from './helpers/harness.js';

/** Tampering with any stored event is detected and located, on both backends. */
for (const backend of BACKENDS) {
  describe(`audit tamper detection on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let exec: (sql: string, params?: unknown[]) => Promise<unknown[]>;
    let done: () => Promise<void>;

    before(async () => {
      if (backend.name === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'elevate-tamper-'));
        const file = join(dir, 'elevate.db');
        const store = await openStore({ sqlitePath: file });
        s = await startServer('sqlite', { store: { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) } });
        const raw = new Database(file);
        exec = async (q, p = []) => (q.trim().toUpperCase().startsWith('SELECT') ? raw.prepare(q).all(...p) : (raw.prepare(q).run(...p), []));
        done = async () => void raw.close();
      } else {
        const st = await freshStore('postgres');
        s = await startServer('postgres', { store: st });
        const c = new pg.Client({ connectionString: PG_URL! });
        await c.connect();
        await c.query(`SET search_path TO "${st.schema}"`);
        let i = 0;
        exec = async (q, p = []) => (await c.query(q.replace(/\?/g, () => `$${++i}`), p).finally(() => (i = 0))).rows;
        done = async () => c.end();
      }
      const tok = await user(s, 'alice');
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'ops', riskTier: 'low' });
      await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' });
      for (let i = 0; i < 5; i++) await s.call('POST', '/api/v1/requests', tok, { roleId: 'ops', scope: `/svc${i}`, duration: 'PT10M', justification: 'Rolling restart of the fleet' });
      await s.uc.audit.checkpoint();
    });
    after(async () => {
      await done?.();
      await s?.cleanup();
    });

    const verify = async () => (await s.call('GET', '/api/v1/audit/verify', ADMIN_TOKEN)).body;

    test('an intact log verifies', async () => {
      const v = await verify();
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.ok(v.checkpoints >= 1);
    });

    test('an altered event is named', async () => {
      const [row] = (await exec('SELECT seq, data FROM audit_events WHERE seq = ?', [7])) as { seq: number; data: string }[];
      await exec('UPDATE audit_events SET data = ? WHERE seq = ?', [row!.data.replace('}', ',"x":1}'), 7]);
      const v = await verify();
      assert.deepEqual([v.ok, v.firstBadEvent.seq, v.firstBadEvent.problem], [false, 7, 'altered']);
      await exec('UPDATE audit_events SET data = ? WHERE seq = ?', [row!.data, 7]);
      assert.equal((await verify()).ok, true);
    });

    test('a removed event is named', async () => {
      const [row] = (await exec('SELECT * FROM audit_events WHERE seq = ?', [4])) as Record<string, unknown>[];
      await exec('DELETE FROM audit_events WHERE seq = ?', [4]);
      const v = await verify();
      assert.deepEqual([v.ok, v.firstBadEvent.seq, v.firstBadEvent.problem], [false, 4, 'removed']);
      const cols = Object.keys(row!);
      await exec(`INSERT INTO audit_events (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`, cols.map((c) => row![c]));
      assert.equal((await verify()).ok, true);
    });

    test('reordered events are named', async () => {
      const rows = (await exec('SELECT seq, id, type FROM audit_events WHERE seq IN (?, ?) ORDER BY seq', [5, 6])) as { seq: number; id: string; type: string }[];
      await exec('UPDATE audit_events SET type = ? WHERE seq = ?', [rows[1]!.type, 5]);
      await exec('UPDATE audit_events SET type = ? WHERE seq = ?', [rows[0]!.type, 6]);
      const v = await verify();
      assert.equal(v.ok, rows[0]!.type === rows[1]!.type);
      if (!v.ok) assert.equal(v.firstBadEvent.seq, 5);
      await exec('UPDATE audit_events SET type = ? WHERE seq = ?', [rows[0]!.type, 5]);
      await exec('UPDATE audit_events SET type = ? WHERE seq = ?', [rows[1]!.type, 6]);
    });

    test('deleting the newest events, not yet checkpointed, is detected through the head', async () => {
      await s.call('POST', '/api/v1/principals', ADMIN_TOKEN, { id: 'late', kind: 'user' });
      const { m } = ((await exec('SELECT MAX(seq) AS m FROM audit_events')) as { m: number }[])[0]!;
      const [row] = (await exec('SELECT * FROM audit_events WHERE seq = ?', [Number(m)])) as Record<string, unknown>[];
      await exec('DELETE FROM audit_events WHERE seq = ?', [Number(m)]);
      const v = await verify();
      assert.deepEqual([v.ok, v.firstBadEvent.problem, v.firstBadEvent.seq], [false, 'truncated', Number(m)]);
      const cols = Object.keys(row!);
      await exec(`INSERT INTO audit_events (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`, cols.map((c) => row![c]));
      assert.equal((await verify()).ok, true);
      await s.uc.audit.checkpoint();
    });

    test('truncating the tail behind a signed checkpoint is detected', async () => {
      const { m } = ((await exec('SELECT MAX(seq) AS m FROM audit_events')) as { m: number }[])[0]!;
      const [row] = (await exec('SELECT * FROM audit_events WHERE seq = ?', [Number(m)])) as Record<string, unknown>[];
      await exec('DELETE FROM audit_events WHERE seq = ?', [Number(m)]);
      const v = await verify();
      assert.equal(v.ok, false);
      assert.equal(v.firstBadEvent.problem, 'truncated');
      const cols = Object.keys(row!);
      await exec(`INSERT INTO audit_events (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`, cols.map((c) => row![c]));
      assert.equal((await verify()).ok, true);
    });
  });
}
