// Break-glass over HTTP: every refusal (audited as critical), and the real path with a local
// password plus a passkey in Chromium: the grant, the critical audit event, the notification,
// the review nobody may close for themselves, and the grant ending by itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import type { Store } from '../src/app/ports.js';
import { TOTP } from '../src/app/mfa.js';
import { BROWSER_SKIP, WEBAUTHN_BUNDLE, addVirtualAuthenticator, freePort, launchBrowser, type VirtualAuthenticator } from './helpers/browser.js';
import { ADMIN_TOKEN, BACKENDS, freshStore, startServer, user, type TestServer } from './helpers/harness.js';

const MIN = 60_000;
const JUST = 'IdP outage INC-4711: payments database is down';
const PW = { bg: 'emergency access passphrase 1', plain: 'an ordinary users passphrase' };

/** The emergency role: critical (so normally approved), but breakable. And an ordinary high-risk role. */
const ROLES = [
  {
    id: 'prod-emergency', name: 'Production emergency', riskTier: 'critical',
    settings: { maxActivation: 'PT1H', breakGlass: true, approval: { required: true, approvers: [{ principal: 'admin' }] } },
  },
  { id: 'prod-dba', riskTier: 'high', settings: { maxActivation: 'PT1H', approval: { required: true, approvers: [{ principal: 'admin' }] } } },
];


const json = (res: LightMyRequestResponse): any => {
  try {
    return res.body ? JSON.parse(res.body) : null;
  } catch {
    return res.body;
  }
};

/** Users, local accounts, roles and the designation every scenario starts from. */
async function setUp(s: TestServer): Promise<{ bgToken: string; plainToken: string }> {
  const bgToken = await user(s, 'bg', { name: 'Emergency account' });
  const plainToken = await user(s, 'plain');
  for (const id of ['bg', 'plain'] as const) {
    const r = await s.call('PUT', `/api/v1/principals/${id}/local-account`, ADMIN_TOKEN, { username: id, password: PW[id] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  for (const r of ROLES) {
    const res = await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, r);
    assert.equal(res.status, 201, `${r.id}: ${JSON.stringify(res.body)}`);
  }
  const d = await s.call('PUT', '/api/v1/breakglass/accounts/bg', ADMIN_TOKEN);
  assert.equal(d.status, 204, JSON.stringify(d.body));
  return { bgToken, plainToken };
}

const check = async (s: TestServer, principal: string, role: string, scope: string) =>
  (await s.call('GET', `/api/v1/check?principal=${principal}&role=${role}&scope=${encodeURIComponent(scope)}`, ADMIN_TOKEN)).body;

for (const backend of BACKENDS) {
  describe(`break-glass refusals on ${backend.name}`, { skip: backend.skip }, () => {
    let s: TestServer;
    let store: Store;
    let bgToken: string, plainToken: string;

    before(async () => {
      const fresh = await freshStore(backend.name);
      store = fresh.store;
      s = await startServer(backend.name, { store: fresh });
      ({ bgToken, plainToken } = await setUp(s));
    });
    after(async () => s?.cleanup());

    /** Sign in with the local password; returns cookie and CSRF headers for later requests. */
    async function signIn(username: 'bg' | 'plain'): Promise<Record<string, string>> {
      const res = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: PW[username] } });
      assert.equal(res.statusCode, 200, res.body);
      const raw = res.headers['set-cookie'];
      const cookies = (Array.isArray(raw) ? raw : [String(raw)]).map((c) => c.split(';')[0]).join('; ');
      return { cookie: cookies, 'x-csrf-token': json(res).csrfToken };
    }
    const activate = (auth: { token?: string; headers?: Record<string, string> }, body: Record<string, unknown>) =>
      s.call('POST', '/api/v1/breakglass/activate', auth.token ?? null, { roleId: 'prod-emergency', scope: '/prod', duration: 'PT30M', justification: JUST, ...body }, auth.headers ?? {});
    const denials = async () => (await s.call('GET', '/api/v1/audit?type=breakglass.denied&limit=1000', ADMIN_TOKEN)).body.items as any[];

    /** The refusal is a 403 with the expected first reason, and audited as a critical denial with every reason. */
    async function refused(r: { status: number; body: any }, code: string, principal: string, reasons?: string[]) {
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code);
      if (reasons) assert.deepEqual(r.body.error.details.reasons, reasons);
      else assert.ok(r.body.error.details.reasons.includes(code));
      const ev = (await denials()).filter((e) => e.principalId === principal && e.reasons[0] === code);
      assert.ok(ev.length >= 1, `no breakglass.denied for ${principal}/${code}`);
      const last = ev.at(-1);
      assert.equal(last.data.severity, 'critical');
      assert.equal(last.outcome, 'denied');
      assert.equal(last.actorId, principal);
      assert.deepEqual(last.reasons, r.body.error.details.reasons);
    }

    test('designation is admin-only, users-only, and listed', async () => {
      const notAdmin = await s.call('PUT', '/api/v1/breakglass/accounts/plain', plainToken);
      assert.equal(notAdmin.status, 403);
      assert.equal(notAdmin.body.error.code, 'not_admin');
      assert.equal((await s.call('POST', '/api/v1/principals', ADMIN_TOKEN, { id: 'ops', kind: 'group' })).status, 201);
      const group = await s.call('PUT', '/api/v1/breakglass/accounts/ops', ADMIN_TOKEN);
      assert.equal(group.status, 400);
      assert.equal(group.body.error.code, 'not_a_user');
      assert.equal((await s.call('PUT', '/api/v1/breakglass/accounts/nobody', ADMIN_TOKEN)).status, 404);
      const list = await s.call('GET', '/api/v1/breakglass/accounts', ADMIN_TOKEN);
      assert.deepEqual(list.body.items.map((a: any) => [a.principalId, a.createdBy]), [['bg', 'admin']]);
      assert.equal((await s.call('GET', '/api/v1/breakglass/accounts', bgToken)).status, 403);
      // A role can be marked breakable; the setting reads back.
      const role = await s.call('GET', '/api/v1/roles/prod-emergency', ADMIN_TOKEN);
      assert.equal(role.body.settings.breakGlass, true);
      const bad = await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'x-bad', riskTier: 'low', settings: { breakGlass: 'yes' } });
      assert.equal(bad.status, 400);
    });

    test('every refusal is a critical audit event and grants nothing', async () => {
      // Not a designated account (signed in properly, role breakable).
      const plain = await signIn('plain');
      await refused(await activate({ headers: plain }, {}), 'not_breakglass_account', 'plain', ['not_breakglass_account', 'webauthn_required']);
      // The role is not breakable.
      const bg = await signIn('bg');
      await refused(await activate({ headers: bg }, { roleId: 'prod-dba' }), 'role_not_breakglass', 'bg', ['role_not_breakglass', 'webauthn_required']);
      // An API token is not a local sign-in (and carries no passkey).
      await refused(await activate({ token: bgToken }, {}), 'local_sign_in_required', 'bg', ['local_sign_in_required', 'webauthn_required']);
      // Everything else right, but no passkey verified.
      await refused(await activate({ headers: bg }, {}), 'webauthn_required', 'bg', ['webauthn_required']);
      // Limits still hold, each a reason.
      await refused(await activate({ headers: bg }, { duration: 'PT2H', justification: 'help' }), 'duration_exceeds_max', 'bg');
      const many = await activate({ headers: bg }, { duration: 'PT2H', justification: 'help' });
      assert.ok(many.body.error.details.reasons.includes('webauthn_required'));
      assert.ok(many.body.error.details.reasons.some((x: string) => x.startsWith('justification_')), JSON.stringify(many.body));
      await refused(await activate({ headers: bg }, { roleId: 'no-such-role' }), 'unknown_role', 'bg');

      // A code from an authenticator app is MFA, but not phishing-resistant: still refused.
      const enrol = await s.call('POST', '/api/v1/me/mfa/totp', null, undefined, bg);
      assert.equal(enrol.status, 201, JSON.stringify(enrol.body));
      const code = (ms: number) => generateSync({ secret: enrol.body.secret, epoch: Math.floor(ms / 1000), ...TOTP });
      const conf = await s.call('POST', '/api/v1/me/mfa/totp/confirm', null, { code: code(s.clock.now()) }, bg);
      assert.equal(conf.status, 200, JSON.stringify(conf.body));
      s.clock.advance(TOTP.period * 1000);
      const v = await s.call('POST', '/api/v1/me/mfa/totp/verify', null, { code: code(s.clock.now()) }, bg);
      assert.equal(v.status, 200, JSON.stringify(v.body));
      assert.equal((await s.call('GET', '/api/v1/me', null, undefined, bg)).body.auth.mfa.length >= 1, true);
      await refused(await activate({ headers: bg }, {}), 'webauthn_required', 'bg', ['webauthn_required']);

      // The cookie route still needs the CSRF header: no token, no audit event, nothing.
      const n = (await denials()).length;
      const noCsrf = await activate({ headers: { cookie: bg.cookie! } }, {});
      assert.equal(noCsrf.status, 403);
      assert.equal(noCsrf.body.error.code, 'csrf_failed');
      assert.equal((await denials()).length, n);

      // Nothing was granted, queued or opened for review.
      for (const p of ['bg', 'plain']) assert.equal((await check(s, p, 'prod-emergency', '/prod')).allowed, false);
      assert.equal((await s.call('GET', '/api/v1/assignments?source=breakglass', ADMIN_TOKEN)).body.items.length, 0);
      assert.deepEqual((await s.call('GET', '/api/v1/breakglass/reviews', ADMIN_TOKEN)).body.items, []);
      const outbox = await store.transaction((tx) => store.outbox.list(tx, { kind: 'notify', limit: 100 }));
      assert.equal(outbox.length, 0);
      // Reviews are for admins.
      assert.equal((await s.call('GET', '/api/v1/breakglass/reviews', bgToken)).status, 403);
    });

    test('an undesignated account is refused again', async () => {
      assert.equal((await s.call('DELETE', '/api/v1/breakglass/accounts/bg', ADMIN_TOKEN)).status, 204);
      const bg = await signIn('bg');
      await refused(await activate({ headers: bg }, {}), 'not_breakglass_account', 'bg');
      assert.equal((await s.call('DELETE', '/api/v1/breakglass/accounts/bg', ADMIN_TOKEN)).status, 404);
      assert.equal((await s.call('PUT', '/api/v1/breakglass/accounts/bg', ADMIN_TOKEN)).status, 204);
      const ev = (await s.call('GET', '/api/v1/audit?type=breakglass.undesignated&principal=bg', ADMIN_TOKEN)).body.items;
      assert.equal(ev.length, 1);
    });
  });

  describe(`break-glass with a passkey in Chromium on ${backend.name}`, { skip: backend.skip || BROWSER_SKIP }, () => {
    let s: TestServer;
    let store: Store;
    let browser: Browser;
    let page: Page;
    let authr: VirtualAuthenticator;
    let origin = '';

    before(async () => {
      const port = await freePort();
      origin = `http://localhost:${port}`;
      const fresh = await freshStore(backend.name);
      store = fresh.store;
      s = await startServer(backend.name, { store: fresh, server: { identity: { publicUrl: origin } } });
      await s.app.listen({ port, host: '127.0.0.1' });
      await setUp(s);
      // The break-glass account is also an administrator (it must never close its own review).
      const adm = await s.call('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'bg', roleId: 'elevate-admin', scope: '/', endsAt: null, justification: 'emergency administrator' });
      assert.equal(adm.status, 201, JSON.stringify(adm.body));
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

    /** fetch() in the page: same origin, the browser's cookies, and the CSRF token once signed in. */
    async function inPage(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      return page.evaluate(
        async ({ method, path, body }) => {
          const csrf = /(?:^|;\s*)elevate_csrf=([^;]*)/.exec(document.cookie)?.[1];
          const res = await fetch(path, {
            method,
            headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(csrf ? { 'x-csrf-token': decodeURIComponent(csrf) } : {}) },
            ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          });
          const text = await res.text();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* not JSON */
          }
          return { status: res.status, body: parsed };
        },
        { method, path, body },
      );
    }

    /** A WebAuthn ceremony with the virtual authenticator: options from the server, the browser's answer back. */
    async function ceremony(kind: 'register' | 'authenticate'): Promise<{ status: number; body: any }> {
      const opts = await inPage('POST', `/api/v1/me/mfa/webauthn/${kind}/options`);
      assert.equal(opts.status, 200, JSON.stringify(opts.body));
      const response = await page.evaluate(
        async ({ kind, optionsJSON }) => {
          const W = (globalThis as any).SimpleWebAuthnBrowser;
          return kind === 'register' ? W.startRegistration({ optionsJSON }) : W.startAuthentication({ optionsJSON });
        },
        { kind, optionsJSON: opts.body },
      );
      return kind === 'register' ? inPage('POST', '/api/v1/me/mfa/webauthn/register', { response, name: 'Safe passkey' }) : inPage('POST', '/api/v1/me/mfa/webauthn/verify', { response });
    }

    test('local password + passkey breaks the glass: grant, critical audit, notification, review, expiry', async () => {
      const login = await inPage('POST', '/auth/login', { username: 'BG', password: PW.bg });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const cookies = await page.context().cookies(origin);
      const sessionCookie = cookies.find((c) => c.name === 'elevate_session');
      assert.ok(sessionCookie?.httpOnly && sessionCookie.sameSite === 'Lax');
      const me = await inPage('GET', '/api/v1/me');
      assert.equal(me.body.auth.signIn.signIn, 'password');

      // Without a passkey: refused.
      const body = { roleId: 'prod-emergency', scope: '/prod/payments', duration: 'PT30M', justification: JUST };
      const early = await inPage('POST', '/api/v1/breakglass/activate', body);
      assert.equal(early.status, 403);
      assert.equal(early.body.error.code, 'webauthn_required');

      const reg = await ceremony('register');
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const credentialId = reg.body.id as string;
      const ver = await ceremony('authenticate');
      assert.equal(ver.status, 200, JSON.stringify(ver.body));
      assert.equal(ver.body.method, 'webauthn');
      assert.equal(ver.body.credentialId, credentialId);

      // A passkey verified more than five minutes ago is not fresh enough for break-glass.
      s.clock.advance(5 * MIN + 1000);
      const stale = await inPage('POST', '/api/v1/breakglass/activate', body);
      assert.equal(stale.status, 403, JSON.stringify(stale.body));
      assert.deepEqual(stale.body.error.details.reasons, ['webauthn_required']);
      assert.equal((await ceremony('authenticate')).status, 200);

      const t0 = s.clock.now();
      const act = await inPage('POST', '/api/v1/breakglass/activate', body);
      assert.equal(act.status, 201, JSON.stringify(act.body));
      const a = act.body.assignment;
      assert.equal(a.principalId, 'bg');
      assert.equal(a.roleId, 'prod-emergency');
      assert.equal(a.scope, '/prod/payments');
      assert.equal(a.source, 'breakglass');
      assert.equal(a.status, 'active');
      assert.equal(Date.parse(a.endsAt), t0 + 30 * MIN);
      assert.equal(act.body.review.status, 'open');
      assert.equal(act.body.review.assignmentId, a.id);

      // The grant is real, with no approval.
      const c = await check(s, 'bg', 'prod-emergency', '/prod/payments/ledger');
      assert.equal(c.allowed, true, JSON.stringify(c));
      assert.equal(c.assignmentId, a.id);
      assert.equal((await check(s, 'bg', 'prod-emergency', '/prod')).allowed, false, 'only the scope asked for');

      // A critical audit event, naming the passkey that met the requirement.
      const ev = (await s.call('GET', '/api/v1/audit?type=breakglass.activated&principal=bg', ADMIN_TOKEN)).body.items;
      assert.equal(ev.length, 1);
      assert.equal(ev[0].outcome, 'allowed');
      assert.equal(ev[0].data.severity, 'critical');
      assert.equal(ev[0].data.assignmentId, a.id);
      assert.equal(ev[0].data.justification, JUST);
      assert.equal(ev[0].data.mfa.required, 'phishing_resistant');
      assert.equal(ev[0].data.mfa.metBy.method, 'webauthn');
      assert.equal(ev[0].data.mfa.metBy.credentialId, credentialId);
      assert.equal(ev[0].data.mfa.metBy.at, t0, 'the fresh verification, not the stale one');
      assert.equal(ev[0].roleId, 'prod-emergency');
      assert.equal(ev[0].scope, '/prod/payments');

      // A notification waits in the outbox.
      const outbox = await store.transaction((tx) => store.outbox.list(tx, { kind: 'notify', limit: 100 }));
      assert.equal(outbox.length, 1);
      assert.equal(outbox[0]!.payload.event, 'breakglass.activated');
      assert.equal(outbox[0]!.payload.severity, 'critical');
      assert.equal(outbox[0]!.payload.principalId, 'bg');
      assert.equal(outbox[0]!.payload.reviewId, act.body.review.id);

      // An open review, which the break-glass user cannot close themselves.
      const open = await s.call('GET', '/api/v1/breakglass/reviews?status=open', ADMIN_TOKEN);
      assert.deepEqual(open.body.items.map((r: any) => [r.id, r.principalId, r.assignmentId]), [[act.body.review.id, 'bg', a.id]]);
      const self = await inPage('POST', `/api/v1/breakglass/reviews/${act.body.review.id}/close`, { note: 'all fine, trust me' });
      assert.equal(self.status, 403, JSON.stringify(self.body));
      assert.equal(self.body.error.code, 'self_review');
      const refusedEv = (await s.call('GET', '/api/v1/audit?type=breakglass.review_refused', ADMIN_TOKEN)).body.items;
      assert.deepEqual(refusedEv.map((e: any) => [e.actorId, e.reasons[0]]), [['bg', 'self_review']]);
      const noNote = await s.call('POST', `/api/v1/breakglass/reviews/${act.body.review.id}/close`, ADMIN_TOKEN, { note: '  ' });
      assert.equal(noNote.status, 400);
      assert.equal((await s.call('GET', '/api/v1/breakglass/reviews?status=open', ADMIN_TOKEN)).body.items.length, 1);

      // Another administrator closes it, with a note.
      const closed = await s.call('POST', `/api/v1/breakglass/reviews/${act.body.review.id}/close`, ADMIN_TOKEN, { note: 'Checked with on-call: legitimate use during the IdP outage.' });
      assert.equal(closed.status, 200, JSON.stringify(closed.body));
      assert.equal(closed.body.status, 'closed');
      assert.equal(closed.body.closedBy, 'admin');
      assert.equal(closed.body.note, 'Checked with on-call: legitimate use during the IdP outage.');
      assert.equal((await s.call('GET', '/api/v1/breakglass/reviews?status=open', ADMIN_TOKEN)).body.items.length, 0);
      assert.equal((await s.call('GET', '/api/v1/breakglass/reviews?status=closed', ADMIN_TOKEN)).body.items.length, 1);
      const again = await s.call('POST', `/api/v1/breakglass/reviews/${act.body.review.id}/close`, ADMIN_TOKEN, { note: 'again' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'already_closed');

      // The grant ends by itself.
      s.clock.set(t0 + 30 * MIN - 1);
      assert.equal((await check(s, 'bg', 'prod-emergency', '/prod/payments')).allowed, true);
      s.clock.set(t0 + 30 * MIN);
      const gone = await check(s, 'bg', 'prod-emergency', '/prod/payments');
      assert.equal(gone.allowed, false);
      assert.equal(gone.reason, 'no_active_assignment');
      // The expiry job books it, like any other grant.
      await s.jobs.tick();
      const ended = (await s.call('GET', '/api/v1/assignments?source=breakglass', ADMIN_TOKEN)).body.items;
      assert.deepEqual(ended.map((x: any) => [x.id, x.status]), [[a.id, 'expired']]);
      const expired = (await s.call('GET', '/api/v1/audit?type=assignment.expired&principal=bg', ADMIN_TOKEN)).body.items;
      assert.equal(expired.filter((e: any) => e.data.assignmentId === a.id).length, 1);
      // The chain still verifies.
      const v = await s.call('GET', '/api/v1/audit/verify', ADMIN_TOKEN);
      assert.equal(v.body.ok, true, JSON.stringify(v.body));
    });
  });
}
