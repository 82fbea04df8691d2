// Browser sessions end to end over HTTP: local password sign-in, lockout, cookies and CSRF,
// idle and absolute timeouts, sign-out here and everywhere, password change, suspension.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ORIGIN = 'http://localhost:8080'; // the harness's default public URL

/** A signed-in browser: the two cookies login set. */
interface Jar {
  session: string;
  csrf: string;
}

interface Cookie {
  value: string;
  /** attributes, lower-cased names (`httponly`, `samesite=lax`, `max-age=…`, `secure`) */
  attrs: string[];
}

function setCookies(res: LightMyRequestResponse): Record<string, Cookie> {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const out: Record<string, Cookie> = {};
  for (const line of list) {
    const [pair, ...attrs] = line.split(';').map((x) => x.trim());
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = { value: decodeURIComponent(pair!.slice(eq + 1)), attrs: attrs.map((a) => a.toLowerCase()) };
  }
  return out;
}

const json = (res: LightMyRequestResponse): any => {
  try {
    return res.body ? JSON.parse(res.body) : null;
  } catch {
    return res.body;
  }
};

for (const backend of BACKENDS) {
  describe(`sessions on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let aliceToken: string, bobToken: string;
    const pw = { alice: 'correct horse battery staple', bob: 'purple-elephant-dances-at-noon', carol: 'seven quiet rivers run deep' };
    /** Every password string a test sent (right or wrong): none may ever show up in the audit trail. */
    const sentPasswords = new Set<string>(Object.values(pw));

    async function login(username: string, password: string, o: { ip?: string; origin?: string } = {}) {
      sentPasswords.add(password);
      const res = await s.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username, password },
        remoteAddress: o.ip ?? '127.0.0.1',
        headers: o.origin ? { origin: o.origin } : {},
      });
      const cookies = setCookies(res);
      const jar: Jar | null = cookies.elevate_session && cookies.elevate_csrf ? { session: cookies.elevate_session.value, csrf: cookies.elevate_csrf.value } : null;
      return { status: res.statusCode, body: json(res), headers: res.headers, cookies, jar };
    }

    async function signIn(username: string, password: string, ip?: string): Promise<Jar> {
      const r = await login(username, password, ip ? { ip } : {});
      assert.equal(r.status, 200, `login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.ok(r.jar);
      return r.jar;
    }

    /** A request from a signed-in browser: the cookies, and the CSRF header unless told otherwise. */
    async function browser(jar: Jar, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, o: { csrf?: string | null; origin?: string } = {}) {
      const csrf = o.csrf === undefined ? jar.csrf : o.csrf;
      const res = await s.app.inject({
        method,
        url,
        headers: {
          cookie: `elevate_session=${jar.session}; elevate_csrf=${jar.csrf}`,
          ...(csrf !== null && method !== 'GET' ? { 'x-csrf-token': csrf } : {}),
          ...(o.origin ? { origin: o.origin } : {}),
        },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      return { status: res.statusCode, body: json(res), headers: res.headers, cookies: setCookies(res) };
    }

    const me = (jar: Jar) => browser(jar, 'GET', '/api/v1/me');
    const auditOf = async (type: string, principal?: string) =>
      (await s.call('GET', `/api/v1/audit?type=${type}${principal ? `&principal=${principal}` : ''}&limit=1000`, ADMIN_TOKEN)).body.items as any[];

    before(async () => {
      s = await startServer(backend.name);
      aliceToken = await user(s, 'alice');
      bobToken = await user(s, 'bob');
      await user(s, 'carol');
    });
    after(async () => s?.cleanup());

    test('admins set local accounts; weak passwords and non-admins are refused', async () => {
      const short = await s.call('PUT', '/api/v1/principals/alice/local-account', ADMIN_TOKEN, { username: 'alice', password: 'short-pw' });
      assert.equal(short.status, 400);
      assert.equal(short.body.error.code, 'password_too_short');
      const withName = await s.call('PUT', '/api/v1/principals/alice/local-account', ADMIN_TOKEN, { username: 'Alice', password: 'my-name-is-ALICE-ok' });
      assert.equal(withName.status, 400);
      assert.equal(withName.body.error.code, 'password_contains_username');
      // Refusals never echo the password.
      for (const r of [short, withName]) assert.ok(!JSON.stringify(r.body).includes('short-pw') && !JSON.stringify(r.body).includes('my-name-is-ALICE-ok'));
      sentPasswords.add('short-pw').add('my-name-is-ALICE-ok');

      const notAdmin = await s.call('PUT', '/api/v1/principals/bob/local-account', aliceToken, { username: 'bob', password: pw.bob });
      assert.equal(notAdmin.status, 403);
      assert.equal(notAdmin.body.error.code, 'not_admin');
      const self = await s.call('PUT', '/api/v1/principals/alice/local-account', aliceToken, { username: 'alice', password: pw.alice });
      assert.equal(self.status, 403, 'a user cannot even set their own account through the admin route');

      for (const [id, name] of [['alice', ' Alice '], ['bob', 'bob'], ['carol', 'carol']] as const) {
        const r = await s.call('PUT', `/api/v1/principals/${id}/local-account`, ADMIN_TOKEN, { username: name, password: pw[id] });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.username, id, 'the user name is stored normalized');
      }
      // One sign-in name, one principal, however it is spelled.
      const taken = await s.call('PUT', '/api/v1/principals/bob/local-account', ADMIN_TOKEN, { username: 'ＡＬＩＣＥ', password: pw.bob });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.error.code, 'username_taken');
      assert.equal((await signIn('bob', pw.bob)).session.length > 0, true, 'bob keeps his own name');
    });

    test('sign-in sets an HttpOnly SameSite=Lax session cookie and a readable CSRF cookie; /me shows the session', async () => {
      const r = await login('alice', pw.alice);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.principal.id, 'alice');
      assert.equal(typeof r.body.csrfToken, 'string');
      assert.equal(Date.parse(r.body.expiresAt), s.clock.now() + 12 * HOUR);
      const sc = r.cookies.elevate_session!;
      const cc = r.cookies.elevate_csrf!;
      assert.ok(sc.value.startsWith('els_'));
      assert.ok(sc.attrs.includes('httponly'));
      assert.ok(sc.attrs.includes('samesite=lax'));
      assert.ok(sc.attrs.includes('path=/'));
      assert.ok(sc.attrs.includes(`max-age=${12 * 3600}`), sc.attrs.join('; '));
      assert.ok(!cc.attrs.includes('httponly'), 'the page must be able to read the CSRF cookie');
      assert.ok(cc.attrs.includes('samesite=lax'));
      assert.equal(cc.value, r.body.csrfToken);
      for (const c of [sc, cc]) assert.ok(!c.attrs.includes('secure'), 'no Secure on a plain-http public URL');
      assert.ok(!JSON.stringify(r.body).includes(sc.value), 'the session secret is only in the HttpOnly cookie');

      const m = await me(r.jar!);
      assert.equal(m.status, 200, JSON.stringify(m.body));
      assert.equal(m.body.principal.id, 'alice');
      assert.equal(m.body.auth.method, 'session');
      assert.equal(m.body.auth.tokenId, null);
      assert.equal(m.body.auth.signIn.signIn, 'password');
      assert.deepEqual(m.body.auth.mfa, []);
      assert.equal(m.body.csrfToken, r.body.csrfToken);
      // A token caller sees no CSRF token.
      const t = await s.call('GET', '/api/v1/me', aliceToken);
      assert.equal(t.body.auth.method, 'token');
      assert.equal(t.body.csrfToken, undefined);

      const ok = await auditOf('auth.login', 'alice');
      assert.ok(ok.some((e) => e.outcome === 'allowed' && e.data.signIn === 'password'));
      // Sign-in from another site's page is refused (login CSRF).
      const foreign = await login('alice', pw.alice, { origin: 'https://evil.example' });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.body.error.code, 'csrf_failed');
      assert.equal(foreign.jar, null);
      // Missing fields are a 400, not a sign-in attempt.
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice' } })).statusCode, 400);
    });

    test('lockout counts the user name however it is spelled; unknown names look like wrong passwords; all audited without passwords', async () => {
      const ip = '10.0.0.1';
      const spellings = ['Alice', ' alice', 'ALICE', 'alice ', 'ａｌｉｃｅ'];
      const seen = new Set((await auditOf('auth.login_failed', 'alice')).map((e) => e.id));
      let wrongBody: unknown = null;
      for (const [i, name] of spellings.entries()) {
        const r = await login(name, `wrong-password-${i}`, { ip });
        assert.equal(r.status, 401, `${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'invalid_credentials');
        assert.equal(r.jar, null);
        wrongBody = r.body;
      }
      // The right password, from anywhere, is now refused for this name: the lock is per name.
      const locked = await login('alice', pw.alice, { ip: '10.0.0.2' });
      assert.equal(locked.status, 429, JSON.stringify(locked.body));
      assert.equal(locked.body.error.code, 'locked_out');
      assert.equal(locked.jar, null);
      const retry = Number(locked.headers['retry-after']);
      assert.ok(retry > 14 * 60 && retry <= 15 * 60, `Retry-After ${retry}`);
      assert.equal((await login('ALICE ', pw.alice, { ip })).status, 429);
      // Other names are not affected.
      assert.equal((await login('bob', pw.bob, { ip: '10.0.0.3' })).status, 200);

      // An unknown name gets exactly the answer of a wrong password.
      const unknown = await login('mallory', 'wrong-password-x', { ip: '10.0.0.4' });
      assert.equal(unknown.status, 401);
      assert.deepEqual(unknown.body, wrongBody);
      const wrongBob = await login('bob', 'wrong-password-y', { ip: '10.0.0.4' });
      assert.deepEqual(wrongBob.body, unknown.body);

      const events = (await auditOf('auth.login_failed', 'alice')).filter((e) => !seen.has(e.id));
      const reasons = events.map((e) => e.reasons[0]).sort();
      assert.deepEqual(reasons, ['invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'locked_out', 'locked_out'].sort());
      for (const e of events) {
        assert.equal(e.data.username, 'alice', 'audited under the normalized name');
        assert.equal(e.outcome, 'denied');
        assert.equal(e.principalId, 'alice');
      }
      assert.ok(events.some((e) => e.data.sourceIp === ip));
      // An unknown name is kept only as a digest (it may be a password typed into the name field).
      const all = await auditOf('auth.login_failed');
      assert.ok(!JSON.stringify(all).includes('mallory'));
      const unknownEv = all.filter((e) => e.reasons[0] === 'unknown_user');
      assert.equal(unknownEv.length, 1);
      assert.match(unknownEv[0].data.usernameDigest, /^[0-9a-f]{16}$/);
      assert.deepEqual(unknownEv[0].reasons, ['unknown_user']);
      assert.equal(unknownEv[0].principalId, null);

      // After the lockout, the right password works and the counter starts over.
      s.clock.advance(15 * MIN + 1000);
      assert.equal((await login('alice', pw.alice, { ip })).status, 200);
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 4; i++) assert.equal((await login('alice', `wrong-again-${round}-${i}`, { ip: `10.0.1.${round}` })).status, 401);
        const r = await login('alice', pw.alice, { ip: `10.0.1.${round}` });
        assert.equal(r.status, 200, `round ${round}: four failures and a success never lock (${JSON.stringify(r.body)})`);
      }

      // No password, right or wrong, appears anywhere in the audit trail or its export.
      const exp = await s.app.inject({ method: 'GET', url: '/api/v1/audit/export', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(exp.statusCode, 200);
      assert.ok(exp.body.includes('auth.login_failed'));
      const list = JSON.stringify((await s.call('GET', '/api/v1/audit?limit=1000', ADMIN_TOKEN)).body);
      for (const p of sentPasswords) {
        assert.ok(!exp.body.includes(p), `password ${p} in the audit export`);
        assert.ok(!list.includes(p), `password ${p} in the audit list`);
      }
    });

    test('parallel guesses cannot outrun the lockout', async () => {
      await user(s, 'pat');
      const patPw = 'orange submarine lighthouse';
      sentPasswords.add(patPw);
      assert.equal((await s.call('PUT', '/api/v1/principals/pat/local-account', ADMIN_TOKEN, { username: 'pat', password: patPw })).status, 200);
      // Sixteen wrong guesses at once, each from its own address: exactly five are checked, the rest are locked out.
      const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => login(i % 2 ? 'PAT' : 'pat', `parallel-guess-${i}`, { ip: `10.0.9.${i}` })));
      const codes = rs.map((r) => r.status).sort();
      assert.deepEqual(codes, [...Array(5).fill(401), ...Array(11).fill(429)], codes.join(','));
      assert.equal((await login('pat', patPw, { ip: '10.0.9.100' })).status, 429);
      s.clock.advance(15 * MIN + 1000);
      assert.equal((await login('pat', patPw, { ip: '10.0.9.100' })).status, 200);
    });

    test('the address is throttled too, but successful sign-ins do not count against it', async () => {
      // Twenty failures from one address over many names (none of them locks a name) lock the address.
      const ip = '10.0.2.1';
      const spray = await Promise.all(Array.from({ length: 20 }, (_, i) => login(`spray-${i % 5}`, `spray-password-${i}`, { ip })));
      assert.deepEqual(spray.map((r) => r.status), Array(20).fill(401));
      const blocked = await login('carol', pw.carol, { ip });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.error.code, 'locked_out');
      assert.equal((await login('carol', pw.carol, { ip: '10.0.2.2' })).status, 200, 'another address is not affected');

      // A busy shared address (an office NAT) with only good sign-ins is never locked.
      for (let i = 0; i < 25; i++) {
        const r = await login(i % 2 ? 'bob' : 'carol', i % 2 ? pw.bob : pw.carol, { ip: '10.0.3.1' });
        assert.equal(r.status, 200, `sign-in ${i} from a shared address: ${JSON.stringify(r.body)}`);
      }
      s.clock.advance(15 * MIN + 1000);
    });

    test('state-changing cookie requests need the CSRF header and our origin; GETs and API tokens do not', async () => {
      const a = await signIn('alice', pw.alice);
      const b = await signIn('bob', pw.bob);
      const tokensOf = async () => (await s.call('GET', '/api/v1/principals/alice/tokens', ADMIN_TOKEN)).body.items.length;
      const n = await tokensOf();

      const cases: [string, { csrf?: string | null; origin?: string }][] = [
        ['no header', { csrf: null }],
        ['empty header', { csrf: '' }],
        ['another session\'s token', { csrf: b.csrf }],
        ['a truncated token', { csrf: a.csrf.slice(0, -1) }],
        ['the session secret itself', { csrf: a.session }],
        ['a foreign Origin with the right token', { origin: 'https://evil.example' }],
        ['a look-alike Origin', { origin: 'http://localhost:8080.evil.example' }],
      ];
      for (const [what, o] of cases) {
        const t = await browser(a, 'POST', '/api/v1/principals/alice/tokens', { name: 'csrf' }, o);
        assert.equal(t.status, 403, `${what}: ${JSON.stringify(t.body)}`);
        assert.equal(t.body.error.code, 'csrf_failed', what);
        const out = await browser(a, 'POST', '/auth/logout', undefined, o);
        assert.equal(out.status, 403, `logout, ${what}`);
        assert.equal(out.body.error.code, 'csrf_failed');
        assert.equal(out.cookies.elevate_session, undefined, 'a refused logout clears nothing');
        const pwd = await browser(a, 'POST', '/api/v1/me/password', { currentPassword: pw.alice, newPassword: 'a-brand-new-passphrase' }, o);
        assert.equal(pwd.status, 403, `password, ${what}`);
      }
      // Nothing changed: no token, the session lives, the password is the old one.
      assert.equal(await tokensOf(), n);
      assert.equal((await me(a)).status, 200);
      assert.equal((await login('alice', 'a-brand-new-passphrase', { ip: '10.0.4.1' })).status, 401);
      assert.equal((await login('alice', pw.alice, { ip: '10.0.4.1' })).status, 200);

      // With the header (and our own Origin, or none) it works.
      const made = await browser(a, 'POST', '/api/v1/principals/alice/tokens', { name: 'from-browser' }, { origin: ORIGIN });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const made2 = await browser(a, 'POST', '/api/v1/principals/alice/tokens', { name: 'from-browser-2' });
      assert.equal(made2.status, 201);
      assert.equal(await tokensOf(), n + 2);
      // GETs need no header, from any origin (a cross-site GET cannot read the answer, and changes nothing).
      assert.equal((await browser(a, 'GET', '/api/v1/principals/alice/tokens', undefined, { csrf: null })).status, 200);
      // API tokens are for automation: no CSRF header, no cookie.
      const viaToken = await s.call('POST', '/api/v1/principals/alice/tokens', aliceToken, { name: 'automation' });
      assert.equal(viaToken.status, 201, JSON.stringify(viaToken.body));
      // A bearer token wins over a cookie sent along; the request is the token's.
      const both = await s.call('GET', '/api/v1/me', bobToken, undefined, { cookie: `elevate_session=${a.session}` });
      assert.equal(both.body.principal.id, 'bob');
      assert.equal(both.body.auth.method, 'token');
      // A garbage cookie is not a session.
      const junk = await s.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: 'elevate_session=els_nope' } });
      assert.equal(junk.statusCode, 401);
      assert.equal(json(junk).error.code, 'invalid_session');
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/v1/me' })).statusCode, 401);
    });

    test('a session idles out after 30 minutes without requests, and ends after 12 hours whatever happens', async () => {
      const idle = await signIn('alice', pw.alice);
      const busy = await signIn('alice', pw.alice);
      s.clock.advance(29 * MIN);
      assert.equal((await me(busy)).status, 200);
      s.clock.advance(2 * MIN);
      const gone = await me(idle);
      assert.equal(gone.status, 401);
      assert.equal(gone.body.error.code, 'session_expired');
      // It stays dead even when activity would follow.
      assert.equal((await me(idle)).status, 401);

      // Activity every 20 minutes keeps `busy` alive until the absolute limit (12 h after sign-in).
      const start = s.clock.now() - 31 * MIN;
      const end = start + 12 * HOUR;
      let lastOk = 0;
      while (s.clock.now() + 20 * MIN < end) {
        s.clock.advance(20 * MIN);
        const r = await me(busy);
        assert.equal(r.status, 200, `at +${(s.clock.now() - start) / MIN} min: ${JSON.stringify(r.body)}`);
        lastOk = s.clock.now();
      }
      assert.ok(end - lastOk <= 20 * MIN);
      s.clock.set(end - 1);
      assert.equal((await me(busy)).status, 200);
      s.clock.set(end);
      const over = await me(busy);
      assert.equal(over.status, 401);
      assert.equal(over.body.error.code, 'session_expired');
      // Expired sessions refuse state changes just the same.
      assert.equal((await browser(busy, 'POST', '/auth/logout')).status, 401);
    });

    test('logout ends that session only; logout-all ends every session of the caller and no one else\'s', async () => {
      const a1 = await signIn('alice', pw.alice);
      const a2 = await signIn('alice', pw.alice);
      const b1 = await signIn('bob', pw.bob);
      const out = await browser(a1, 'POST', '/auth/logout');
      assert.equal(out.status, 204);
      for (const name of ['elevate_session', 'elevate_csrf']) {
        const c = out.cookies[name];
        assert.ok(c, `${name} cleared`);
        assert.equal(c.value, '');
        assert.ok(c.attrs.some((x) => x.startsWith('expires=') || x === 'max-age=0'));
      }
      const dead = await me(a1);
      assert.equal(dead.status, 401);
      assert.equal(dead.body.error.code, 'invalid_session');
      assert.equal((await browser(a1, 'POST', '/auth/logout')).status, 401, 'a second logout with the old cookie is not signed in');
      assert.equal((await me(a2)).status, 200);
      assert.ok((await auditOf('auth.logout', 'alice')).length >= 1);

      const a3 = await signIn('alice', pw.alice);
      const all = await browser(a3, 'POST', '/auth/logout-all');
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.ok(all.body.sessionsEnded >= 2, JSON.stringify(all.body));
      for (const j of [a2, a3]) assert.equal((await me(j)).status, 401);
      assert.equal((await me(b1)).status, 200, 'bob is still signed in');
      assert.equal((await s.call('GET', '/api/v1/me', aliceToken)).status, 200, 'API tokens are not sessions');
      const ev = (await auditOf('auth.logout_everywhere', 'alice')).at(-1) ?? (await auditOf('auth.logout_everywhere', 'alice'))[0];
      assert.equal(ev.data.sessions, all.body.sessionsEnded);
      // Logging out needs a session.
      const viaToken = await s.call('POST', '/auth/logout', aliceToken);
      assert.equal(viaToken.status, 400);
      assert.equal(viaToken.body.error.code, 'no_session');
    });

    test('changing the password needs the current one; other sessions end, this one stays', async () => {
      const here = await signIn('alice', pw.alice);
      const there = await signIn('alice', pw.alice);
      const bob = await signIn('bob', pw.bob);
      const wrong = await browser(here, 'POST', '/api/v1/me/password', { currentPassword: 'not-the-password', newPassword: 'an-entirely-new-phrase' });
      sentPasswords.add('not-the-password').add('an-entirely-new-phrase');
      assert.equal(wrong.status, 403);
      assert.equal(wrong.body.error.code, 'invalid_credentials');
      assert.equal((await me(there)).status, 200, 'a failed change ends nothing');
      assert.ok((await auditOf('principal.password_change_failed', 'alice')).length >= 1);

      const weak = await browser(here, 'POST', '/api/v1/me/password', { currentPassword: pw.alice, newPassword: 'tiny' });
      assert.equal(weak.status, 400);
      assert.equal(weak.body.error.code, 'password_too_short');
      const named = await browser(here, 'POST', '/api/v1/me/password', { currentPassword: pw.alice, newPassword: 'still-just-alice-2026' });
      assert.equal(named.body.error.code, 'password_contains_username');
      sentPasswords.add('tiny').add('still-just-alice-2026');
      assert.equal((await me(there)).status, 200);

      const next = 'a completely different passphrase';
      sentPasswords.add(next);
      const ok = await browser(here, 'POST', '/api/v1/me/password', { currentPassword: pw.alice, newPassword: next });
      assert.equal(ok.status, 204, JSON.stringify(ok.body));
      assert.equal((await me(here)).status, 200, 'the session that changed it stays');
      assert.equal((await me(there)).status, 401, 'every other session ends');
      assert.equal((await me(bob)).status, 200, 'other people are untouched');
      const old = await login('alice', pw.alice, { ip: '10.0.5.1' });
      assert.equal(old.status, 401);
      assert.equal(old.body.error.code, 'invalid_credentials');
      pw.alice = next;
      assert.equal((await login('alice', pw.alice, { ip: '10.0.5.1' })).status, 200);
      const ev = (await auditOf('principal.password_changed', 'alice'))[0];
      assert.ok(ev.data.otherSessionsEnded >= 1);

      // A token caller has no local password to prove: the current password is still required.
      const viaToken = await s.call('POST', '/api/v1/me/password', aliceToken, { currentPassword: 'nope-nope-nope', newPassword: 'another-long-phrase-here' });
      sentPasswords.add('nope-nope-nope').add('another-long-phrase-here');
      assert.equal(viaToken.status, 403);
      // Someone without a local account gets a clear answer.
      await user(s, 'dora');
      const doraTok = (await s.call('POST', '/api/v1/principals/dora/tokens', ADMIN_TOKEN, {})).body.token;
      const none = await s.call('POST', '/api/v1/me/password', doraTok, { currentPassword: 'whatever-long', newPassword: 'another-long-phrase' });
      assert.equal(none.status, 404);
      assert.equal(none.body.error.code, 'no_local_account');

      // A signed-in session is no unlimited password oracle: wrong current passwords count like failed sign-ins.
      const fresh = await signIn('alice', pw.alice, '10.0.5.2'); // a success starts the count over
      for (let i = 0; i < 5; i++) {
        const g = await browser(fresh, 'POST', '/api/v1/me/password', { currentPassword: `current-guess-${i}`, newPassword: 'an-entirely-new-phrase' });
        sentPasswords.add(`current-guess-${i}`);
        assert.equal(g.status, 403, `guess ${i}: ${JSON.stringify(g.body)}`);
      }
      const stop = await browser(fresh, 'POST', '/api/v1/me/password', { currentPassword: pw.alice, newPassword: 'an-entirely-new-phrase' });
      assert.equal(stop.status, 429, JSON.stringify(stop.body));
      assert.equal(stop.body.error.code, 'locked_out');
      assert.ok(Number(stop.headers['retry-after']) > 0);
      assert.equal((await login('alice', pw.alice, { ip: '10.0.5.3' })).status, 429, 'the same lock as sign-in');
      assert.equal((await me(fresh)).status, 200, 'the session itself goes on');
      s.clock.advance(15 * MIN + 1000);
      assert.equal((await login('alice', pw.alice, { ip: '10.0.5.3' })).status, 200);
    });

    test('an administrator resetting a password ends every session signed in with the old one', async () => {
      const b1 = await signIn('bob', pw.bob, '10.0.7.1');
      const b2 = await signIn('bob', pw.bob, '10.0.7.2');
      const a = await signIn('alice', pw.alice, '10.0.7.3');
      const next = 'reset by the helpdesk 2026';
      sentPasswords.add(next);
      const r = await s.call('PUT', '/api/v1/principals/bob/local-account', ADMIN_TOKEN, { username: 'bob', password: next });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const j of [b1, b2]) {
        const m = await me(j);
        assert.equal(m.status, 401);
        assert.equal(m.body.error.code, 'invalid_session');
      }
      assert.equal((await me(a)).status, 200, 'nobody else is signed out');
      assert.equal((await login('bob', pw.bob, { ip: '10.0.7.1' })).status, 401);
      pw.bob = next;
      assert.equal((await login('bob', pw.bob, { ip: '10.0.7.1' })).status, 200);
      const ev = (await auditOf('principal.local_account_set', 'bob')).find((e) => e.data.sessionsEnded >= 2);
      assert.ok(ev, 'the reset is audited with the sessions it ended');
    });

    test('a suspended principal cannot sign in, and its live session stops at once', async () => {
      const live = await signIn('carol', pw.carol, '10.0.6.1');
      assert.equal((await me(live)).status, 200);
      const susp = await s.call('PATCH', '/api/v1/principals/carol', ADMIN_TOKEN, { status: 'suspended' });
      assert.equal(susp.status, 200, JSON.stringify(susp.body));
      const dead = await me(live);
      assert.equal(dead.status, 401);
      assert.equal((await browser(live, 'POST', '/api/v1/principals/carol/tokens', {})).status, 401);

      const wrong = await login('carol', 'definitely-wrong-pw', { ip: '10.0.6.2' });
      const r = await login('carol', pw.carol, { ip: '10.0.6.2' });
      assert.equal(r.status, 401);
      assert.equal(r.jar, null);
      assert.deepEqual(r.body, wrong.body, 'a suspended account answers like a wrong password');
      const ev = await auditOf('auth.login_failed', 'carol');
      assert.ok(ev.some((e) => e.reasons[0] === 'principal_suspended'), JSON.stringify(ev.map((e) => e.reasons)));
      assert.ok(ev.some((e) => e.reasons[0] === 'invalid_credentials'));

      // Back to active: the old session stays dead (suspension signed carol out everywhere); a fresh sign-in works.
      assert.equal((await s.call('PATCH', '/api/v1/principals/carol', ADMIN_TOKEN, { status: 'active' })).status, 200);
      assert.equal((await me(live)).status, 401);
      assert.equal((await login('carol', pw.carol, { ip: '10.0.6.3' })).status, 200);
    });
  });
}
