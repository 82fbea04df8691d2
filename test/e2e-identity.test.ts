import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSync } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { addVirtualAuthenticator, BROWSER_SKIP, freePort, idpSignIn, launchBrowser, WEBAUTHN_BUNDLE } from './helpers/browser.js';
import { ADMIN_TOKEN, startServer, type TestServer } from './helpers/harness.js';
import { startIdp, type TestIdp } from './helpers/idp.js';

/**
 * End to end in real Chromium against a real OpenID Connect provider: sign in through the IdP,
 * enroll a passkey with the CDP virtual authenticator, activate a phishing-resistant role with a
 * WebAuthn step-up (refused with an authenticator code only), and confirm a CLI step-up on the
 * server's step-up page.
 */
const JUST = 'rotating the payments database credentials CHG-311';
const PORTAL_BUILT = existsSync(fileURLToPath(new URL('../dist/web/index.html', import.meta.url)));


/** A fetch from inside the page (same origin, the session cookie, the CSRF token). */
async function api(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ([m, p, b]) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('elevate_csrf='))?.slice('elevate_csrf='.length) ?? '';
      const headers: Record<string, string> = { 'x-csrf-token': csrf };
      if (b !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(p as string, { method: m as string, headers, body: b === undefined ? undefined : JSON.stringify(b) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    [method, path, body] as const,
  );
}

describe('identity end to end in Chromium', { skip: BROWSER_SKIP }, () => {
  let s: TestServer;
  let idp: TestIdp;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let base: string;
  const clock = new ManualClock(Date.now());

  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    idp = await startIdp({ clientId: 'elevate', clientSecret: 'elevate-test-secret', redirectUris: [`${base}/auth/oidc/callback`] });
    s = await startServer('sqlite', {
      clock,
      server: {
        identity: { publicUrl: base },
        oidc: {
          issuer: idp.issuer, clientId: 'elevate', clientSecret: 'elevate-test-secret', scopes: 'openid email profile', redirectUri: `${base}/auth/oidc/callback`,
          claims: { groups: 'groups', device: 'device_compliant', risk: 'signin_risk', link: 'sub' }, autoProvision: false,
        },
      },
    });
    await s.app.listen({ host: '127.0.0.1', port });
    for (const [method, url, body] of [
      ['POST', '/api/v1/principals', { id: 'alice', kind: 'user', name: 'Alice Admin', email: 'alice@example.test' }],
      ['POST', '/api/v1/principals/alice/identities', { issuer: idp.issuer, subject: 'alice-sub' }],
      ['POST', '/api/v1/roles', { id: 'prod-admin', riskTier: 'high', settings: { mfa: 'phishing_resistant', mfaFreshness: 'PT5M', conditions: { deviceCompliant: true, maxSignInRisk: 'low' } } }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'prod-admin', scope: '/prod', endsAt: null, justification: 'payments on-call' }],
    ] as const) {
      const r = await s.call(method, url, ADMIN_TOKEN, body);
      assert.ok(r.status < 300, `${url}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    idp.setUser('alice-sub', { email: 'alice@example.test', name: 'Alice Admin', groups: ['dba', 'payments'], amr: ['pwd'], acr: 'urn:elevate:acr:password', device_compliant: true, signin_risk: 'low' });
    browser = await launchBrowser();
    ctx = await browser.newContext();
    page = await ctx.newPage();
    await addVirtualAuthenticator(page);
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
    await idp?.close();
  });

  it('signs in through the IdP: the subject finds the principal, the claims become session facts', async () => {
    await page.goto(`${base}/auth/oidc/login?returnTo=/api/v1/me`);
    await idpSignIn(page, 'alice-sub');
    assert.equal(new URL(page.url()).pathname, '/api/v1/me');
    const me = await api(page, 'GET', '/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.principal.id, 'alice');
    assert.equal(me.body.auth.method, 'session');
    assert.deepEqual(
      { signIn: me.body.auth.signIn.signIn, groups: me.body.auth.signIn.groups, amr: me.body.auth.signIn.amr, device: me.body.auth.signIn.deviceCompliant, risk: me.body.auth.signIn.signInRisk },
      { signIn: 'oidc', groups: ['dba', 'payments'], amr: ['pwd'], device: true, risk: 'low' },
    );
    assert.deepEqual(me.body.auth.mfa, [], 'the IdP sign-in is not Elevate-verified MFA');
    const cookies = await ctx.cookies(base);
    const session = cookies.find((c) => c.name === 'elevate_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Lax');
  });

  it('an authenticator code is not enough for a phishing-resistant role', async () => {
    const enrolled = await api(page, 'POST', '/api/v1/me/mfa/totp');
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const code = () => generateSync({ secret: enrolled.body.secret, epoch: Math.floor(clock.now() / 1000) });
    assert.ok((await api(page, 'POST', '/api/v1/me/mfa/totp/confirm', { code: code() })).status < 300);
    clock.advance(30_000);
    const v = await api(page, 'POST', '/api/v1/me/mfa/totp/verify', { code: code() });
    assert.equal(v.status, 200, JSON.stringify(v.body));
    const r = await api(page, 'POST', '/api/v1/requests', { roleId: 'prod-admin', scope: '/prod/payments', duration: 'PT30M', justification: JUST });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'mfa_too_weak');
    assert.match(r.body.error.message, /passkey/);
  });

  it('enrolls a passkey, steps up with it, and the phishing-resistant role activates', async () => {
    await page.addScriptTag({ path: WEBAUTHN_BUNDLE });
    const reg = await page.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('elevate_csrf='))!.slice(13);
      const h = { 'content-type': 'application/json', 'x-csrf-token': csrf };
      const options = await (await fetch('/api/v1/me/mfa/webauthn/register/options', { method: 'POST', headers: h, body: '{}' })).json();
      const response = await (window as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options });
      const res = await fetch('/api/v1/me/mfa/webauthn/register', { method: 'POST', headers: h, body: JSON.stringify({ response, name: 'laptop' }) });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    clock.advance(6 * 60_000); // the registration's own freshness has passed: a new assertion is needed
    const denied = await api(page, 'POST', '/api/v1/requests', { roleId: 'prod-admin', scope: '/prod/payments', duration: 'PT30M', justification: JUST });
    assert.equal(denied.body.error.code, 'mfa_required');

    const verified = await page.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('elevate_csrf='))!.slice(13);
      const h = { 'content-type': 'application/json', 'x-csrf-token': csrf };
      const options = await (await fetch('/api/v1/me/mfa/webauthn/authenticate/options', { method: 'POST', headers: h, body: '{}' })).json();
      const response = await (window as any).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options });
      const res = await fetch('/api/v1/me/mfa/webauthn/verify', { method: 'POST', headers: h, body: JSON.stringify({ response }) });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    const r = await api(page, 'POST', '/api/v1/requests', { roleId: 'prod-admin', scope: '/prod/payments', duration: 'PT30M', justification: JUST });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'active');
    const check = await s.call('GET', '/api/v1/check?principal=alice&role=prod-admin&scope=%2Fprod%2Fpayments', ADMIN_TOKEN);
    assert.equal(check.body.allowed, true);
    const events = await s.call('GET', `/api/v1/audit?type=request.created&principal=alice&limit=10`, ADMIN_TOKEN);
    const granted = events.body.items.find((e: any) => e.requestId === r.body.id);
    assert.equal(granted.data.mfa.required, 'phishing_resistant');
    assert.equal(granted.data.mfa.metBy.method, 'webauthn');
  });

  it('a CLI holding only an API token steps up through the step-up page', async () => {
    const t = await s.call('POST', '/api/v1/principals/alice/tokens', ADMIN_TOKEN, { name: 'cli' });
    const token = t.body.token as string;
    const body = { roleId: 'prod-admin', scope: '/prod/ledger', duration: 'PT15M', justification: JUST };
    const plain = await s.call('POST', '/api/v1/requests', token, body);
    assert.equal(plain.status, 403);
    assert.ok(plain.body.error.details.reasons.includes('mfa_required'));

    const started = await s.call('POST', '/api/v1/stepups', token);
    assert.equal(started.status, 201);
    assert.equal(new URL(started.body.verificationUri).origin, base);
    // Not confirmed yet: the step-up lends nothing.
    const early = await s.call('POST', '/api/v1/requests', token, body, { 'x-elevate-step-up': started.body.deviceCode });
    assert.equal(early.body.error.code, 'invalid_step_up');

    clock.advance(6 * 60_000); // the browser's last passkey use is stale: the page must ask again
    await page.goto(started.body.verificationUri);
    // Before confirming, the page says where the step-up came from.
    await page.getByText('with the API token "cli"').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Verify and confirm' }).click();
    await page.getByText('Confirmed. You can return to your terminal.').waitFor({ timeout: 10_000 });
    const polled = await s.call('POST', '/api/v1/stepups/poll', token, { deviceCode: started.body.deviceCode });
    assert.equal(polled.body.status, 'confirmed');
    assert.deepEqual(polled.body.methods, ['webauthn']);

    const r = await s.call('POST', '/api/v1/requests', token, body, { 'x-elevate-step-up': started.body.deviceCode });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // Another principal's token cannot borrow it.
    const other = await s.call('POST', '/api/v1/requests', ADMIN_TOKEN, body, { 'x-elevate-step-up': started.body.deviceCode });
    assert.equal(other.body.error.code, 'invalid_step_up');
  });

  it('the portal offers the identity provider, and signing in through it lands on My access', { skip: PORTAL_BUILT ? false : 'dist/web is missing: run `npm run build`' }, async () => {
    const other = await browser.newContext();
    const p = await other.newPage();
    await p.goto(`${base}/`);
    const link = p.getByRole('link', { name: 'Sign in with your identity provider' });
    assert.equal(await link.getAttribute('href'), '/auth/oidc/login?returnTo=/');
    await link.click();
    await idpSignIn(p, 'alice-sub');
    await p.getByRole('heading', { name: 'My access', level: 1 }).waitFor({ timeout: 10_000 });
    assert.equal(new URL(p.url()).pathname, '/');
    await p.getByRole('region', { name: 'Eligible roles' }).getByRole('listitem', { name: 'prod-admin' }).waitFor();
    await other.close();
  });

  it('the step-up page lets a local account sign in (no IdP needed)', async () => {
    await s.call('PUT', '/api/v1/principals/alice/local-account', ADMIN_TOKEN, { username: 'alice', password: 'correct horse battery' });
    const other = await browser.newContext();
    const p = await other.newPage();
    await p.goto(`${base}/stepup?code=ABCD-EFGH`);
    await p.getByLabel('User name').fill('Alice');
    await p.getByLabel('Password').fill('correct horse battery');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('Signed in as Alice Admin (alice)').waitFor({ timeout: 10_000 });
    assert.equal(await p.getByLabel('Code shown by the CLI').inputValue(), 'ABCD-EFGH');
    await other.close();
  });
});
