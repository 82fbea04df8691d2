import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { addVirtualAuthenticator, freePort, idpSignIn, type VirtualAuthenticator } from './helpers/browser.js';
import { ADMIN_TOKEN, startServer } from './helpers/harness.js';
import { startIdp, type TestIdp } from './helpers/idp.js';
import { DESKTOP, openPages, PORTAL_SKIP, seed, shot, waitText, type PortalServer } from './helpers/portal.js';

/**
 * The whole journey of issue 4's quality bar, in real Chromium against a real OpenID Connect
 * provider: alice signs in through the IdP, enrolls a passkey, activates a phishing-resistant role
 * with an inline passkey step-up; bob, in another browser context with his own authenticator,
 * approves it (stepping up too, as approving is as privileged as activating); `check` turns true;
 * the countdown ends and the grant shows expired; then bob denies a second request with a reason,
 * and alice's My requests shows the denial in plain words. Screenshots: test-artifacts/portal/journey-*.png.
 */
const MIN = 60_000;
const CLIENT = { id: 'elevate', secret: 'elevate-test-secret' };
const ROLE = 'Production database';
const JUST = 'Investigating INC-5120: slow queries on the payments database';
const DENY_REASON = 'Change freeze until Friday: use the read replica instead';

describe('the portal journey: IdP sign-in, passkey, step-up, approval, expiry, denial', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let idp: TestIdp;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const keys: Partial<Record<'alice' | 'bob', VirtualAuthenticator>> = {};
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];

  before(async () => {
    // The IdP must know the redirect URI, so the port is chosen before either server starts.
    const port = await freePort();
    const base = `http://localhost:${port}`;
    idp = await startIdp({ clientId: CLIENT.id, clientSecret: CLIENT.secret, redirectUris: [`${base}/auth/oidc/callback`] });
    const server = await startServer('sqlite', {
      clock,
      server: {
        // A long idle timeout: advancing the clock past a grant's end must not sign anyone out.
        identity: { publicUrl: base, sessionIdleMs: 4 * 3_600_000 },
        oidc: {
          issuer: idp.issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, scopes: 'openid email profile', redirectUri: `${base}/auth/oidc/callback`,
          claims: { groups: 'groups', device: 'device_compliant', risk: 'signin_risk', link: 'sub' }, autoProvision: false,
        },
      },
    });
    await server.app.listen({ host: '127.0.0.1', port });
    s = Object.assign(server, { base });

    idp.setUser('alice-sub', { email: 'alice@example.test', name: 'Alice Example', amr: ['pwd'] });
    idp.setUser('bob-sub', { email: 'bob@example.test', name: 'Bob Approver', amr: ['pwd'] });
    await seed(s, [
      ['POST', '/api/v1/principals', { id: 'alice', kind: 'user', name: 'Alice Example', email: 'alice@example.test' }],
      ['POST', '/api/v1/principals', { id: 'bob', kind: 'user', name: 'Bob Approver', email: 'bob@example.test' }],
      ['POST', '/api/v1/principals/alice/identities', { issuer: idp.issuer, subject: 'alice-sub' }],
      ['POST', '/api/v1/principals/bob/identities', { issuer: idp.issuer, subject: 'bob-sub' }],
      ['POST', '/api/v1/roles', {
        id: 'prod-db', name: ROLE, riskTier: 'high',
        settings: { mfa: 'phishing_resistant', ticket: { required: false }, approval: { required: true, approvers: [{ principal: 'bob' }] } },
      }],
      ['POST', '/api/v1/eligibilities', { principalId: 'alice', roleId: 'prod-db', scope: '/prod', endsAt: null, justification: 'payments DBA' }],
    ]);
    // Each person in their own browser context (own cookies), each with their own authenticator.
    ({ browser, pages: { alice, bob } } = await openPages({ alice: DESKTOP, bob: DESKTOP }, errors));
    // The IdP's development login page asks for a web font: answer it locally (no network beyond loopback).
    for (const p of [alice, bob]) await p.context().route('https://fonts.googleapis.com/**', (r) => r.fulfill({ status: 200, contentType: 'text/css', body: '' }));
    keys.alice = await addVirtualAuthenticator(alice);
    keys.bob = await addVirtualAuthenticator(bob);
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
    await idp?.close();
  });

  const check = async () => (await s.call('GET', '/api/v1/check?principal=alice&role=prod-db&scope=%2Fprod', ADMIN_TOKEN)).body as { allowed: boolean };
  const eligible = (page: Page) => page.getByRole('region', { name: 'Eligible roles' }).getByRole('listitem', { name: ROLE });
  const nav = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });
  const inboxItem = (page: Page) => page.getByRole('listitem', { name: `alice asks for ${ROLE}` });

  async function signInThroughIdp(page: Page, subject: string, screenshot?: string) {
    await page.goto(`${s.base}/`);
    await page.getByRole('heading', { name: 'Sign in to Elevate' }).waitFor();
    if (screenshot) await shot(page, screenshot);
    await page.getByRole('link', { name: 'Sign in with your identity provider' }).click();
    await idpSignIn(page, subject);
    await page.getByRole('heading', { name: 'My access', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
  }

  async function addPasskey(page: Page, name: string, screenshot: string) {
    await nav(page, 'Security').click();
    await page.getByRole('heading', { name: 'Sign-in and security', level: 1 }).waitFor();
    await page.getByText('No passkey yet.').waitFor();
    await page.getByLabel('Passkey name').fill(name);
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByText(`Passkey "${name}" added.`).waitFor();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await shot(page, screenshot);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: `Remove passkey ${name}` }).waitFor();
  }

  /** Open the dialog on My access, fill it, send it, and meet the inline passkey step-up. */
  async function requestWithStepUp(screenshots: { dialog?: string; stepUp?: string }) {
    await nav(alice, 'My access').click();
    await alice.getByRole('heading', { name: 'My access', level: 1 }).waitFor();
    await eligible(alice).getByRole('button', { name: 'Activate' }).click();
    const d = alice.getByRole('dialog');
    await d.waitFor();
    const rules = await waitText(d.getByRole('region', { name: 'Rules for this role' }), /approval from bob/);
    assert.match(rules, /Needs a passkey or security key verified in the last 5 minutes/);
    assert.equal(await d.getByLabel('Ticket').count(), 0, 'this role wants no ticket');
    await d.getByLabel('30 minutes').check();
    await d.getByLabel('Justification').fill(JUST);
    if (screenshots.dialog) await shot(alice, screenshots.dialog);
    assert.equal(await d.getByRole('button', { name: 'Activate', exact: true }).count(), 0, 'a role needing approval is requested');
    await d.getByRole('button', { name: 'Request' }).click();
    // The server refuses without fresh phishing-resistant MFA; the dialog asks for the passkey inline.
    const stepUp = d.getByRole('region', { name: 'Confirm it is you' });
    await stepUp.waitFor();
    await waitText(d.getByRole('alert'), /fresh multi-factor verification|passkey or security key/);
    assert.equal(await d.getByLabel('Authenticator code').count(), 0, 'an authenticator code is not enough for this role');
    if (screenshots.stepUp) await shot(alice, screenshots.stepUp);
    await stepUp.getByRole('button', { name: 'Use passkey' }).click();
    await d.waitFor({ state: 'detached' });
    await waitText(alice.getByRole('status').filter({ hasText: 'waiting' }), new RegExp(`Your request for ${ROLE} at /prod is waiting for approval`));
  }

  /** bob decides alice's pending request from his inbox, with a reason, stepping up with his passkey. */
  async function decide(verb: 'Approve' | 'Deny', reason: string, screenshots: { inbox: string; stepUp: string; done: string }) {
    await nav(bob, 'Approvals').click();
    await bob.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    await bob.reload(); // the request arrived after the page loaded
    const item = inboxItem(bob);
    const text = await waitText(item, /Others who can approve/);
    assert.match(text, /slow queries on the payments database/);
    assert.match(text, /30 minutes/);
    assert.match(text, /\/prod/);
    assert.match(text, /high risk/);
    await item.getByLabel('Reason').fill(reason);
    await shot(bob, screenshots.inbox);
    await item.getByRole('button', { name: verb }).click();
    // Deciding a phishing-resistant role needs bob's own fresh passkey: refused, nothing recorded, step-up inline.
    const stepUp = item.getByRole('region', { name: 'Confirm it is you' });
    await stepUp.waitFor();
    await waitText(item.getByRole('alert'), /Not recorded, because/);
    assert.equal(await item.getByLabel('Authenticator code').count(), 0);
    await shot(bob, screenshots.stepUp);
    await stepUp.getByRole('button', { name: 'Use passkey' }).click();
    const past = verb === 'Approve' ? 'approved' : 'denied';
    await waitText(bob.getByRole('status').filter({ hasText: past }), new RegExp(`You ${past} alice’s request for ${ROLE} at /prod`));
    await waitText(bob.getByRole('main'), /Nothing is waiting for your decision/);
    await shot(bob, screenshots.done);
  }

  it('1. alice signs in through the test IdP and lands on My access', async () => {
    await signInThroughIdp(alice, 'alice-sub', 'journey-01-sign-in');
    await eligible(alice).getByRole('button', { name: 'Activate' }).waitFor();
    await waitText(alice.getByRole('region', { name: 'Active now' }), /No role is active/);
    await shot(alice, 'journey-02-my-access');
  });

  it('2. alice enrolls a passkey on Security and acknowledges her recovery codes', async () => {
    await addPasskey(alice, 'alice laptop', 'journey-03-alice-passkey');
    assert.equal((await keys.alice!.credentials()).length, 1);
  });

  it('3. alice requests the role for 30 minutes, stepping up inline with her passkey', async () => {
    clock.advance(6 * MIN); // past the 5-minute freshness: enrolling no longer counts, the step-up is real
    await requestWithStepUp({ dialog: 'journey-04-activate-dialog', stepUp: 'journey-05-alice-step-up' });
    await shot(alice, 'journey-06-requested');
    assert.equal((await check()).allowed, false, 'nothing granted before the approval');
    const created = await s.call('GET', '/api/v1/audit?type=request.created&principal=alice&limit=5', ADMIN_TOKEN);
    // The first send was refused for want of a fresh passkey (recorded as a denied attempt); the resend met it.
    const [refused, sent] = ['denied', 'pending_approval'].map((st) => created.body.items.find((e: any) => e.data.status === st));
    assert.deepEqual(refused?.reasons, ['mfa_required']);
    assert.equal(sent?.data.mfa.required, 'phishing_resistant');
    assert.equal(sent?.data.mfa.metBy?.method, 'webauthn', 'the request went through on the passkey step-up');
  });

  it('4. bob, in another browser context, signs in, adds his passkey, and approves with his own step-up', async () => {
    await signInThroughIdp(bob, 'bob-sub');
    await addPasskey(bob, 'bob laptop', 'journey-07-bob-passkey');
    assert.equal((await keys.bob!.credentials()).length, 1);
    clock.advance(6 * MIN); // bob's enrolment is stale too: approving asks for the passkey
    await decide('Approve', 'on call tonight, go ahead', { inbox: 'journey-08-approvals', stepUp: 'journey-09-bob-step-up', done: 'journey-10-approved' });
    const refused = await s.call('GET', '/api/v1/audit?type=request.decision_refused', ADMIN_TOKEN);
    assert.ok(refused.body.items.some((e: any) => e.actorId === 'bob' && e.reasons.includes('mfa_required')), 'the first click was refused for want of MFA');
  });

  it('5. check turns true, and My access shows the grant with a live countdown', async () => {
    assert.equal((await check()).allowed, true);
    await nav(alice, 'My access').click();
    await alice.reload();
    const timer = alice.getByRole('region', { name: 'Active now' }).getByRole('listitem', { name: ROLE }).getByRole('timer');
    const first = await waitText(timer, /^(29 min \d\d s|30 min 00 s) left$/);
    await waitText(timer, new RegExp(`^(?!${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$).* left$`), 5_000); // it ticks
    await shot(alice, 'journey-11-active-grant');
  });

  it('6. the countdown ends: the grant shows expired, and check is false', async () => {
    clock.advance(31 * MIN);
    await alice.reload();
    const grant = alice.getByRole('region', { name: 'Active now' }).getByRole('listitem', { name: ROLE });
    await waitText(grant.getByRole('timer'), /^expired$/);
    await waitText(grant, /Ended /);
    assert.equal((await check()).allowed, false);
    await shot(alice, 'journey-12-expired');
    // Access ended by time alone; the background job then books the expiry on the request.
    await s.jobs.tick();
    const approved = await s.call('GET', '/api/v1/requests?principal=alice&role=prod-db&status=expired', ADMIN_TOKEN);
    assert.equal(approved.body.items.length, 1);
  });

  it('7. a denial shows its reason: bob denies the next request, alice reads why on My requests', async () => {
    // 31 minutes on, both passkey verifications are stale: both people step up again.
    await requestWithStepUp({});
    await decide('Deny', DENY_REASON, { inbox: 'journey-13-deny', stepUp: 'journey-14-bob-step-up-deny', done: 'journey-15-denied' });
    assert.equal((await check()).allowed, false);

    await nav(alice, 'My requests').click();
    await alice.getByRole('heading', { name: 'My requests', level: 1 }).waitFor();
    const items = alice.getByRole('main').getByRole('listitem').filter({ hasText: ROLE });
    // The reason in plain words (from the reason code), and the state.
    const denied = items.filter({ hasText: 'An approver denied the request.' });
    const text = await waitText(denied, /Denied, because:[\s\S]*An approver denied the request\.[\s\S]*Denied by bob[\s\S]*Denied$/);
    assert.match(text, /slow queries on the payments database/);
    assert.ok(text.includes(DENY_REASON), 'the approver\'s own words');
    assert.match(text, /What to do next/);
    assert.equal(await denied.count(), 1);
    // The approved request, its grant over, reads Expired, and says who approved it.
    await waitText(items.filter({ hasText: 'Expired' }), /30 minutes[\s\S]*Approved by bob[\s\S]*Expired$/);
    await shot(alice, 'journey-16-my-requests');

    // The same decision through the API.
    const mine = await s.call('GET', '/api/v1/requests?principal=alice&status=denied', ADMIN_TOKEN);
    const id = mine.body.items.find((r: any) => r.reasons.includes('approver_denied')).id as string;
    const detail = await s.call('GET', `/api/v1/requests/${id}`, ADMIN_TOKEN);
    assert.deepEqual(detail.body.approvals.map((a: any) => [a.approverId, a.decision, a.reason]), [['bob', 'deny', DENY_REASON]]);
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
