// The portal's browser tests share these: whether they can run (Chromium and a built portal), a
// server on http://localhost:<free port>, and the page helpers playwright-core leaves to us
// (it has no expect()).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { BROWSER_SKIP, freePort, launchBrowser } from './browser.js';
import { ADMIN_TOKEN, startServer, type Call, type TestServer } from './harness.js';

/** The built portal the server serves: ELEVATE_TEST_PORTAL_DIR (as startServer honours it), else dist/web. */
export const PORTAL_DIR = process.env.ELEVATE_TEST_PORTAL_DIR ?? fileURLToPath(new URL('../../dist/web', import.meta.url));

/** `{ skip: PORTAL_SKIP }` for node:test: false when Chromium is installed and the portal is built, else the reason. */
export const PORTAL_SKIP: string | false =
  BROWSER_SKIP || (existsSync(join(PORTAL_DIR, 'index.html')) ? false : `${PORTAL_DIR} has no built portal: run \`npm run build\` first (npm test does)`);

/** Where screenshots land. */
export const SHOTS = fileURLToPath(new URL('../../test-artifacts/portal/', import.meta.url));

export interface PortalServer extends TestServer {
  /** http://localhost:<port>, the server's public URL (WebAuthn and cookies want a name, not an IP). */
  base: string;
}

/** startServer (SQLite) listening on a free port, its public URL set to match. */
export async function startPortalServer(opts: Parameters<typeof startServer>[1] = {}): Promise<PortalServer> {
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const s = await startServer('sqlite', { ...opts, server: { ...opts.server, identity: { ...opts.server?.identity, publicUrl: base } } });
  await s.app.listen({ host: '127.0.0.1', port });
  return Object.assign(s, { base });
}

/** Make each call with the bootstrap admin's token; any status ≥ 300 fails the set-up. */
export async function seed(s: TestServer, calls: readonly (readonly [Parameters<Call>[0], string, unknown?])[]): Promise<void> {
  for (const [method, url, body] of calls) {
    const r = await s.call(method, url, ADMIN_TOKEN, body);
    assert.ok(r.status < 300, `${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** A desktop-sized window. */
export const DESKTOP: BrowserContextOptions = { viewport: { width: 1100, height: 800 } };

/**
 * Chromium with a page per person, each in its own context (its own cookies). Script errors and CSP
 * violations on them (a 4xx the portal shows is not one) go into `errors`, for a last assert.
 */
export async function openPages<N extends string>(people: Record<N, BrowserContextOptions>, errors: string[]): Promise<{ browser: Browser; pages: Record<N, Page> }> {
  const browser = await launchBrowser();
  const pages = {} as Record<N, Page>;
  for (const who of Object.keys(people) as N[]) {
    const p = await (await browser.newContext(people[who])).newPage();
    p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/the server responded with a status of 4\d\d/.test(m.text())) errors.push(`${who} console: ${m.text()}`);
    });
    pages[who] = p;
  }
  return { browser, pages };
}

/** Wait until the locator's text matches (playwright-core has no expect()). */
export async function waitText(l: Locator, re: RegExp, timeout = 10_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = (await l.first().textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => '')) ?? '';
    if (re.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`text ${JSON.stringify(last)} never matched ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A screenshot (SHOTS/<name>.png) of the whole page, or of the window when a dialog is open (a modal covers the window). */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const modal = (await page.getByRole('dialog').count()) > 0;
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: !modal });
}

/** How many pixels the page scrolls sideways (≤ 0: it fits the window). */
export const horizontalOverflow = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Sign in with the portal's form and wait for the first page. */
export async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My access', level: 1 }).waitFor();
}

/** A fetch from inside the page with the session cookie and the CSRF token (for set-up the portal does not offer). */
export async function api(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ([m, p, b]) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('elevate_csrf='))?.slice('elevate_csrf='.length) ?? '';
      const res = await fetch(p as string, { method: m as string, headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: m === 'GET' ? undefined : JSON.stringify(b ?? {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    [method, path, body] as const,
  );
}
