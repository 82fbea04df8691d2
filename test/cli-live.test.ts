import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSync } from 'otplib';
import { ROOT, assertBuilt, parseJson, runCli } from './helpers/cli.js';

/**
 * The real binary against a real server process started the way `npm start` starts it
 * (node dist/server/main.js), on the embedded store.
 */
describe('elevate CLI against a running server', () => {
  let dir: string;
  let server: ChildProcess;
  let logs = '';
  let url: string;
  let admin: string;
  const as = (token: string) => ({ ELEVATE_URL: url, ELEVATE_TOKEN: token, ELEVATE_POLL_INTERVAL_MS: '100' });

  before(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'elevate-live-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [join(ROOT, 'dist/server/main.js')], {
      env: { ...process.env, PORT: String(port), ELEVATE_DATA_DIR: dir, ELEVATE_MIN_ACTIVATION: 'PT1M', ELEVATE_BOOTSTRAP_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (logs += d));
    server.stderr!.on('data', (d) => (logs += d));
    const t0 = Date.now();
    while (!logs.includes('elevate is serving')) {
      if (Date.now() - t0 > 20_000) throw new Error(`server did not start:\n${logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    admin = readFileSync(join(dir, 'bootstrap-token'), 'utf8').trim();
  });

  after(async () => {
    server?.kill('SIGTERM');
    await new Promise((r) => server?.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('first start writes the admin token to a 0600 file and logs only its path', () => {
    assert.equal(statSync(join(dir, 'bootstrap-token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'elevate.db')).mode & 0o077, 0, 'the database must not be readable by others');
    assert.match(admin, /^elv_/);
    assert.ok(logs.includes(join(dir, 'bootstrap-token')));
    assert.ok(!logs.includes(admin), 'the token appeared in the logs');
  });

  test('an admin sets up from a file; a user activates, an approver approves, check and audit agree', async () => {
    const setup = join(dir, 'setup.yaml');
    writeFileSync(
      setup,
      `principals:
  - {id: alice, kind: user, name: Alice, managerId: null}
  - {id: bob, kind: user, name: Bob}
  - {id: dba-leads, kind: group, name: DBA leads}
groups:
  - {id: dba-leads, members: [bob, alice]}
roles:
  - id: reader
    riskTier: low
  - id: db-admin
    riskTier: high
    settings:
      maxActivation: PT4H
      approval: {required: true, approvers: [{group: dba-leads}], minApprovals: 1, timeout: PT1H}
eligibilities:
  - {principalId: alice, roleId: reader, scope: /prod, endsAt: null, justification: on-call}
  - {principalId: alice, roleId: db-admin, scope: /prod, endsAt: null, justification: on-call DBA}
`,
    );
    const applied = await runCli(['apply', '-f', setup], as(admin));
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const alice = (await runCli(['tokens', 'create', 'alice'], as(admin))).stdout.trim();
    const bob = (await runCli(['tokens', 'create', 'bob'], as(admin))).stdout.trim();
    assert.match(alice, /^elv_/);

    const eligible = parseJson<{ items: { roleId: string }[] }>(await runCli(['--json', 'eligible'], as(alice)));
    assert.deepEqual(eligible.items.map((e) => e.roleId).sort(), ['db-admin', 'reader']);

    const low = await runCli(['--json', 'activate', 'reader', '--scope', '/prod/payments', '--duration', '30m', '--reason', 'Investigating INC-1234 replication lag'], as(alice));
    assert.equal(low.code, 0, low.stdout + low.stderr);
    assert.equal(parseJson<{ status: string }>(low).status, 'active');
    assert.equal((await runCli(['check', '--principal', 'alice', '--role', 'reader', '--scope', '/prod/payments/x'], as(alice))).code, 0);
    assert.equal((await runCli(['check', '--principal', 'alice', '--role', 'reader', '--scope', '/dev'], as(alice))).code, 3);

    const denied = await runCli(['--json', 'activate', 'reader', '--scope', '/dev', '--duration', '30m', '--reason', 'asdf'], as(alice));
    assert.equal(denied.code, 3);
    assert.deepEqual(parseJson<{ error: { details: { reasons: string[] } } }>(denied).error.details.reasons, ['not_eligible', 'justification_too_weak']);

    // A high-risk activation waits; bob approves from another shell while `--wait` shows progress.
    const waiting = runCli(['activate', 'db-admin', '--scope', '/prod', '--duration', '1h', '--reason', 'Failover drill for INC-77', '--wait', '--timeout', '30s'], as(alice));
    let pendingId: string | undefined;
    for (let i = 0; i < 100 && !pendingId; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = parseJson<{ items: { id: string; roleId: string }[] }>(await runCli(['--json', 'requests', '--status', 'pending_approval', '--all'], as(bob)));
      pendingId = list.items.find((r) => r.roleId === 'db-admin')?.id;
    }
    assert.ok(pendingId, 'the pending request was not in bob’s inbox');
    const self = await runCli(['approve', pendingId!, '--reason', 'me'], as(alice));
    assert.equal(self.code, 3);
    assert.match(self.stdout + self.stderr, /self_approval/);
    const ok = await runCli(['approve', pendingId!, '--reason', 'go ahead'], as(bob));
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const waited = await waiting;
    assert.equal(waited.code, 0, waited.stdout + waited.stderr);
    assert.match(waited.stderr, /waiting for approval/);
    assert.equal((await runCli(['check', '--principal', 'alice', '--role', 'db-admin', '--scope', '/prod/db'], as(alice))).code, 0);

    const mine = parseJson<{ items: { id: string; roleId: string; status: string }[] }>(await runCli(['--json', 'assignments'], as(alice)));
    const dbAdmin = mine.items.find((a) => a.roleId === 'db-admin' && a.status === 'active')!;
    assert.equal((await runCli(['deactivate', dbAdmin.id], as(alice))).code, 0);
    assert.equal((await runCli(['check', '--principal', 'alice', '--role', 'db-admin', '--scope', '/prod/db'], as(alice))).code, 3);
  });

  test('audit verify online, export, and verify the export offline with the public key', async () => {
    const online = await runCli(['--json', 'audit', 'verify'], as(admin));
    assert.equal(online.code, 0, online.stdout);
    assert.equal(parseJson<{ ok: boolean }>(online).ok, true);
    const exp = join(dir, 'audit.jsonl');
    const pem = join(dir, 'public.pem');
    assert.equal((await runCli(['audit', 'export', '-o', exp], as(admin))).code, 0);
    assert.equal((await runCli(['audit', 'keys', '--pem', '-o', pem], as(admin))).code, 0);
    const offline = await runCli(['audit', 'verify', '--file', exp, '--key', pem], { ELEVATE_URL: 'http://127.0.0.1:1' });
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    const lines = readFileSync(exp, 'utf8').trim().split('\n');
    const i = lines.findIndex((l) => l.includes('"request.denied"'));
    lines[i] = lines[i]!.replace('"request.denied"', '"request.created"');
    writeFileSync(exp, lines.join('\n') + '\n');
    const tampered = await runCli(['--json', 'audit', 'verify', '--file', exp, '--key', pem], {});
    assert.equal(tampered.code, 1);
    assert.equal(parseJson<{ firstBadEvent: { seq: number } }>(tampered).firstBadEvent.seq, JSON.parse(lines[i]!).seq);
  });

  test('MFA from the CLI: --totp, and --step-up confirmed in a signed-in session', async () => {
    const api = async (method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(url + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    };
    assert.equal((await api('POST', '/api/v1/principals', admin, { id: 'carol', kind: 'user', name: 'Carol' })).status, 201);
    assert.equal((await api('PUT', '/api/v1/principals/carol/local-account', admin, { username: 'carol', password: 'a long pass phrase 42' })).status, 200);
    assert.equal((await api('POST', '/api/v1/roles', admin, { id: 'deploy', riskTier: 'high', settings: { mfa: 'any' } })).status, 201);
    assert.equal((await api('POST', '/api/v1/eligibilities', admin, { principalId: 'carol', roleId: 'deploy', scope: '/prod', endsAt: null, justification: 'release manager' })).status, 201);
    const carol = (await runCli(['tokens', 'create', 'carol'], as(admin))).stdout.trim();
    const signIn = async () => {
      const login = await api('POST', '/auth/login', null, { username: 'carol', password: 'a long pass phrase 42' });
      return { cookie: (login.headers.getSetCookie() as string[]).map((c) => c.split(';')[0]).join('; '), 'x-csrf-token': login.body.csrfToken as string };
    };
    // The authenticator app is enrolled in a browser session (a token cannot add factors).
    const browser = await signIn();
    const secret = (await api('POST', '/api/v1/me/mfa/totp', null, undefined, browser)).body.secret as string;
    // Codes for successive time steps (the server accepts one step of drift), each usable once.
    const code = (stepsAhead: number) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * stepsAhead });
    assert.equal((await api('POST', '/api/v1/me/mfa/totp/confirm', null, { code: code(-1) }, browser)).status, 200);

    const args = ['activate', 'deploy', '--scope', '/prod', '--duration', '10m', '--reason', 'release 2.4 rollout CHG-77'];
    const bare = await runCli(args, as(carol));
    assert.equal(bare.code, 3, bare.stdout + bare.stderr);
    assert.match(bare.stderr, /mfa_required/);
    const withCode = await runCli([...args, '--totp', code(0)], as(carol));
    assert.equal(withCode.code, 0, withCode.stdout + withCode.stderr);

    // --step-up: the CLI prints a link and a code; carol confirms it in a browser session with fresh MFA.
    let confirming: Promise<void> | null = null;
    const stepped = runCli([...args.map((a) => (a === '/prod' ? '/prod/api' : a)), '--step-up'], as(carol), {
      timeoutMs: 60_000,
      onStderr: (all) => {
        const m = /confirm the code ([A-Z]{4}-[A-Z]{4})/.exec(all);
        if (!m || confirming) return;
        confirming = (async () => {
          assert.match(all, new RegExp(`open http://localhost:\\d+/stepup\\?code=${m[1]}`));
          const h = await signIn();
          assert.equal((await api('POST', '/api/v1/me/mfa/totp/verify', null, { code: code(1) }, h)).status, 200);
          assert.equal((await api('POST', '/api/v1/stepups/confirm', null, { userCode: m[1] }, h)).status, 204);
        })();
      },
    });
    const r = await stepped;
    await confirming;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /verified \(totp\)/);
  });
});
