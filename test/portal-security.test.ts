import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { addVirtualAuthenticator, launchBrowser, type VirtualAuthenticator } from './helpers/browser.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { PORTAL_SKIP, shot, signIn, startPortalServer, type PortalServer } from './helpers/portal.js';

/**
 * The portal's Security page in real Chromium: a person adds a passkey (recovery codes shown once),
 * then sets up an authenticator app — which, next to a passkey, needs a fresh verification: the
 * page steps up with the passkey and finishes — and removes the passkey.
 */
const PW = 'correct horse battery';

describe('portal: sign-in and security', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let page: Page;
  let authr: VirtualAuthenticator;
  const clock = new ManualClock(Date.now());

  before(async () => {
    s = await startPortalServer({ clock });
    assert.equal((await s.call('POST', '/api/v1/principals', ADMIN_TOKEN, { id: 'erin', kind: 'user', name: 'Erin Engineer' })).status, 201);
    assert.equal((await s.call('PUT', '/api/v1/principals/erin/local-account', ADMIN_TOKEN, { username: 'erin', password: PW })).status, 200);
    browser = await launchBrowser();
    page = await browser.newPage();
    authr = await addVirtualAuthenticator(page);
    await signIn(page, s.base, 'erin', PW);
  });
  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  it('adds a passkey; the recovery codes are shown once', async () => {
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { name: 'Sign-in and security', level: 1 }).waitFor();
    await page.getByLabel('Passkey name').fill('work laptop');
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByText('Passkey "work laptop" added.').waitFor();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    assert.equal(await page.locator('.codes li').count(), 10);
    await shot(page, 'security-passkey');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    assert.equal((await authr.credentials()).length, 1);
    await page.getByRole('button', { name: 'Remove passkey work laptop' }).waitFor();
  });

  it('sets up an authenticator app after stepping up with the passkey', async () => {
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.locator('code.secret').textContent())!.trim();
    await page.getByLabel('Verification code').fill(generateSync({ secret, epoch: Math.floor(clock.now() / 1000) }));
    await page.getByRole('button', { name: 'Confirm app' }).click();
    // A second factor needs fresh MFA: the page asks for the passkey, then finishes by itself.
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await page.getByText('Authenticator app set up.').waitFor();
    await shot(page, 'security-app');
    const st = await s.call('GET', '/api/v1/audit?type=mfa.enrolled&principal=erin', ADMIN_TOKEN);
    assert.deepEqual(st.body.items.map((e: any) => e.data.method).sort(), ['totp', 'webauthn']);
  });

  it('removes the passkey (with the verification still fresh)', async () => {
    await page.getByRole('button', { name: 'Remove passkey work laptop' }).click();
    await page.getByText('Passkey "work laptop" removed.').waitFor();
    await page.getByText('No passkey yet.').waitFor();
  });
});
