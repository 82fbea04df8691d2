// MFA over HTTP on both backends: TOTP (RFC 6238 through our verify path, replay, drift, lockout),
// recovery codes, WebAuthn with real Chromium and a CDP virtual authenticator, and the audit trail
// (every refusal recorded with its reason; no seed or recovery code anywhere).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import type { Actor } from '../src/app/context.js';
import { TOTP } from '../src/app/mfa.js';
import { makeSealer } from '../src/app/sealer.js';
import type { Store } from '../src/app/ports.js';
import { ManualClock } from '../src/core/clock.js';
import { buildServer, type Elevate } from '../src/server/app.js';
import { BROWSER_SKIP, WEBAUTHN_BUNDLE, addVirtualAuthenticator, freePort, launchBrowser, type VirtualAuthenticator } from './helpers/browser.js';
import { ADMIN_TOKEN, BACKENDS, T0, freshStore, injectCall, sessionFor, testSigner, user as tokenUser, type TestServer } from './helpers/harness.js';
import { csrfTokenOf, sessionIdOf } from '../src/app/sessions.js';

const MIN = 60_000;
const STEP = TOTP.period * 1000;

interface MfaServer extends TestServer {
  store: Store;
  secretKey: Uint8Array;
  /** Every log line the server wrote. */
  logs: string[];
  /** Every response body the server sent through call(). */
  bodies: string[];
  headersOf: Map<string, Record<string, unknown>>;
}

/** Like the harness's startServer, with a captured log, a known sealing key and identity options. */
async function start(backend: 'sqlite' | 'postgres', o: { publicUrl?: string; clock?: ManualClock } = {}): Promise<MfaServer> {
  const clock = o.clock ?? new ManualClock(T0);
  const s = await freshStore(backend);
  const logs: string[] = [];
  const bodies: string[] = [];
  const secretKey = randomBytes(32);
  const e: Elevate = await buildServer({
    store: s.store,
    clock,
    signer: testSigner(),
    limits: { minActivationMs: 60_000, maxScheduleAheadMs: 30 * 86_400_000 },
    bootstrapToken: ADMIN_TOKEN,
    jobs: false,
    secretKey,
    identity: o.publicUrl ? { publicUrl: o.publicUrl } : {},
    logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } },
  });
  const headersOf = new Map<string, Record<string, unknown>>();
  return Object.assign(e, {
    clock,
    store: s.store,
    secretKey,
    logs,
    bodies,
    headersOf,
    call: injectCall(e.app, (key, res) => {
      bodies.push(res.body);
      headersOf.set(key, res.headers);
    }),
    async cleanup() {
      await e.close();
      await s.cleanup();
    },
  });
}

/** A person signed in in a browser session (factors are managed from a session, never with an API token). */
async function user(s: MfaServer, id: string): Promise<string> {
  await tokenUser(s as unknown as TestServer, id);
  return sessionFor(s as unknown as TestServer, id);
}

/** An API token for an existing principal: it verifies factors, but manages none. */
async function tokenFor(s: MfaServer, id: string): Promise<string> {
  const t = await s.call('POST', `/api/v1/principals/${id}/tokens`, ADMIN_TOKEN, {});
  assert.equal(t.status, 201, JSON.stringify(t.body));
  return t.body.token as string;
}

/** The error code a use case refuses with ('ok' when it does not). */
const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: any) => String(e.code));

const codeAt = (secret: string, ms: number) => generateSync({ secret, epoch: Math.floor(ms / 1000), ...TOTP });
const RECOVERY = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** A well-formed registration for a challenge nobody was given (its attestation is garbage too). */
const madeUpRegistration = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: b64({ type: 'webauthn.create', challenge: 'bm8tc3VjaC1jaGFsbGVuZ2U', origin: 'http://localhost:8080' }), attestationObject: 'AAAAAAAA' } };

/** An actor as the auth layer would build it for a browser session that verified MFA just now (none: no MFA). */
const actorWithMfa = (principalId: string, now: number, method: 'totp' | 'webauthn' | 'recovery_code' | 'none' = 'totp'): Actor => ({
  principalId,
  auth: { method: 'session', tokenId: null, sessionId: null, signIn: null, mfa: method === 'none' ? [] : [{ method, at: now }], authenticatedAt: now },
  sourceIp: null,
  userAgent: null,
});

async function auditExport(s: MfaServer): Promise<string> {
  const res = await s.app.inject({ method: 'GET', url: '/api/v1/audit/export', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200);
  return res.body;
}

async function failures(s: MfaServer, principal: string): Promise<any[]> {
  const r = await s.call('GET', `/api/v1/audit?type=mfa.failed&principal=${principal}&limit=1000`, ADMIN_TOKEN);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

for (const backend of BACKENDS) {
  describe(`MFA: TOTP and recovery codes on ${backend.name}`, { skip: backend.skip }, () => {
    let s: MfaServer;
    /** alice signed in in a browser session, and an API token of hers. */
    let alice: string;
    let aliceToken: string;
    let secret = '';
    let recovery: string[] = [];
    const issued: string[] = [];

    before(async () => {
      s = await start(backend.name);
      alice = await user(s, 'alice');
      aliceToken = await tokenFor(s, 'alice');
    });
    after(async () => s?.cleanup());
    /** Past the failure window (= the lockout): earlier wrong codes no longer count. */
    const ageOut = () => s.clock.advance(5 * MIN + STEP);

    test('nothing enrolled at first; verify without a factor is refused', async () => {
      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.equal(st.status, 200);
      assert.deepEqual(st.body, { totp: { enrolled: false, confirmed: false }, webauthn: [], recoveryCodesRemaining: 0 });
      const v = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: '123456' });
      assert.equal(v.status, 409);
      assert.equal(v.body.error.code, 'totp_not_enrolled');
    });

    test('enroll → confirm (recovery codes once) → verify', async () => {
      const e = await s.call('POST', '/api/v1/me/mfa/totp', alice);
      assert.equal(e.status, 201, JSON.stringify(e.body));
      secret = e.body.secret;
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.ok(e.body.otpauthUrl.startsWith('otpauth://totp/'));
      assert.ok(e.body.otpauthUrl.includes(`secret=${secret}`));

      // The seed is sealed at rest.
      const f = await s.store.transaction((tx) => s.store.mfa.totp(tx, 'alice'));
      assert.ok(f && !f.secretSealed.includes(secret) && f.confirmedAt === null);
      assert.equal(makeSealer(s.secretKey).open(f.secretSealed), secret);

      const early = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now()) });
      assert.equal(early.status, 409);
      assert.equal(early.body.error.code, 'totp_not_confirmed');

      const bad = await s.call('POST', '/api/v1/me/mfa/totp/confirm', alice, { code: 'abc' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_request');
      const missing = await s.call('POST', '/api/v1/me/mfa/totp/confirm', alice, {});
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error.code, 'invalid_request');

      const c = await s.call('POST', '/api/v1/me/mfa/totp/confirm', alice, { code: codeAt(secret, s.clock.now()) });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      recovery = c.body.recoveryCodes;
      issued.push(...recovery);
      assert.equal(recovery.length, 10);
      assert.equal(new Set(recovery).size, 10);
      for (const code of recovery) assert.match(code, RECOVERY);

      const again = await s.call('POST', '/api/v1/me/mfa/totp', alice);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'totp_already_enrolled');

      // The code that confirmed cannot verify: its step is used.
      const replay = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now()) });
      assert.equal(replay.status, 403);
      assert.equal(replay.body.error.code, 'mfa_code_replayed');

      s.clock.advance(STEP);
      const v = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now()) });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.deepEqual(v.body, { method: 'totp', at: new Date(s.clock.now()).toISOString() });

      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.deepEqual(st.body, { totp: { enrolled: true, confirmed: true }, webauthn: [], recoveryCodesRemaining: 10 });
    });

    test('a code is accepted once; an earlier step after a later one is refused; drift is ±1 step', async () => {
      const now = s.clock.now();
      const same = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: ` ${codeAt(secret, now).slice(0, 3)} ${codeAt(secret, now).slice(3)} ` });
      assert.equal(same.status, 403);
      assert.equal(same.body.error.code, 'mfa_code_replayed');

      s.clock.advance(STEP);
      // The next step's code (authenticator clock ahead) is accepted…
      const ahead = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now() + STEP) });
      assert.equal(ahead.status, 200, JSON.stringify(ahead.body));
      // …and then the current step's code, never used, is refused: it is not after the last accepted step.
      const earlier = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now()) });
      assert.equal(earlier.status, 403);
      assert.equal(earlier.body.error.code, 'mfa_code_replayed');

      s.clock.advance(3 * STEP);
      // Two steps behind is outside the window: simply wrong.
      const old = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now() - 2 * STEP) });
      assert.equal(old.status, 403);
      assert.equal(old.body.error.code, 'mfa_invalid_code');
      // One step behind (authenticator clock late) is fine.
      const late = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now() - STEP) });
      assert.equal(late.status, 200, JSON.stringify(late.body));
    });

    test('wrong codes lock the principal: 429 even for the right code, until the lockout ends', async () => {
      ageOut();
      const right = () => codeAt(secret, s.clock.now());
      const wrong = () => String((Number(right()) + 1) % 1_000_000).padStart(6, '0');
      for (let i = 0; i < 5; i++) {
        const r = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: wrong() });
        assert.equal(r.status, 403, `attempt ${i + 1}`);
        assert.equal(r.body.error.code, 'mfa_invalid_code');
      }
      const locked = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: right() });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.error.code, 'mfa_rate_limited');
      const retry = Number(s.headersOf.get('POST /api/v1/me/mfa/totp/verify')?.['retry-after']);
      assert.ok(retry > 0 && retry <= 300, `retry-after ${retry}`);
      // Recovery codes share the throttle.
      const rec = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: recovery[9] });
      assert.equal(rec.status, 429);
      assert.equal(rec.body.error.code, 'mfa_rate_limited');

      s.clock.advance(4 * MIN);
      const still = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: right() });
      assert.equal(still.status, 429);

      s.clock.advance(MIN + 1000);
      const ok = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: right() });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });

    test('a success does not wipe earlier failures; they age out with the window', async () => {
      const wrong = () => ({ code: codeAt(secret, s.clock.now()) === '000000' ? '111111' : '000000' });
      const verify = (body: { code: string }) => s.call('POST', '/api/v1/me/mfa/totp/verify', alice, body);
      ageOut();
      for (let i = 0; i < 4; i++) assert.equal((await verify(wrong())).status, 403);
      s.clock.advance(STEP);
      assert.equal((await verify({ code: codeAt(secret, s.clock.now()) })).status, 200);
      // The fifth failure in the window locks, the success in between notwithstanding.
      assert.equal((await verify(wrong())).status, 403);
      s.clock.advance(STEP);
      assert.equal((await verify({ code: codeAt(secret, s.clock.now()) })).status, 429);

      ageOut();
      for (let i = 0; i < 4; i++) assert.equal((await verify(wrong())).status, 403);
      ageOut();
      for (let i = 0; i < 4; i++) assert.equal((await verify(wrong())).status, 403);
      assert.equal((await verify({ code: codeAt(secret, s.clock.now()) })).status, 200);
    });

    test('parallel wrong codes cannot outrun the lockout', async () => {
      const erin = await user(s, 'erin');
      const e = await s.call('POST', '/api/v1/me/mfa/totp', erin);
      assert.equal((await s.call('POST', '/api/v1/me/mfa/totp/confirm', erin, { code: codeAt(e.body.secret, s.clock.now()) })).status, 200);
      const right = codeAt(e.body.secret, s.clock.now());
      const wrong = Array.from({ length: 12 }, (_, i) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'));
      const results = await Promise.all(
        wrong.map((code, i) => (i % 2 ? s.call('POST', '/api/v1/me/mfa/totp/verify', erin, { code }) : s.call('POST', '/api/v1/me/mfa/recovery/verify', erin, { code: `zzzz-zzzz-zz${String(i).padStart(2, '0')}` }))),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(5).fill(403), ...Array(7).fill(429)], JSON.stringify(results.map((r) => r.body.error?.code)));
    });

    test('recovery codes: single use, input normalized, rate-limited with TOTP', async () => {
      ageOut();
      const first = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: recovery[0] });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.method, 'recovery_code');
      const reuse = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: recovery[0] });
      assert.equal(reuse.status, 403);
      assert.equal(reuse.body.error.code, 'mfa_invalid_code');

      const messy = ` ${recovery[1]!.toUpperCase().replace(/-/g, ' ')}  `;
      const norm = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: messy });
      assert.equal(norm.status, 200, JSON.stringify(norm.body));
      const noDashes = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: recovery[2]!.replace(/-/g, '') });
      assert.equal(noDashes.status, 200);

      const bad = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: 'not a code' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid_request');
      const wrong = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: 'zzzz-zzzz-zzzz' });
      assert.equal(wrong.status, 403);

      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.equal(st.body.recoveryCodesRemaining, 7);
    });

    test('regenerating recovery codes needs fresh MFA (X-Elevate-TOTP); old codes stop working', async () => {
      // The recovery codes verified above are fresh MFA for this session for 5 minutes: let them age out.
      ageOut();
      const no = await s.call('POST', '/api/v1/me/mfa/recovery-codes', alice);
      assert.equal(no.status, 403);
      assert.equal(no.body.error.code, 'mfa_required');

      s.clock.advance(STEP);
      const yes = await s.call('POST', '/api/v1/me/mfa/recovery-codes', alice, undefined, { 'x-elevate-totp': codeAt(secret, s.clock.now()) });
      assert.equal(yes.status, 200, JSON.stringify(yes.body));
      assert.equal(yes.body.recoveryCodes.length, 10);
      issued.push(...yes.body.recoveryCodes);
      const old = await s.call('POST', '/api/v1/me/mfa/recovery/verify', alice, { code: recovery[5] });
      assert.equal(old.status, 403);
      recovery = yes.body.recoveryCodes;
      assert.equal((await s.call('GET', '/api/v1/me/mfa', alice)).body.recoveryCodesRemaining, 10);

      // The code sent with that request is kept on the session: fresh MFA for 5 minutes, and no longer.
      s.clock.advance(4 * MIN);
      // (Another session of the same person has no fresh MFA of its own.)
      const other = await s.call('POST', '/api/v1/me/mfa/recovery-codes', await sessionFor(s as unknown as TestServer, 'alice'));
      assert.equal(other.status, 403);
      assert.equal(other.body.error.code, 'mfa_required');
      const within = await s.call('POST', '/api/v1/me/mfa/recovery-codes', alice);
      assert.equal(within.status, 200, JSON.stringify(within.body));
      issued.push(...within.body.recoveryCodes);
      recovery = within.body.recoveryCodes;
      s.clock.advance(MIN + 1000);
      const again = await s.call('POST', '/api/v1/me/mfa/recovery-codes', alice);
      assert.equal(again.status, 403);
      assert.equal(again.body.error.code, 'mfa_required');
    });

    test('an API token verifies factors but manages none (session_required, audited), even with a fresh code', async () => {
      ageOut();
      const before = (await s.call('GET', '/api/v1/me/mfa', alice)).body;
      // Verifying works with a token.
      const v = await s.call('POST', '/api/v1/me/mfa/totp/verify', aliceToken, { code: codeAt(secret, s.clock.now()) });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      const rc = await s.call('POST', '/api/v1/me/mfa/recovery/verify', aliceToken, { code: recovery[1] });
      assert.equal(rc.status, 200, JSON.stringify(rc.body));
      // A stolen token plus a phished code must not add, remove or re-key a factor.
      const attempts: [InjectOptions['method'], string, unknown][] = [
        ['POST', '/api/v1/me/mfa/totp', undefined],
        ['POST', '/api/v1/me/mfa/totp/confirm', { code: '123456' }],
        ['DELETE', '/api/v1/me/mfa/totp', undefined],
        ['POST', '/api/v1/me/mfa/webauthn/register/options', undefined],
        ['POST', '/api/v1/me/mfa/webauthn/register', { response: madeUpRegistration }],
        ['DELETE', '/api/v1/me/mfa/webauthn/some-key', undefined],
        ['POST', '/api/v1/me/mfa/recovery-codes', undefined],
      ];
      for (const [method, url, body] of attempts) {
        s.clock.advance(STEP);
        const r = await s.call(method, url, aliceToken, body, { 'x-elevate-totp': codeAt(secret, s.clock.now()) });
        assert.equal(r.status, 403, `${method} ${url}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'session_required', `${method} ${url}`);
      }
      // Nothing changed (but the recovery code used above).
      assert.deepEqual((await s.call('GET', '/api/v1/me/mfa', alice)).body, { ...before, recoveryCodesRemaining: before.recoveryCodesRemaining - 1 });
      const denied = await s.call('GET', '/api/v1/audit?type=authz.denied&principal=alice&limit=1000', ADMIN_TOKEN);
      const actions = new Set(denied.body.items.filter((e: any) => e.reasons.includes('session_required')).map((e: any) => e.data.action));
      assert.deepEqual([...actions].sort(), ['mfa.recovery_codes.regenerate', 'mfa.totp.enroll', 'mfa.totp.remove', 'mfa.webauthn.enroll', 'mfa.webauthn.remove']);
    });

    test('verifyTotp (for the X-Elevate-TOTP header) has the route\'s semantics and records evidence on the actor', async () => {
      ageOut();
      const a = actorWithMfa('alice', s.clock.now());
      a.auth.mfa = [];
      const ev = await s.uc.mfa.verifyTotp(a, codeAt(secret, s.clock.now()));
      assert.deepEqual(ev, { method: 'totp', at: s.clock.now() });
      assert.deepEqual(a.auth.mfa, [ev]);
      await assert.rejects(s.uc.mfa.verifyTotp(a, codeAt(secret, s.clock.now())), (e: any) => e.code === 'mfa_code_replayed');
      await assert.rejects(s.uc.mfa.verifyTotp(a, '12345'), (e: any) => e.code === 'invalid_request' && e.kind === 'invalid');
      const viaHeader = await s.call('GET', '/api/v1/me/mfa', alice, undefined, { 'x-elevate-totp': codeAt(secret, s.clock.now()) });
      assert.equal(viaHeader.status, 403);
      assert.equal(viaHeader.body.error.code, 'mfa_code_replayed');
    });

    test('removing the app needs fresh MFA; the last factor takes the recovery codes with it', async () => {
      ageOut();
      const no = await s.call('DELETE', '/api/v1/me/mfa/totp', alice);
      assert.equal(no.status, 403);
      assert.equal(no.body.error.code, 'mfa_required');
      // A recovery code counts as fresh MFA (the lost-phone path), like a TOTP code.
      const lost = actorWithMfa('alice', s.clock.now());
      lost.auth.mfa = [];
      await s.uc.mfa.verifyRecoveryCode(lost, recovery[0]);
      assert.deepEqual(lost.auth.mfa.map((m) => m.method), ['recovery_code']);
      s.clock.advance(STEP);
      const yes = await s.call('DELETE', '/api/v1/me/mfa/totp', alice, undefined, { 'x-elevate-totp': codeAt(secret, s.clock.now()) });
      assert.equal(yes.status, 204, JSON.stringify(yes.body));
      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.deepEqual(st.body, { totp: { enrolled: false, confirmed: false }, webauthn: [], recoveryCodesRemaining: 0 });
      const gone = await s.call('POST', '/api/v1/me/mfa/totp/verify', alice, { code: codeAt(secret, s.clock.now() + STEP) });
      assert.equal(gone.status, 409);
      assert.equal(gone.body.error.code, 'totp_not_enrolled');
    });

    test('adding a second factor needs fresh MFA in a session (a stolen token cannot add one at all)', async () => {
      const bob = await user(s, 'bob');
      const stolen = await tokenFor(s, 'bob');
      const e1 = await s.call('POST', '/api/v1/me/mfa/totp', bob);
      const c1 = await s.call('POST', '/api/v1/me/mfa/totp/confirm', bob, { code: codeAt(e1.body.secret, s.clock.now()) });
      assert.equal(c1.status, 200);
      issued.push(...c1.body.recoveryCodes);
      // bob's token, even with a right code on the request, adds no factor: that is done in a session.
      s.clock.advance(STEP);
      const app = await s.call('POST', '/api/v1/me/mfa/totp', stolen, undefined, { 'x-elevate-totp': codeAt(e1.body.secret, s.clock.now()) });
      assert.equal(app.status, 403);
      assert.equal(app.body.error.code, 'session_required');
      const key = await s.call('POST', '/api/v1/me/mfa/webauthn/register/options', stolen);
      assert.equal(key.status, 403);
      assert.equal(key.body.error.code, 'session_required');
      // bob also has a passkey now (stored directly: the browser flow is tested below).
      await s.store.transaction((tx) =>
        s.store.mfa.insertWebauthn(tx, { id: 'bob-key', principalId: 'bob', publicKey: 'AA', counter: 0, transports: [], name: 'key', createdAt: s.clock.now(), lastUsedAt: null }),
      );
      const del = await s.call('DELETE', '/api/v1/me/mfa/webauthn/bob-key', bob);
      assert.equal(del.status, 403);
      assert.equal(del.body.error.code, 'mfa_required');
      const notMine = await s.uc.mfa.deleteWebauthn(actorWithMfa('alice', s.clock.now()), 'bob-key').then(
        () => null,
        (e: any) => e.code,
      );
      assert.equal(notMine, 'not_found');
      s.clock.advance(STEP);
      const okDel = await s.call('DELETE', '/api/v1/me/mfa/webauthn/bob-key', bob, undefined, { 'x-elevate-totp': codeAt(e1.body.secret, s.clock.now()) });
      assert.equal(okDel.status, 204, JSON.stringify(okDel.body));

      // With only the passkey left, re-adding an app: enrolling is fine, confirming needs fresh MFA.
      await s.store.transaction((tx) =>
        s.store.mfa.insertWebauthn(tx, { id: 'bob-key2', principalId: 'bob', publicKey: 'AA', counter: 0, transports: [], name: 'key', createdAt: s.clock.now(), lastUsedAt: null }),
      );
      s.clock.advance(STEP);
      assert.equal((await s.call('DELETE', '/api/v1/me/mfa/totp', bob, undefined, { 'x-elevate-totp': codeAt(e1.body.secret, s.clock.now()) })).status, 204);
      const e2 = await s.call('POST', '/api/v1/me/mfa/totp', bob);
      assert.equal(e2.status, 201);
      // The code sent with the removal is fresh MFA for bob's session for 5 minutes: let it age out.
      ageOut();
      const c2 = await s.call('POST', '/api/v1/me/mfa/totp/confirm', bob, { code: codeAt(e2.body.secret, s.clock.now()) });
      assert.equal(c2.status, 403);
      assert.equal(c2.body.error.code, 'mfa_required');
      const c3 = await s.uc.mfa.confirmTotp(actorWithMfa('bob', s.clock.now(), 'webauthn'), codeAt(e2.body.secret, s.clock.now()));
      // bob still had recovery codes: none are minted again.
      assert.equal(c3.recoveryCodes, null);
      assert.equal((await s.call('GET', '/api/v1/me/mfa', bob)).body.totp.confirmed, true);
      const denied = await s.call('GET', '/api/v1/audit?type=authz.denied&principal=bob', ADMIN_TOKEN);
      assert.ok(denied.body.items.some((e: any) => e.reasons.includes('mfa_required') && e.data.action === 'mfa.totp.enroll'));
      assert.ok(denied.body.items.some((e: any) => e.reasons.includes('session_required') && e.data.action === 'mfa.webauthn.enroll'));
    });

    test('a passkey next to other factors needs fresh MFA; next to a passkey, a fresh passkey verification', async () => {
      const frank = await user(s, 'frank');
      const e = await s.call('POST', '/api/v1/me/mfa/totp', frank);
      const c = await s.call('POST', '/api/v1/me/mfa/totp/confirm', frank, { code: codeAt(e.body.secret, s.clock.now()) });
      assert.equal(c.status, 200);
      issued.push(...c.body.recoveryCodes);
      const register = (method: 'totp' | 'webauthn' | 'recovery_code' | 'none') => refusal(s.uc.mfa.webauthnRegister(actorWithMfa('frank', s.clock.now(), method), madeUpRegistration));
      // Confirming the app was no verification: the session has no fresh MFA.
      const stale = await s.call('POST', '/api/v1/me/mfa/webauthn/register', frank, { response: madeUpRegistration });
      assert.equal(stale.status, 403);
      assert.equal(stale.body.error.code, 'mfa_required');
      // With an app but no passkey, fresh MFA of any kind passes (and then this response finds no challenge).
      assert.equal(await register('none'), 'mfa_required');
      for (const m of ['totp', 'recovery_code', 'webauthn'] as const) assert.equal(await register(m), 'mfa_challenge_invalid', m);

      // Next to a passkey, only a fresh passkey verification will do.
      await s.store.transaction((tx) =>
        s.store.mfa.insertWebauthn(tx, { id: 'frank-key', principalId: 'frank', publicKey: 'AA', counter: 0, transports: [], name: 'key', createdAt: s.clock.now(), lastUsedAt: null }),
      );
      for (const m of ['none', 'totp', 'recovery_code'] as const) assert.equal(await register(m), 'mfa_required', m);
      assert.equal(await register('webauthn'), 'mfa_challenge_invalid');
      s.clock.advance(STEP);
      const withCode = await s.call('POST', '/api/v1/me/mfa/webauthn/register', frank, { response: madeUpRegistration }, { 'x-elevate-totp': codeAt(e.body.secret, s.clock.now()) });
      assert.equal(withCode.status, 403);
      assert.equal(withCode.body.error.code, 'mfa_required');
      const denied = await s.call('GET', '/api/v1/audit?type=authz.denied&principal=frank&limit=1000', ADMIN_TOKEN);
      assert.ok(denied.body.items.some((x: any) => x.reasons.includes('mfa_required') && x.data.action === 'mfa.webauthn.enroll (with an existing passkey)'));
      assert.deepEqual((await s.call('GET', '/api/v1/me/mfa', frank)).body.webauthn.map((w: any) => w.id), ['frank-key']);
    });

    test('malformed WebAuthn input is a 400, a forged one a 403, never a 500', async () => {
      const carol = await user(s, 'carol');
      const post = (path: string, body: unknown) => s.call('POST', `/api/v1/me/mfa/webauthn/${path}`, carol, body);
      for (const body of [{}, { response: 'x' }, { response: [] }, { response: {} }, { response: { id: 'a', rawId: 'b', type: 'public-key', response: {} } }]) {
        for (const path of ['register', 'verify']) {
          const r = await post(path, body);
          assert.equal(r.status, 400, `${path} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
          assert.equal(r.body.error.code, 'invalid_request');
        }
      }
      const notJson = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'bm90IGpzb24', authenticatorData: 'AAAA', signature: 'AAAA' } };
      assert.equal((await post('verify', { response: notJson })).status, 400);

      // No passkey yet: no authentication options.
      const none = await post('authenticate/options', undefined);
      assert.equal(none.status, 409);
      assert.equal(none.body.error.code, 'webauthn_not_enrolled');

      // A well-formed registration with garbage attestation, for a real challenge: refused, audited.
      const ro = await post('register/options', undefined);
      assert.equal(ro.status, 200, JSON.stringify(ro.body));
      assert.equal(ro.body.rp.id, 'localhost');
      assert.equal(ro.body.authenticatorSelection.userVerification, 'required');
      assert.equal(ro.body.authenticatorSelection.residentKey, 'preferred');
      const cd = b64({ type: 'webauthn.create', challenge: ro.body.challenge, origin: 'http://localhost:8080' });
      const forged = await post('register', { response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: cd, attestationObject: 'AAAAAAAA' }, clientExtensionResults: {} } });
      assert.equal(forged.status, 403, JSON.stringify(forged.body));
      assert.equal(forged.body.error.code, 'mfa_webauthn_failed');
      // The challenge was single use.
      const again = await post('register', { response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: cd, attestationObject: 'AAAAAAAA' } } });
      assert.equal(again.status, 403);
      assert.equal(again.body.error.code, 'mfa_challenge_invalid');

      // An assertion naming a credential that is not carol's, on carol's challenge.
      await s.store.transaction((tx) =>
        s.store.mfa.insertWebauthn(tx, { id: 'carol-key', principalId: 'carol', publicKey: 'AA', counter: 0, transports: [], name: 'key', createdAt: s.clock.now(), lastUsedAt: null }),
      );
      const ao = await post('authenticate/options', undefined);
      assert.equal(ao.status, 200);
      assert.deepEqual(ao.body.allowCredentials.map((c: any) => c.id), ['carol-key']);
      assert.equal(ao.body.userVerification, 'required');
      const acd = b64({ type: 'webauthn.get', challenge: ao.body.challenge, origin: 'http://localhost:8080' });
      const other = await post('verify', { response: { id: 'bob-key2', rawId: 'bob-key2', type: 'public-key', response: { clientDataJSON: acd, authenticatorData: 'AAAA', signature: 'AAAA' } } });
      assert.equal(other.status, 403);
      assert.equal(other.body.error.code, 'mfa_invalid_credential');
      // A forged signature by carol's own (bogus) key.
      const ao2 = await post('authenticate/options', undefined);
      const acd2 = b64({ type: 'webauthn.get', challenge: ao2.body.challenge, origin: 'http://localhost:8080' });
      const sig = await post('verify', { response: { id: 'carol-key', rawId: 'carol-key', type: 'public-key', response: { clientDataJSON: acd2, authenticatorData: Buffer.alloc(37, 5).toString('base64url'), signature: 'AAAA' } } });
      assert.equal(sig.status, 403, JSON.stringify(sig.body));
      assert.equal(sig.body.error.code, 'mfa_webauthn_failed');
      // Another principal's challenge is not carol's.
      const bo = await s.call('POST', '/api/v1/me/mfa/webauthn/authenticate/options', ADMIN_TOKEN);
      assert.equal(bo.status, 409); // the admin has no key either
    });

    test('refusals are audited with reasons; no seed or recovery code in the audit, responses or logs', async () => {
      const items = await failures(s, 'alice');
      const reasons = new Set(items.flatMap((e) => e.reasons));
      for (const r of ['mfa_invalid_code', 'mfa_code_replayed', 'mfa_rate_limited', 'totp_not_enrolled', 'totp_not_confirmed']) assert.ok(reasons.has(r), `${r} in ${[...reasons]}`);
      for (const e of items) {
        assert.equal(e.outcome, 'denied');
        assert.ok(['totp', 'recovery_code'].includes(e.data.method));
      }
      const carolReasons = new Set((await failures(s, 'carol')).flatMap((e) => e.reasons));
      for (const r of ['mfa_webauthn_failed', 'mfa_challenge_invalid', 'mfa_invalid_credential']) assert.ok(carolReasons.has(r), `${r} in ${[...carolReasons]}`);
      const ok = await s.call('GET', '/api/v1/audit?type=mfa.verified&principal=alice&limit=1000', ADMIN_TOKEN);
      assert.ok(ok.body.items.length >= 5);
      assert.ok(ok.body.items.every((e: any) => e.outcome === 'allowed'));
      for (const t of ['mfa.enrolled', 'mfa.removed', 'mfa.recovery_codes_issued']) {
        assert.ok((await s.call('GET', `/api/v1/audit?type=${t}&principal=alice`, ADMIN_TOKEN)).body.items.length > 0, t);
      }

      const all = await auditExport(s);
      const secrets = [secret, ...issued, ...issued.map((c) => c.replace(/-/g, '').toUpperCase()), ...issued.map((c) => c.toUpperCase())];
      assert.ok(secret.length > 0 && issued.length >= 30);
      // Response bodies other than the enrollment and the code issuance that hand them out.
      const leaky = s.bodies.filter((b) => !b.includes('"otpauthUrl"') && !b.includes('"recoveryCodes"'));
      for (const x of secrets) {
        assert.ok(!all.includes(x), 'audit export contains a secret');
        assert.ok(!s.logs.some((l) => l.includes(x)), 'a log line contains a secret');
        assert.ok(!leaky.some((b) => b.includes(x)), 'a response contains a secret');
      }
      assert.ok(s.logs.length > 0, 'the logger was captured');
      const verify = await s.call('GET', '/api/v1/audit/verify', ADMIN_TOKEN);
      assert.equal(verify.body.ok, true);
    });
  });

  describe(`MFA: RFC 6238 codes through the verify path on ${backend.name}`, { skip: backend.skip }, () => {
    let s: MfaServer;
    let dave: string;
    before(async () => {
      s = await start(backend.name, { clock: new ManualClock(59_000) });
      // A token, not a session: the clock jumps years ahead (and back), far past any session's lifetime.
      dave = await tokenUser(s as unknown as TestServer, 'dave');
      // The RFC's seed, "12345678901234567890", in base32, sealed as enrollment would.
      await s.store.transaction((tx) =>
        s.store.mfa.putTotp(tx, { principalId: 'dave', secretSealed: makeSealer(s.secretKey).seal('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), confirmedAt: 59_000, lastStep: 0, createdAt: 59_000 }),
      );
    });
    after(async () => s?.cleanup());

    test('6-digit codes from Appendix B verify at their times, and only once', async () => {
      const vectors: [number, string][] = [
        [59, '287082'],
        [1111111109, '081804'],
        [1111111111, '050471'],
        [1234567890, '005924'],
        [2000000000, '279037'],
        [20000000000, '353130'],
      ];
      let prev: string | null = null;
      for (const [t, code] of vectors) {
        s.clock.set(t * 1000);
        if (prev) {
          const stale = await s.call('POST', '/api/v1/me/mfa/totp/verify', dave, { code: prev });
          assert.equal(stale.status, 403, `T=${t}: previous code`);
        }
        const r = await s.call('POST', '/api/v1/me/mfa/totp/verify', dave, { code });
        assert.equal(r.status, 200, `T=${t}: ${JSON.stringify(r.body)}`);
        const again = await s.call('POST', '/api/v1/me/mfa/totp/verify', dave, { code });
        assert.equal(again.status, 403);
        assert.equal(again.body.error.code, 'mfa_code_replayed');
        prev = code;
      }
      // 1111111109 and 1111111111 are adjacent steps: after the later one, the earlier is a replay.
      s.clock.set(1111111111_000);
      // (clock moved back: every step in the window is at or before the last accepted one)
      const back = await s.call('POST', '/api/v1/me/mfa/totp/verify', dave, { code: '081804' });
      assert.equal(back.status, 403);
      assert.equal(back.body.error.code, 'mfa_code_replayed');
    });
  });

  describe(`MFA: WebAuthn with Chromium on ${backend.name}`, { skip: backend.skip || BROWSER_SKIP }, () => {
    let s: MfaServer;
    let browser: Browser;
    let page: Page;
    let authr: VirtualAuthenticator;
    let origin = '';
    let alice: string, bob: string;
    let aliceCred = '';
    let bobCred = '';
    let lastAssertion: unknown = null;

    before(async () => {
      const port = await freePort();
      origin = `http://localhost:${port}`;
      s = await start(backend.name, { publicUrl: origin });
      await s.app.listen({ port, host: '127.0.0.1' });
      alice = await user(s, 'alice');
      bob = await user(s, 'bob');
      browser = await launchBrowser();
      page = await browser.newPage();
      await page.goto(`${origin}/healthz`);
      await page.addScriptTag({ path: WEBAUTHN_BUNDLE });
      authr = await addVirtualAuthenticator(page);
    });
    after(async () => {
      await authr?.remove().catch(() => undefined);
      await browser?.close();
      await s?.cleanup();
    });

    /** Act as this person in the page: a session rides in the cookie (with the CSRF header), a token in Authorization. */
    async function as(token: string): Promise<Record<string, string>> {
      if (!token.startsWith('els_')) {
        await page.context().clearCookies();
        return { authorization: `Bearer ${token}` };
      }
      await page.context().addCookies([{ name: 'elevate_session', value: token, url: origin }]);
      return { 'x-csrf-token': csrfTokenOf(token) };
    }

    /** Run a ceremony in the page: fetch options, let the authenticator answer, return the browser's JSON. */
    async function ceremony(
      kind: 'register' | 'authenticate',
      token: string,
      tweak: { allowCredentials?: string[]; userVerification?: string; excludeCredentials?: string[]; residentKey?: string } = {},
    ): Promise<{ ok: true; response: any } | { ok: false; error: string }> {
      const auth = await as(token);
      return page.evaluate(
        async ({ kind, auth, tweak }) => {
          const W = (globalThis as any).SimpleWebAuthnBrowser;
          const res = await fetch(`/api/v1/me/mfa/webauthn/${kind}/options`, { method: 'POST', headers: auth });
          if (!res.ok) return { ok: false as const, error: `options ${res.status} ${await res.text()}` };
          const optionsJSON = await res.json();
          if (tweak.allowCredentials) optionsJSON.allowCredentials = tweak.allowCredentials.map((id: string) => ({ id, type: 'public-key' }));
          if (tweak.userVerification) optionsJSON.userVerification = tweak.userVerification;
          if (tweak.excludeCredentials) optionsJSON.excludeCredentials = tweak.excludeCredentials.map((id: string) => ({ id, type: 'public-key' }));
          if (tweak.residentKey) optionsJSON.authenticatorSelection = { ...optionsJSON.authenticatorSelection, residentKey: tweak.residentKey };
          try {
            const response = kind === 'register' ? await W.startRegistration({ optionsJSON }) : await W.startAuthentication({ optionsJSON });
            return { ok: true as const, response };
          } catch (e) {
            return { ok: false as const, error: String((e as Error).name ?? e) + ': ' + String((e as Error).message ?? '') };
          }
        },
        { kind, auth, tweak },
      );
    }

    /** POST from the page (same origin as a real browser client would). */
    async function post(path: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
      const auth = await as(token);
      return page.evaluate(
        async ({ path, auth, body }) => {
          const res = await fetch(`/api/v1/me/mfa/webauthn/${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
          return { status: res.status, body: await res.json() };
        },
        { path, auth, body },
      );
    }

    const stored = (id: string) => s.store.transaction((tx) => s.store.mfa.webauthnCredential(tx, id));
    /** The MFA evidence kept on a session. */
    const sessionMfa = async (secret: string) => (await s.store.transaction((tx) => s.store.sessions.get(tx, sessionIdOf(secret))))!.mfa;
    const verifiedEvents = async (principal: string): Promise<any[]> => (await s.call('GET', `/api/v1/audit?type=mfa.verified&principal=${principal}&limit=1000`, ADMIN_TOKEN)).body.items;

    test('registration with user verification stores the credential and returns recovery codes once', async () => {
      const c = await ceremony('register', alice);
      assert.ok(c.ok, !c.ok ? c.error : '');
      const r = await post('register', alice, { response: c.response, name: 'Test key' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      aliceCred = r.body.id;
      assert.equal(aliceCred, c.response.id);
      assert.equal(r.body.name, 'Test key');
      assert.equal(r.body.recoveryCodes.length, 10);
      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.deepEqual(st.body.webauthn.map((w: any) => [w.id, w.name]), [[aliceCred, 'Test key']]);
      assert.equal(st.body.recoveryCodesRemaining, 10);
      const row = await stored(aliceCred);
      assert.ok(row && row.principalId === 'alice' && row.publicKey.length > 0 && /^[A-Za-z0-9_-]+$/.test(row.publicKey));
      assert.ok(row.transports.includes('internal'), JSON.stringify(row.transports));
      // Registering is not a verification: no evidence on the session, no mfa.verified event.
      assert.deepEqual(await sessionMfa(alice), []);
      assert.deepEqual(await verifiedEvents('alice'), []);
      const enrolled = await s.call('GET', '/api/v1/audit?type=mfa.enrolled&principal=alice', ADMIN_TOKEN);
      assert.deepEqual(enrolled.body.items.map((e: any) => [e.data.method, e.data.credentialId]), [['webauthn', aliceCred]]);
    });

    test('registering records no MFA evidence; an API token cannot register a passkey or enroll an app, but verifies', async () => {
      const gina = await user(s, 'gina');
      const ginaToken = await tokenFor(s, 'gina');
      const byToken = await ceremony('register', ginaToken);
      assert.ok(!byToken.ok && byToken.error.startsWith('options 403') && byToken.error.includes('session_required'), JSON.stringify(byToken));
      const app = await s.call('POST', '/api/v1/me/mfa/totp', ginaToken);
      assert.equal(app.status, 403);
      assert.equal(app.body.error.code, 'session_required');
      // A registration made in gina's session, handed in with her token: refused (and its challenge left alone).
      const c = await ceremony('register', gina);
      assert.ok(c.ok, !c.ok ? c.error : '');
      const viaToken = await post('register', ginaToken, { response: c.response });
      assert.equal(viaToken.status, 403, JSON.stringify(viaToken.body));
      assert.equal(viaToken.body.error.code, 'session_required');
      assert.equal((await s.call('GET', '/api/v1/me/mfa', gina)).body.webauthn.length, 0);
      const r = await post('register', gina, { response: c.response });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.recoveryCodes.length, 10);
      assert.deepEqual(await sessionMfa(gina), []);
      assert.deepEqual(await verifiedEvents('gina'), []);
      // The new passkey counts once it is used, with the token as well as in the session.
      const a = await ceremony('authenticate', ginaToken);
      assert.ok(a.ok, !a.ok ? a.error : '');
      const v = await post('verify', ginaToken, { response: a.response });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.deepEqual((await verifiedEvents('gina')).map((e: any) => [e.data.method, e.data.credentialId, e.data.purpose]), [['webauthn', r.body.id, 'verify']]);
      assert.deepEqual(await sessionMfa(gina), []); // the token's evidence stays with its request
      const denied = await s.call('GET', '/api/v1/audit?type=authz.denied&principal=gina&limit=1000', ADMIN_TOKEN);
      assert.deepEqual(denied.body.items.map((e: any) => [e.data.action, e.reasons]).sort(), [
        ['mfa.totp.enroll', ['session_required']],
        ['mfa.webauthn.enroll', ['session_required']],
        ['mfa.webauthn.enroll', ['session_required']],
      ]);
    });

    test('authentication verifies, stores the counter; the same assertion again is refused', async () => {
      const c = await ceremony('authenticate', alice);
      assert.ok(c.ok, !c.ok ? c.error : '');
      const r = await post('verify', alice, { response: c.response });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.method, 'webauthn');
      assert.equal(r.body.credentialId, aliceCred);
      const [vc] = (await authr.credentials()).filter((x) => Buffer.from(x.credentialId, 'base64').toString('base64url') === aliceCred);
      assert.ok(vc);
      const row = await stored(aliceCred);
      assert.ok(row && row.counter > 0, `counter ${row?.counter}`);
      assert.equal(row.counter, vc.signCount);
      assert.equal(row.lastUsedAt, s.clock.now());
      lastAssertion = c.response;

      const replay = await post('verify', alice, { response: lastAssertion });
      assert.equal(replay.status, 403);
      assert.equal(replay.body.error.code, 'mfa_challenge_invalid');
      // A second real authentication works (the counter moves forward).
      const c2 = await ceremony('authenticate', alice);
      assert.ok(c2.ok);
      assert.equal((await post('verify', alice, { response: c2.response })).status, 200);
      assert.ok((await stored(aliceCred))!.counter > row.counter);
    });

    test('a signature counter that does not move forward is refused, audited, and not stored', async () => {
      const before = (await stored(aliceCred))!;
      await s.store.transaction((tx) => s.store.mfa.updateWebauthn(tx, aliceCred, before.counter + 1000, before.lastUsedAt ?? 0));
      const c = await ceremony('authenticate', alice);
      assert.ok(c.ok);
      const r = await post('verify', alice, { response: c.response });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'mfa_counter_regressed');
      assert.equal((await stored(aliceCred))!.counter, before.counter + 1000);
      const f = await failures(s, 'alice');
      assert.ok(f.some((e) => e.reasons.includes('mfa_counter_regressed') && e.data.credentialId === aliceCred));
      await s.store.transaction((tx) => s.store.mfa.updateWebauthn(tx, aliceCred, before.counter, before.lastUsedAt ?? 0));
    });

    test("an assertion by another principal's credential is refused", async () => {
      const c = await ceremony('register', bob);
      assert.ok(c.ok, !c.ok ? c.error : '');
      const r = await post('register', bob, { response: c.response });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      bobCred = r.body.id;
      assert.notEqual(bobCred, aliceCred);
      assert.equal(r.body.name, 'Passkey 1');
      // bob's challenge, answered with alice's credential (on the same authenticator).
      const a = await ceremony('authenticate', bob, { allowCredentials: [aliceCred] });
      assert.ok(a.ok, !a.ok ? a.error : '');
      assert.equal(a.response.id, aliceCred);
      const v = await post('verify', bob, { response: a.response });
      assert.equal(v.status, 403);
      assert.equal(v.body.error.code, 'mfa_invalid_credential');
      // And alice cannot use bob's challenge either.
      const b = await ceremony('authenticate', bob);
      assert.ok(b.ok);
      const cross = await post('verify', alice, { response: b.response });
      assert.equal(cross.status, 403);
      assert.equal(cross.body.error.code, 'mfa_challenge_invalid');
      assert.ok((await failures(s, 'bob')).some((e) => e.reasons.includes('mfa_invalid_credential')));
    });

    test('without user verification the assertion is refused', async () => {
      await authr.setUserVerified(false);
      try {
        // With userVerification 'required' the browser itself may refuse; either way no MFA.
        const req = await ceremony('authenticate', alice);
        if (req.ok) {
          const v = await post('verify', alice, { response: req.response });
          assert.equal(v.status, 403);
        }
        // Ask the authenticator without requiring UV: it answers with UV=0, and the server refuses.
        const c = await ceremony('authenticate', alice, { userVerification: 'discouraged' });
        assert.ok(c.ok, !c.ok ? c.error : '');
        const flags = Buffer.from(c.response.response.authenticatorData, 'base64url')[32]!;
        assert.equal(flags & 0x04, 0, 'UV flag clear');
        const v = await post('verify', alice, { response: c.response });
        assert.equal(v.status, 403);
        assert.equal(v.body.error.code, 'mfa_user_not_verified');
      } finally {
        await authr.setUserVerified(true);
      }
      assert.ok((await failures(s, 'alice')).some((e) => e.reasons.includes('mfa_user_not_verified')));
    });

    test('a second passkey needs a fresh passkey verification; removal needs fresh MFA; removal is audited', async () => {
      // alice's session verified with her passkey above: let that evidence age out.
      s.clock.advance(5 * MIN + 1000);
      const c = await ceremony('register', alice);
      // The authenticator already holds alice's credential (excludeCredentials): the browser refuses.
      assert.equal(c.ok, false);
      // A second (non-discoverable) credential, as another authenticator would make it.
      const second = await ceremony('register', alice, { excludeCredentials: [], residentKey: 'discouraged' });
      assert.ok(second.ok, !second.ok ? second.error : '');
      assert.notEqual(second.response.id, aliceCred);
      const stale = await post('register', alice, { response: second.response });
      assert.equal(stale.status, 403, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'mfa_required');
      // Fresh MFA of another kind is not enough next to a passkey.
      assert.equal(await refusal(s.uc.mfa.webauthnRegister(actorWithMfa('alice', s.clock.now(), 'totp'), second.response)), 'mfa_required');
      // After a passkey verification in the session, the same registration (its challenge unused) is accepted.
      const a = await ceremony('authenticate', alice);
      assert.ok(a.ok, !a.ok ? a.error : '');
      assert.equal((await post('verify', alice, { response: a.response })).status, 200);
      const r = await post('register', alice, { response: second.response, name: 'Second key' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const secondCred = r.body.id as string;
      assert.equal(secondCred, second.response.id);
      assert.ok(!('recoveryCodes' in r.body), 'not the first factor: no recovery codes');
      // Every mfa.verified event of alice's is a verification, none a registration.
      assert.ok((await verifiedEvents('alice')).every((e: any) => e.data.purpose === 'verify' && e.data.credentialId === aliceCred));

      s.clock.advance(5 * MIN + 1000);
      const del = await s.call('DELETE', `/api/v1/me/mfa/webauthn/${aliceCred}`, alice);
      assert.equal(del.status, 403);
      assert.equal(del.body.error.code, 'mfa_required');
      await s.uc.mfa.deleteWebauthn(actorWithMfa('alice', s.clock.now(), 'webauthn'), aliceCred);
      await s.uc.mfa.deleteWebauthn(actorWithMfa('alice', s.clock.now(), 'totp'), secondCred);
      const st = await s.call('GET', '/api/v1/me/mfa', alice);
      assert.deepEqual(st.body, { totp: { enrolled: false, confirmed: false }, webauthn: [], recoveryCodesRemaining: 0 });
      const removed = await s.call('GET', '/api/v1/audit?type=mfa.removed&principal=alice', ADMIN_TOKEN);
      assert.deepEqual(removed.body.items.map((e: any) => e.data.credentialId).sort(), [aliceCred, secondCred].sort());
      const all = await auditExport(s);
      assert.ok(!s.logs.some((l) => l.includes('"error":"internal"')));
      assert.ok(all.includes(bobCred));
    });
  });
}
