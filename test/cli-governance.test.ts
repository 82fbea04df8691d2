import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { assertBuilt, parseJson, runCli } from './helpers/cli.js';
import { ADMIN_TOKEN, BACKENDS, T0, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * The governance commands (reviews, alerts, report evidence) of the real binary against a real
 * server listening on a port, on both backends: state made through the API, read and changed with
 * the CLI, and the result checked through the API again.
 */
const A = ADMIN_TOKEN;
const DAY = 86_400_000;
type ErrorOut = { error: { code: string; message: string; status?: number } };

for (const backend of BACKENDS) {
  describe(`elevate governance commands on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let url: string;
    let dir: string;
    const tok: Record<string, string> = {};
    const as = (token: string) => ({ ELEVATE_URL: url, ELEVATE_TOKEN: token });
    const ok = (r: { status: number; body: any }, status = 200) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      return r.body;
    };

    before(async () => {
      assertBuilt();
      dir = mkdtempSync(join(tmpdir(), 'elevate-cli-gov-'));
      s = await startServer(backend.name);
      url = await s.app.listen({ port: 0, host: '127.0.0.1' });
      for (const id of ['alice', 'bob', 'carol', 'dave', 'erin']) tok[id] = await user(s, id);
      ok(await s.call('POST', '/api/v1/roles', A, { id: 'dba', riskTier: 'medium', settings: {} }), 201);
      ok(await s.call('POST', '/api/v1/roles', A, { id: 'prod-db', riskTier: 'high', settings: { maxActivation: 'PT1H', mfa: 'any' } }), 201);
      for (const p of ['alice', 'dave', 'erin']) {
        ok(await s.call('POST', '/api/v1/eligibilities', A, { principalId: p, roleId: 'dba', scope: '/db', endsAt: null, justification: 'on the rota' }), 201);
      }
    });
    after(async () => {
      await s?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('reviews: a reviewer lists their queue and decides with the CLI; self-review exits 3; bulk is all-or-nothing; export writes CSV', async () => {
      const c = ok(
        await s.call('POST', '/api/v1/reviews', A, { name: 'DBA access Q1', filter: { roles: ['dba'] }, reviewers: { kind: 'principals', principals: ['alice', 'bob'] }, durationDays: 7, defaultDecision: 'keep' }),
        201,
      ) as { id: string };

      const listed = await runCli(['--json', 'reviews', 'list'], as(tok.bob!));
      assert.equal(listed.code, 0, listed.stdout + listed.stderr);
      assert.deepEqual(parseJson<{ items: { id: string }[] }>(listed).items.map((x) => x.id), [c.id]);
      const human = await runCli(['reviews'], as(tok.bob!));
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^ID\s+STATUS\s+DECIDED\s+DENIED\s+ENDS\s+NAME$/m);
      assert.match(human.stdout, new RegExp(`^${c.id}\\s+active\\s+0/3\\s+0\\s+.*DBA access Q1$`, 'm'));

      const queue = await runCli(['--json', 'reviews', 'items', c.id, '--mine', '--pending'], as(tok.bob!));
      assert.equal(queue.code, 0, queue.stdout + queue.stderr);
      const items = Object.fromEntries(parseJson<{ items: { id: string; principalId: string }[] }>(queue).items.map((i) => [i.principalId, i.id]));
      assert.deepEqual(Object.keys(items).sort(), ['alice', 'dave', 'erin']);
      const table = await runCli(['reviews', 'items', c.id, '--mine'], as(tok.bob!));
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID\s+PRINCIPAL\s+ROLE\s+SCOPE\s+ACCESS\s+RECOMMENDED\s+DECISION\s+OUTCOME$/m);
      assert.match(table.stdout, new RegExp(`^${items.alice}\\s+alice\\s+dba\\s+/db\\s+eligible\\s+\\w+\\s+pending\\s+-$`, 'm'));

      // bob denies alice's item: exit 0, and the API shows the decision.
      const denied = await runCli(['reviews', 'decide', c.id, items.alice!, '--deny', '--reason', 'moved to the frontend team'], as(tok.bob!));
      assert.equal(denied.code, 0, denied.stdout + denied.stderr);
      assert.match(denied.stdout, new RegExp(`denied item ${items.alice}: alice dba at /db`));
      const after1 = ok(await s.call('GET', `/api/v1/reviews/${c.id}/items`, A)).items as any[];
      const alicesItem = after1.find((i) => i.id === items.alice);
      assert.deepEqual(
        { decision: alicesItem.decision.decision, by: alicesItem.decision.by, reason: alicesItem.decision.reason },
        { decision: 'deny', by: 'bob', reason: 'moved to the frontend team' },
      );

      // alice may not review her own access: 403 self_review, exit 3, nothing changes.
      const self = await runCli(['reviews', 'decide', c.id, items.alice!, '--approve', '--reason', 'I still need it'], as(tok.alice!));
      assert.equal(self.code, 3, self.stdout + self.stderr);
      assert.match(self.stderr, /^denied: /m);
      assert.match(self.stderr, /self_review/);
      const selfJson = await runCli(['--json', 'reviews', 'decide', c.id, items.dave!, items.alice!, '--approve', '--reason', 'all fine'], as(tok.alice!));
      assert.equal(selfJson.code, 3, selfJson.stdout + selfJson.stderr);
      assert.deepEqual([parseJson<ErrorOut>(selfJson).error.code, parseJson<ErrorOut>(selfJson).error.status], ['self_review', 403]);
      const after2 = ok(await s.call('GET', `/api/v1/reviews/${c.id}/items`, A)).items as any[];
      assert.equal(after2.find((i) => i.id === items.dave).decision, null, 'a refused bulk decision decides nothing');
      assert.equal(after2.find((i) => i.id === items.alice).decision.decision, 'deny');

      // Several items: the bulk endpoint, one reason for all.
      const bulk = await runCli(['--json', 'reviews', 'decide', c.id, items.dave!, items.erin!, '--approve', '--reason', 'still on the rota'], as(tok.alice!));
      assert.equal(bulk.code, 0, bulk.stdout + bulk.stderr);
      assert.deepEqual(
        parseJson<{ items: { id: string; decision: { decision: string; by: string } }[] }>(bulk).items.map((i) => [i.id, i.decision.decision, i.decision.by]),
        [
          [items.dave, 'approve', 'alice'],
          [items.erin, 'approve', 'alice'],
        ],
      );
      const pending = await runCli(['--json', 'reviews', 'items', c.id, '--pending'], as(A));
      assert.deepEqual(parseJson<{ items: unknown[] }>(pending).items, []);

      // Usage: --approve or --deny, never both or neither (exit 2, nothing sent).
      assert.equal((await runCli(['reviews', 'decide', c.id, items.dave!, '--reason', 'x'], as(tok.bob!))).code, 2);
      assert.equal((await runCli(['reviews', 'decide', c.id, items.dave!, '--approve', '--deny', '--reason', 'x'], as(tok.bob!))).code, 2);

      const file = join(dir, 'review.csv');
      const exp = await runCli(['--json', 'reviews', 'export', c.id, '--format', 'csv', '-o', file], as(A));
      assert.equal(exp.code, 0, exp.stdout + exp.stderr);
      assert.equal(parseJson<{ file: string }>(exp).file, file);
      const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 3);
      assert.ok(rows.some((r) => Object.values(r).includes('alice') && Object.values(r).includes('moved to the frontend team')), JSON.stringify(rows));
      const asJson = await runCli(['reviews', 'export', c.id, '--format', 'json'], as(A));
      assert.equal(asJson.code, 0, asJson.stderr);
      assert.equal(parseJson<{ items: unknown[] }>(asJson).items.length, 3);
      // Exports are for administrators.
      assert.equal((await runCli(['reviews', 'export', c.id], as(tok.bob!))).code, 3);
    });

    test('alerts: a direct assignment raises an alert the CLI lists, acknowledges and resolves', async () => {
      ok(await s.call('POST', '/api/v1/assignments', A, { principalId: 'carol', roleId: 'prod-db', scope: '/prod', endsAt: new Date(s.clock.now() + DAY).toISOString(), justification: 'vendor migration' }), 201);
      await s.jobs.tick();

      const listed = await runCli(['--json', 'alerts', 'list', '--status', 'open', '--severity', 'critical'], as(A));
      assert.equal(listed.code, 0, listed.stdout + listed.stderr);
      const direct = parseJson<{ items: { id: string; rule: string; principals: string[]; roleId: string; status: string }[] }>(listed).items.filter((a) => a.rule === 'direct_assignment');
      assert.equal(direct.length, 1, listed.stdout);
      assert.deepEqual([direct[0]!.principals, direct[0]!.roleId, direct[0]!.status], [['carol'], 'prod-db', 'open']);
      const id = direct[0]!.id;

      const human = await runCli(['alerts'], as(A));
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^ID\s+SEVERITY\s+STATUS\s+RULE\s+PRINCIPALS\s+ROLE\s+SCOPE\s+COUNT\s+LAST SEEN\s+TITLE$/m);
      assert.match(human.stdout, new RegExp(`^${id}\\s+critical\\s+open\\s+direct_assignment\\s+carol\\s+prod-db\\s+/prod\\s+1\\s`, 'm'));

      assert.equal((await runCli(['alerts', 'list', '--severity', 'severe'], as(A))).code, 2);
      assert.equal((await runCli(['alerts', 'list'], as(tok.bob!))).code, 3, 'alerts are for administrators');

      const ack = await runCli(['alerts', 'ack', id, '--note', 'asking the vendor team'], as(A));
      assert.equal(ack.code, 0, ack.stdout + ack.stderr);
      assert.match(ack.stdout, new RegExp(`acknowledged alert ${id}`));
      assert.equal((await runCli(['alerts', 'ack', id], as(A))).code, 1, 'acknowledging twice is a 409');
      assert.equal((await runCli(['alerts', 'resolve', id], as(A))).code, 2, '--note is required');
      const resolved = await runCli(['--json', 'alerts', 'resolve', id, '--note', 'approved migration, CHG-9'], as(A));
      assert.equal(resolved.code, 0, resolved.stdout + resolved.stderr);
      assert.equal(parseJson<{ status: string }>(resolved).status, 'resolved');
      const one = ok(await s.call('GET', `/api/v1/alerts/${id}`, A));
      assert.deepEqual([one.status, one.acknowledgedBy, one.resolvedBy, one.note], ['resolved', 'admin', 'admin', 'approved migration, CHG-9']);
    });

    test('report evidence: CSV to a file for auditors; JSON on stdout; bad periods are usage errors', async () => {
      const from = new Date(T0 - DAY).toISOString();
      const to = new Date(T0 + 2 * DAY).toISOString();
      const file = join(dir, 'evidence.csv');
      const r = await runCli(['report', 'evidence', '--from', from, '--to', to, '--format', 'csv', '-o', file], as(A));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`wrote \\d+ lines \\(\\d+ bytes\\) to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
      const carol = rows.filter((row) => Object.values(row).includes('carol') && Object.values(row).includes('prod-db'));
      assert.equal(carol.length, 1, JSON.stringify(rows));
      assert.ok(Object.values(carol[0]!).includes('vendor migration'));

      const json = await runCli(['report', 'evidence', '--from', from, '--to', to, '--role', 'prod-db'], as(A));
      assert.equal(json.code, 0, json.stderr);
      const doc = parseJson<{ from: string; items: { principalId: string; roleId: string }[]; auditHead: { seq: number } }>(json);
      assert.equal(doc.from, from);
      assert.deepEqual(doc.items.map((i) => [i.principalId, i.roleId]), [['carol', 'prod-db']]);
      assert.ok(doc.auditHead.seq > 0);
      const high = parseJson<{ items: { riskTier: string }[] }>(await runCli(['report', 'evidence', '--from', from, '--to', to, '--min-tier', 'critical'], as(A)));
      assert.ok(high.items.every((i) => i.riskTier === 'critical'));

      assert.equal((await runCli(['report', 'evidence', '--from', 'last tuesday', '--to', to], as(A))).code, 2);
      assert.equal((await runCli(['report', 'evidence', '--from', to, '--to', from], as(A))).code, 2);
      assert.equal((await runCli(['report', 'evidence', '--from', from, '--to', to, '--format', 'pdf'], as(A))).code, 2);
      assert.equal((await runCli(['report', 'evidence', '--from', from, '--to', to], as(tok.bob!))).code, 3, 'evidence is for administrators');
    });
  });
}
