// Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for end-to-end tests
// that sign in through the test IdP (./idp.ts) and use WebAuthn via a CDP virtual authenticator.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.ELEVATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** `{ skip: BROWSER_SKIP }` for node:test: false when Chromium is installed, else the reason. */
export const BROWSER_SKIP: string | false = existsSync(CHROMIUM_PATH)
  ? false
  : `${CHROMIUM_PATH} not found: browser tests skipped (CI installs chromium)`;

/** @simplewebauthn/browser's bundle (global SimpleWebAuthnBrowser), for page.addScriptTag({ path }). */
export const WEBAUTHN_BUNDLE = fileURLToPath(new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser')));

/** A port free on 127.0.0.1 now: the server must know its public URL (http://localhost:<port>) before it listens. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export interface VirtualCredential {
  /** base64 (standard alphabet, as CDP reports it) */
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  /** base64 of the PKCS#8 private key */
  privateKey: string;
  /** base64 */
  userHandle?: string;
  signCount: number;
  userName?: string;
  userDisplayName?: string;
}

export interface VirtualAuthenticator {
  authenticatorId: string;
  credentials(): Promise<VirtualCredential[]>;
  /** Make the authenticator report user verification failing (or succeeding again). */
  setUserVerified(isUserVerified: boolean): Promise<void>;
  remove(): Promise<void>;
}

/**
 * A CTAP2 platform authenticator (resident keys, user verification, automatic presence) attached
 * to `page`'s target via the Chrome DevTools Protocol. WebAuthn calls made by that page succeed
 * without UI.
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  let removed = false;
  return {
    authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async setUserVerified(isUserVerified: boolean) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    async remove() {
      if (removed) return;
      removed = true;
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      await cdp.detach();
    },
  };
}

/**
 * On a page currently showing the test IdP's dev-interaction login form (reached by following a
 * redirect from the app), sign in as `username` (which becomes the `sub`), click through consent
 * if the IdP asks for it, and wait until the browser has left the IdP's origin.
 */
export async function idpSignIn(page: Page, username: string, password = 'any-password', timeoutMs = 15_000): Promise<void> {
  const idpOrigin = new URL(page.url()).origin;
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());

  const login = page.locator('form input[name="login"]');
  await login.waitFor({ state: 'visible', timeout: timeoutMs });
  await login.fill(username);
  await page.locator('form input[name="password"]').fill(password);
  await submitAndWait(page, idpOrigin, remaining());

  // Consent is automatic in ./idp.ts, but click through it if a prompt shows up anyway.
  for (let i = 0; i < 3 && new URL(page.url()).origin === idpOrigin; i++) {
    const error = page.locator('#error');
    if (await error.count()) throw new Error(`idpSignIn: IdP error ${await error.textContent()}`);
    if (await page.locator('form input[name="prompt"][value="consent"]').count()) {
      await submitAndWait(page, idpOrigin, remaining());
      continue;
    }
    throw new Error(`idpSignIn: unexpected IdP page ${page.url()}: ${(await page.content()).slice(0, 500)}`);
  }
  if (new URL(page.url()).origin === idpOrigin) throw new Error(`idpSignIn: still on the IdP at ${page.url()}`);
  await page.waitForLoadState('domcontentloaded', { timeout: remaining() });
}

/** Submit the IdP form and wait for the next committed page: another IdP page or the app. */
async function submitAndWait(page: Page, idpOrigin: string, timeout: number): Promise<void> {
  const from = page.url();
  await Promise.all([
    page.waitForURL((url) => url.href !== from && (url.origin !== idpOrigin || url.pathname.startsWith('/interaction/') || url.pathname.startsWith('/auth')), {
      timeout,
      waitUntil: 'domcontentloaded',
    }),
    page.locator('form button[type="submit"]').click({ noWaitAfter: true }),
  ]);
}
