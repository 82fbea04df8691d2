import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chain, signCheckpoint, type AuditEvent, type AuditEventBody, type Checkpoint } from '../src/core/audit.js';
import { keyIdOf, parsePublicKeys } from '../src/cli/audit-offline.js';
import { durationToMs, toIsoDuration } from '../src/cli/duration.js';
import { CliError } from '../src/cli/errors.js';
import { assertBuilt, parseJson, runCli } from './helpers/cli.js';

const TOKEN = 'elv_test_token_that_must_never_be_printed_0123456789';

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

type ErrorOut = { error: { code: string; message: string; details: Record<string, unknown>; status?: number } };

describe('duration conversion', () => {
  test('human durations become ISO 8601', () => {
    assert.equal(toIsoDuration('30m'), 'PT30M');
    assert.equal(toIsoDuration('1h'), 'PT1H');
    assert.equal(toIsoDuration('1h30m'), 'PT1H30M');
    assert.equal(toIsoDuration('90s'), 'PT1M30S');
    assert.equal(toIsoDuration('2d'), 'P2D');
    assert.equal(toIsoDuration('1w'), 'P7D');
    assert.equal(toIsoDuration('1d2h3m4s'), 'P1DT2H3M4S');
    assert.equal(toIsoDuration('1.5h'), 'PT1H30M');
    assert.equal(toIsoDuration('1h 30m'), 'PT1H30M');
    assert.equal(toIsoDuration('90M'), 'PT1H30M');
  });

  test('ISO 8601 passes through, upper-cased', () => {
    assert.equal(toIsoDuration('PT30M'), 'PT30M');
    assert.equal(toIsoDuration('pt90m'), 'PT90M');
    assert.equal(toIsoDuration('P1DT2H'), 'P1DT2H');
    assert.equal(toIsoDuration('P2W'), 'P2W');
  });

  test('milliseconds', () => {
    assert.equal(durationToMs('30m'), 1_800_000);
    assert.equal(durationToMs('PT30M'), 1_800_000);
    assert.equal(durationToMs('1h30m'), 5_400_000);
    assert.equal(durationToMs('2d'), 172_800_000);
  });

  test('anything else is a usage error (exit 2)', () => {
    for (const bad of ['', '0m', '0s', 'PT0S', '30', 'm', '30x', '1m1h', 'P1M', 'P1Y', 'PT', 'P', '-5m', 'soon', '1h-30m']) {
      assert.throws(
        () => toIsoDuration(bad),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.code === 'invalid_duration',
        `expected ${JSON.stringify(bad)} to be refused`,
      );
    }
  });
});

describe('audit key ids', () => {
  test('keyIdOf is the first 16 hex chars of SHA-256 over the SPKI DER', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const expected = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
    assert.equal(keyIdOf(pem), expected);
    assert.match(keyIdOf(pem), /^[0-9a-f]{16}$/);
  });

  test('a PEM file may hold several public keys; private keys and other algorithms are refused', () => {
    const a = generateKeyPairSync('ed25519');
    const b = generateKeyPairSync('ed25519');
    const pa = a.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pb = b.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keys = parsePublicKeys(`# rotated keys\n${pa}\n${pb}`);
    assert.deepEqual([...keys.keys()].sort(), [keyIdOf(pa), keyIdOf(pb)].sort());
    assert.throws(() => parsePublicKeys(a.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), /private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => parsePublicKeys(ec), /Ed25519/);
  });
});

describe('the elevate binary', () => {
  before(() => assertBuilt());

  test('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /activate/);
    assert.match(help.stdout, /Exit status/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });

  test('usage errors exit 2', async () => {
    const cases: string[][] = [
      [],
      ['bogus'],
      ['whoami', '--bogus'],
      ['activate'],
      ['activate', 'db-admin', '--scope', '/prod'],
      ['activate', 'db-admin', '--scope', '/prod', '--duration', '30x', '--reason', 'fixing the thing'],
      ['activate', 'db-admin', '--scope', '/prod', '--duration', '30m', '--start', 'tomorrow-ish'],
      ['activate', 'db-admin', '--scope', '/prod', '--duration', '30m', '--wait', '--timeout', 'forever'],
      ['extend', 'a1', '--duration', 'P1M'],
      ['approve', 'r1'],
      ['check', '--principal', 'alice'],
      ['principals', 'create', '--id', 'x', '--kind', 'robot', '--name', 'X'],
      ['roles', 'create', '--id', 'x', '--name', 'X', '--settings', '{not json'],
      ['audit', 'list', '--limit', 'lots'],
      ['audit', 'list', '--since', 'last tuesday'],
      ['audit', 'verify', '--file', 'export.jsonl'],
      ['groups', 'set-members', 'g1'],
    ];
    for (const args of cases) {
      const r = await runCli(args, { ELEVATE_TOKEN: TOKEN, ELEVATE_URL: 'http://127.0.0.1:9' });
      assert.equal(r.code, 2, `elevate ${args.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`);
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
    }
  });

  test('a missing token is a usage error, and nothing is sent', async () => {
    const r = await runCli(['--json', 'whoami'], { ELEVATE_URL: 'http://127.0.0.1:9' });
    assert.equal(r.code, 2);
    assert.equal(parseJson<ErrorOut>(r).error.code, 'missing_token');
  });

  test('--json usage errors are {"error":{…}} on stdout', async () => {
    const r = await runCli(['activate', 'db-admin', '--scope', '/', '--duration', '3 fortnights', '--json'], { ELEVATE_TOKEN: TOKEN });
    assert.equal(r.code, 2);
    const body = parseJson<ErrorOut>(r);
    assert.equal(body.error.code, 'invalid_duration');
    assert.equal(typeof body.error.message, 'string');

    const unknown = await runCli(['--json', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.equal(parseJson<ErrorOut>(unknown).error.code, 'usage');
    assert.equal(unknown.stderr, '');
  });

  test('a connection error exits 1; --json prints {"error":{code:"unreachable",…}}; the token is never printed', async () => {
    const port = await closedPort();
    const env = { ELEVATE_URL: `http://127.0.0.1:${port}`, ELEVATE_TOKEN: TOKEN };
    const json = await runCli(['--json', 'whoami'], env);
    assert.equal(json.code, 1);
    const body = parseJson<ErrorOut>(json);
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'unreachable');
    assert.match(body.error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(typeof body.error.details, 'object');
    assert.equal(body.error.status, undefined);

    const human = await runCli(['roles'], env);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /cannot reach/);

    const activate = await runCli(['activate', 'db-admin', '--scope', '/prod', '--duration', '30m', '--reason', 'fix the replication lag', '--json'], env);
    assert.equal(activate.code, 1);
    assert.equal(parseJson<ErrorOut>(activate).error.code, 'unreachable');

    for (const r of [json, human, activate]) assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), 'the token leaked into the output');
  });

  test('login --no-verify stores url and token in a 0600 file and does not print the token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'elevate-login-'));
    try {
      const cfg = join(dir, 'nested', 'config.json');
      const r = await runCli(['login', '--url', 'http://127.0.0.1:9/', '--token', TOKEN, '--no-verify'], { ELEVATE_CONFIG: cfg });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
      assert.deepEqual(JSON.parse(readFileSync(cfg, 'utf8')), { url: 'http://127.0.0.1:9', token: TOKEN });
      assert.equal(statSync(cfg).mode & 0o777, 0o600);

      // The stored token is used (here: the server is unreachable, so exit 1, not 2 for a missing token).
      const who = await runCli(['--json', 'whoami'], { ELEVATE_CONFIG: cfg });
      assert.equal(who.code, 1);
      assert.equal(parseJson<ErrorOut>(who).error.code, 'unreachable');

      // --token - reads the token from stdin.
      const piped = await runCli(['login', '--token', '-', '--no-verify', '--json'], { ELEVATE_CONFIG: cfg }, { input: 'elv_other\n' });
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(JSON.parse(readFileSync(cfg, 'utf8')).token, 'elv_other');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('offline audit verification (elevate audit verify --file --key)', () => {
  let dir: string;
  let exportFile: string;
  let keyFile: string;
  let events: AuditEvent[];
  let checkpoints: Checkpoint[];
  // Nothing listens here and there is no token: offline verification must not need either.
  const env = { ELEVATE_URL: 'http://127.0.0.1:9', ELEVATE_TOKEN: undefined };

  function body(i: number): Omit<AuditEventBody, 'seq' | 'prevHash'> {
    return {
      id: `evt-${i}`,
      ts: Date.UTC(2025, 5, 1, 9, 0, i),
      type: i % 2 ? 'request.created' : 'request.approved',
      outcome: 'allowed',
      actorId: 'alice',
      principalId: 'alice',
      roleId: 'db-admin',
      scope: '/prod',
      requestId: `req-${i}`,
      reasons: [],
      data: { n: i, note: 'ünïcödé ok' },
    };
  }

  const pemOf = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString();

  function writeExport(file: string, evs: readonly AuditEvent[], cps: readonly Checkpoint[]): void {
    // Events first, then checkpoints: the order the server writes them in.
    const lines = [...evs.map((e) => JSON.stringify({ record: 'event', ...e })), ...cps.map((c) => JSON.stringify({ record: 'checkpoint', ...c }))];
    writeFileSync(file, lines.join('\n') + '\n');
  }

  async function verify(file: string, key = keyFile, json = true) {
    const r = await runCli(['audit', 'verify', '--file', file, '--key', key, ...(json ? ['--json'] : [])], env);
    return { r, report: json ? parseJson<{ ok: boolean; events: number; checkpoints: number; firstBadEvent: { seq: number; problem: string; range?: number[] } | null }>(r) : null };
  }

  before(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'elevate-audit-'));
    // Two keys: the server rotated its signing key between the two checkpoints.
    const k1 = generateKeyPairSync('ed25519');
    const k2 = generateKeyPairSync('ed25519');
    events = chain({ seq: 0, hash: '0'.repeat(64) }, Array.from({ length: 10 }, (_, i) => body(i + 1)));
    const at = (seq: number): AuditEvent => events[seq - 1]!;
    checkpoints = [
      signCheckpoint({ seq: 4, hash: at(4).hash, ts: at(4).ts, keyId: keyIdOf(pemOf(k1.publicKey)) }, k1.privateKey),
      signCheckpoint({ seq: 10, hash: at(10).hash, ts: at(10).ts, keyId: keyIdOf(pemOf(k2.publicKey)) }, k2.privateKey),
    ];
    exportFile = join(dir, 'export.jsonl');
    keyFile = join(dir, 'public.pem');
    writeExport(exportFile, events, checkpoints);
    writeFileSync(keyFile, pemOf(k1.publicKey) + pemOf(k2.publicKey));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a valid export verifies (exit 0), without a server or a token', async () => {
    const { r, report } = await verify(exportFile);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(report!.ok, true);
    assert.equal(report!.events, 10);
    assert.equal(report!.checkpoints, 2);
    assert.equal(report!.firstBadEvent, null);

    const human = await verify(exportFile, keyFile, false);
    assert.equal(human.r.code, 0);
    assert.match(human.r.stdout, /OK: 10 events, 2 signed checkpoints/);
  });

  test('one tampered line fails (exit 1) and names its seq', async () => {
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    const e6 = JSON.parse(lines[5]!) as Record<string, unknown>;
    assert.equal(e6.seq, 6);
    e6.principalId = 'mallory';
    lines[5] = JSON.stringify(e6);
    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, lines.join('\n'));

    const { r, report } = await verify(tampered);
    assert.equal(r.code, 1);
    assert.equal(report!.ok, false);
    assert.equal(report!.firstBadEvent!.seq, 6);
    assert.equal(report!.firstBadEvent!.problem, 'altered');

    const human = await verify(tampered, keyFile, false);
    assert.equal(human.r.code, 1);
    assert.match(human.r.stdout, /BROKEN at event 6 \(evt-6\): altered/);
  });

  test('a removed event is located', async () => {
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    lines.splice(2, 1); // event 3
    const file = join(dir, 'removed.jsonl');
    writeFileSync(file, lines.join('\n'));
    const { r, report } = await verify(file);
    assert.equal(r.code, 1);
    assert.deepEqual([report!.firstBadEvent!.seq, report!.firstBadEvent!.problem], [3, 'removed']);
  });

  test('a chain rewritten from event 6 on, hashes recomputed, is caught by the checkpoint at 10', async () => {
    const forged = chain({ seq: 5, hash: events[4]!.hash }, Array.from({ length: 5 }, (_, i) => ({ ...body(i + 6), data: { forged: true } })));
    const file = join(dir, 'rewritten.jsonl');
    writeExport(file, [...events.slice(0, 5), ...forged], checkpoints);
    const { r, report } = await verify(file);
    assert.equal(r.code, 1);
    assert.equal(report!.firstBadEvent!.problem, 'rewritten');
    assert.deepEqual(report!.firstBadEvent!.range, [5, 10]);
  });

  test('checkpoints signed by a key not in the key file fail', async () => {
    const other = join(dir, 'other.pem');
    writeFileSync(other, pemOf(generateKeyPairSync('ed25519').publicKey));
    const { r, report } = await verify(exportFile, other);
    assert.equal(r.code, 1);
    assert.equal(report!.firstBadEvent!.problem, 'bad_signature');
    assert.equal(report!.firstBadEvent!.seq, 4);
  });

  test('a line that is not JSON fails with its line number', async () => {
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    lines[7] = lines[7]!.slice(0, -3);
    const file = join(dir, 'broken.jsonl');
    writeFileSync(file, lines.join('\n'));
    const r = await runCli(['audit', 'verify', '--file', file, '--key', keyFile, '--json'], env);
    assert.equal(r.code, 1);
    const body = parseJson<ErrorOut>(r);
    assert.equal(body.error.code, 'malformed_export');
    assert.equal(body.error.details.line, 8);
    assert.equal(body.error.details.seq, 8);
  });

  test('a key file without a public key is an error', async () => {
    const r = await runCli(['audit', 'verify', '--file', exportFile, '--key', exportFile], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no "-----BEGIN PUBLIC KEY-----" block/);
  });
});
