import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { addVirtualAuthenticator } from './helpers/browser.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { api, horizontalOverflow, type PortalServer, PORTAL_SKIP, DESKTOP, openPages, seed, shot, signIn, startPortalServer, waitText } from './helpers/portal.js';

/**
 * The portal end to end in real Chromium: alice signs in with the form, sees her roles by scope,
 * is told in plain words why a weak justification is refused, requests a role that bob must
 * approve; bob approves it from his inbox in another browser context; the decision point says yes;
 * alice's grant counts down and shows expired once the server's clock passes its end. Then the
 * inline MFA step-up: an authenticator code for an `any` role, a passkey for a phishing-resistant one.
 * Screenshots of every page land in test-artifacts/portal/.
 */
const MIN = 60_000;
const ALICE_PW = 'correct horse battery';
const BOB_PW = 'staple battery horse';
const JUST = 'Investigating INC-4711: replication lag on the payments database';

describe('the portal in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];

  before(async () => {
    s = await startPortalServer({ clock, server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    await seed(s, [
      ['POST', '/api/v1/principals', { id: 'alice', kind: 'user', name: 'Alice Example', email: 'alice@example.test' }],
      ['POST', '/api/v1/principals', { id: 'bob', kind: 'user', name: 'Bob Approver', email: 'bob@example.test' }],
      ['PUT', '/api/v1/principals/alice/local-account', { username: 'alice', password: ALICE_PW }],
      ['PUT', '/api/v1/principals/bob/local-account', { username: 'bob', password: BOB_PW }],
      ['POST', '/api/v1/roles', {
        id: 'db-admin', name: 'Database admin', riskTier: 'high',
        settings: { maxActivation: 'PT2H', ticket: { required: true, pattern: '^INC-[0-9]+$' }, approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT24H' } },
      }],
      ['POST', '/api/v1/roles', { id: 'app-reader', name: 'App reader', riskTier: 'low', settings: { maxActivation: 'PT1H', justification: { required: true, minLength: 20 } } }],
      ['POST', '/api/v1/roles', { id: 'vault-reader', name: 'Vault reader', riskTier: 'medium', settings: { mfa: 'any', mfaFreshness: 'PT5M' } }],
      ['POST', '/api/v1/roles', { id: 'prod-root', name: 'Production root', riskTier: 'high', settings: { mfa: 'phishing_resistant', mfaFreshness: 'PT5M', maxActivation: 'PT30M' } }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'db-admin', scope: '/prod', endsAt: null, justification: 'payments DBA' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'app-reader', scope: '/apps', endsAt: null, justification: 'support rota' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'vault-reader', scope: '/prod', endsAt: null, justification: 'payments DBA' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'prod-root', scope: '/prod', endsAt: null, justification: 'payments DBA' }],
    ]);
    // Any script error or CSP violation on a page fails the run (checked in the last test).
    ({ browser, pages: { alice, bob } } = await openPages({ alice: DESKTOP, bob: DESKTOP }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const check = async (role: string, scope: string) => (await s.call('GET', `/api/v1/check?principal=alice&role=${role}&scope=${encodeURIComponent(scope)}`, ADMIN_TOKEN)).body;
  const eligible = (page: Page, role: string) => page.getByRole('region', { name: 'Eligible roles' }).getByRole('listitem', { name: role });
  const dialog = (page: Page) => page.getByRole('dialog');

  it('alice signs in with the form and sees her eligible roles by scope', async () => {
    await alice.goto(`${s.base}/`);
    await alice.getByRole('heading', { name: 'Sign in to Elevate' }).waitFor();
    assert.equal(await alice.getByRole('link', { name: 'Sign in with your identity provider' }).count(), 0, 'no IdP configured: no IdP link');
    await shot(alice, 'sign-in');
    await alice.getByLabel('User name').fill('alice');
    await alice.getByLabel('Password').fill('wrong password here');
    await alice.getByRole('button', { name: 'Sign in' }).click();
    await waitText(alice.getByRole('alert'), /user name or password is wrong/);
    await alice.getByLabel('Password').fill(ALICE_PW);
    await alice.getByRole('button', { name: 'Sign in' }).click();
    await alice.getByRole('heading', { name: 'My access', level: 1 }).waitFor();
    await alice.getByRole('region', { name: 'Scope /prod' }).getByRole('listitem', { name: 'Database admin' }).waitFor();
    await alice.getByRole('region', { name: 'Scope /apps' }).getByRole('listitem', { name: 'App reader' }).waitFor();
    assert.equal(await eligible(alice, 'Database admin').getByRole('button', { name: 'Activate' }).count(), 1);
    await waitText(alice.getByRole('region', { name: 'Active now' }), /No role is active/);
    await shot(alice, 'my-access');
  });

  it('a denial shows its reason in plain words', async () => {
    await eligible(alice, 'App reader').getByRole('button', { name: 'Activate' }).click();
    const d = dialog(alice);
    await d.waitFor();
    await waitText(d.getByRole('region', { name: 'Rules for this role' }), /at least 20 characters/);
    assert.equal(await d.getByLabel('Ticket').count(), 0, 'this role wants no ticket');
    await d.getByLabel('Justification').fill('need it');
    await d.getByRole('button', { name: 'Activate', exact: true }).click();
    await waitText(d.getByRole('alert'), /The justification is too short or says nothing/);
    await shot(alice, 'activate-denied');
    assert.equal((await check('app-reader', '/apps')).allowed, false);
    await d.getByRole('button', { name: 'Cancel' }).click();
    await d.waitFor({ state: 'detached' });
  });

  it('alice requests the role that needs approval: 30 minutes, a justification and a ticket', async () => {
    await eligible(alice, 'Database admin').getByRole('button', { name: 'Activate' }).click();
    const d = dialog(alice);
    await d.waitFor();
    const rules = await waitText(d.getByRole('region', { name: 'Rules for this role' }), /approval from bob/);
    assert.match(rules, /Longest activation: 2 hours/);
    assert.match(rules, /ticket is required, matching \^INC-\[0-9\]\+\$/);
    await d.getByLabel('Duration').waitFor();
    await d.getByLabel('30 minutes').check();
    await d.getByLabel('Justification').fill(JUST);
    await d.getByLabel('Ticket').fill('INC-4711');
    await shot(alice, 'activate-dialog');
    assert.equal(await d.getByRole('button', { name: 'Activate', exact: true }).count(), 0, 'a role needing approval is requested, not activated');
    await d.getByRole('button', { name: 'Request' }).click();
    await d.waitFor({ state: 'detached' });
    await waitText(alice.getByRole('status').filter({ hasText: 'waiting' }), /Your request for Database admin at \/prod is waiting for approval/);
    assert.equal((await check('db-admin', '/prod')).allowed, false, 'nothing granted before the approval');

    await alice.getByRole('navigation').getByRole('link', { name: 'My requests' }).click();
    await alice.getByRole('heading', { name: 'My requests', level: 1 }).waitFor();
    const items = alice.getByRole('main').getByRole('listitem');
    await waitText(items.filter({ hasText: 'Database admin' }), /Waiting for approval/);
    await waitText(items.filter({ hasText: 'App reader' }), /Denied[\s\S]*The justification is too short or says nothing/);
    await shot(alice, 'my-requests');
  });

  it('bob approves it from his inbox in another browser context, and check turns true', async () => {
    await signIn(bob, s.base, 'bob', BOB_PW);
    await bob.getByRole('navigation').getByRole('link', { name: 'Approvals' }).click();
    await bob.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    const item = bob.getByRole('listitem', { name: 'alice asks for Database admin' });
    const text = await waitText(item, /INC-4711/);
    assert.match(text, /replication lag on the payments database/);
    assert.match(text, /30 minutes/);
    assert.match(text, /\/prod/);
    assert.match(text, /high risk/);
    // What an approver needs besides the request: who else can decide it, and alice's recent requests.
    const withContext = await waitText(item, /Others who can approve/);
    assert.match(withContext, /Others who can approveonly you/);
    assert.match(withContext, /Recent requests/);
    await shot(bob, 'approvals');
    await bob.setViewportSize({ width: 360, height: 740 });
    await shot(bob, 'approvals-narrow');
    await bob.setViewportSize({ width: 1100, height: 800 });
    await item.getByRole('button', { name: 'Approve' }).click();
    await waitText(item.getByRole('alert'), /Give a reason/);
    await item.getByLabel('Reason').fill('on call tonight, go ahead');
    await item.getByRole('button', { name: 'Approve' }).click();
    await waitText(bob.getByRole('status').filter({ hasText: 'approved' }), /You approved alice’s request for Database admin/);
    await waitText(bob.getByRole('main'), /Nothing is waiting for your decision/);
    await shot(bob, 'approvals-done');
    const d = await check('db-admin', '/prod/payments');
    assert.equal(d.allowed, true);
  });

  it("alice's page shows the grant counting down, and expired once the server's clock passes its end", async () => {
    await alice.getByRole('navigation').getByRole('link', { name: 'My access' }).click();
    await alice.reload();
    const grant = alice.getByRole('region', { name: 'Active now' }).getByRole('listitem', { name: 'Database admin' });
    const timer = grant.getByRole('timer');
    const first = await waitText(timer, /^(29 min \d\d s|30 min 00 s) left$/);
    const escaped = first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await waitText(timer, new RegExp(`^(?!${escaped}$).* left$`), 5_000); // the countdown is live
    await shot(alice, 'active-grant');

    clock.advance(31 * MIN);
    await alice.reload();
    await waitText(alice.getByRole('region', { name: 'Active now' }).getByRole('listitem', { name: 'Database admin' }).getByRole('timer'), /^expired$/);
    assert.equal((await check('db-admin', '/prod/payments')).allowed, false);
    await shot(alice, 'expired');
  });

  it('step-up inline with an authenticator code, then the request goes through', async () => {
    // Enrol an authenticator app for alice (the MFA settings page comes in a later slice).
    const enrolled = await api(alice, 'POST', '/api/v1/me/mfa/totp');
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const code = () => generateSync({ secret: enrolled.body.secret, epoch: Math.floor(clock.now() / 1000) });
    assert.equal((await api(alice, 'POST', '/api/v1/me/mfa/totp/confirm', { code: code() })).status, 200);
    clock.advance(6 * MIN); // nothing fresh any more

    await eligible(alice, 'Vault reader').getByRole('button', { name: 'Activate' }).click();
    const d = dialog(alice);
    await d.getByLabel('Justification').fill(JUST);
    await d.getByRole('button', { name: 'Activate', exact: true }).click();
    await waitText(d.getByRole('alert'), /This needs a fresh multi-factor verification/);
    await d.getByRole('region', { name: 'Confirm it is you' }).waitFor();
    await shot(alice, 'step-up');
    await d.getByLabel('Authenticator code').fill(code());
    await d.getByRole('button', { name: 'Verify code' }).click();
    await d.waitFor({ state: 'detached' });
    await waitText(alice.getByRole('status').filter({ hasText: 'Vault reader' }), /Vault reader is active at \/prod until/);
    assert.equal((await check('vault-reader', '/prod')).allowed, true);
  });

  it('a phishing-resistant role steps up with a passkey only', async () => {
    await addVirtualAuthenticator(alice);
    // Register a passkey (from the page, with the bundle the server serves; the portal's MFA page comes later).
    await alice.addScriptTag({ url: '/assets/simplewebauthn-browser.js' });
    const reg = await alice.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('elevate_csrf='))!.slice(13);
      const h = { 'content-type': 'application/json', 'x-csrf-token': csrf };
      const options = await (await fetch('/api/v1/me/mfa/webauthn/register/options', { method: 'POST', headers: h, body: '{}' })).json();
      const response = await (window as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options });
      return (await fetch('/api/v1/me/mfa/webauthn/register', { method: 'POST', headers: h, body: JSON.stringify({ response, name: 'laptop' }) })).status;
    });
    assert.equal(reg, 201);
    clock.advance(6 * MIN);

    await eligible(alice, 'Production root').getByRole('button', { name: 'Activate' }).click();
    const d = dialog(alice);
    await waitText(d.getByRole('region', { name: 'Rules for this role' }), /Needs a passkey or security key verified in the last 5 minutes/);
    await d.getByLabel('Justification').fill(JUST);
    await d.getByRole('button', { name: 'Activate', exact: true }).click();
    await d.getByRole('region', { name: 'Confirm it is you' }).waitFor();
    assert.equal(await d.getByLabel('Authenticator code').count(), 0, 'an authenticator code is not enough here');
    await d.getByRole('button', { name: 'Use passkey' }).click();
    await d.waitFor({ state: 'detached' });
    await waitText(alice.getByRole('status').filter({ hasText: 'Production root' }), /Production root is active at \/prod/);
    assert.equal((await check('prod-root', '/prod/payments')).allowed, true);
    await shot(alice, 'my-access-active');
  });

  it('reads on a narrow screen, and signs out', async () => {
    await alice.setViewportSize({ width: 360, height: 740 });
    await alice.reload();
    await alice.getByRole('region', { name: 'Active now' }).getByRole('listitem', { name: 'Production root' }).waitFor();
    const overflow = await horizontalOverflow(alice);
    assert.ok(overflow <= 0, `no horizontal scrolling on a narrow screen (overflow ${overflow}px)`);
    await shot(alice, 'my-access-narrow');
    await eligible(alice, 'Database admin').getByRole('button', { name: 'Activate' }).click();
    const d = dialog(alice);
    await d.getByLabel('Justification').waitFor();
    assert.ok(await d.getByRole('button', { name: 'Request' }).isVisible(), 'the submit button stays in view');
    await shot(alice, 'activate-dialog-narrow');
    await d.getByRole('button', { name: 'Cancel' }).click();
    await d.waitFor({ state: 'detached' });
    await alice.getByRole('navigation').getByRole('link', { name: 'My requests' }).click();
    await alice.getByRole('heading', { name: 'My requests', level: 1 }).waitFor();
    await alice.getByRole('main').getByRole('listitem').first().waitFor();
    await shot(alice, 'my-requests-narrow');

    await alice.getByRole('button', { name: 'Sign out' }).click();
    await alice.getByRole('heading', { name: 'Sign in to Elevate' }).waitFor();
    assert.equal((await api(alice, 'GET', '/api/v1/me').catch(() => ({ status: 0 }))).status, 401);
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
