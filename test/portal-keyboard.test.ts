import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { DESKTOP, openPages, PORTAL_SKIP, seed, startPortalServer, type PortalServer } from './helpers/portal.js';

/**
 * The main path with the keyboard only: sign in, reach "Activate" with Tab, fill the dialog, send it
 * with Enter, and Escape closes a dialog. Nothing here touches the mouse.
 */
const PW = 'correct horse battery';

describe('portal: keyboard only', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    s = await startPortalServer();
    await seed(s, [
      ['POST', '/api/v1/principals', { id: 'kim', kind: 'user', name: 'Kim Keyboard' }],
      ['PUT', '/api/v1/principals/kim/local-account', { username: 'kim', password: PW }],
      ['POST', '/api/v1/roles', { id: 'app-reader', name: 'App reader', riskTier: 'low' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'kim', roleId: 'app-reader', scope: '/apps', endsAt: null, justification: 'support rota' }],
    ]);
    ({ browser, pages: { kim: page } } = await openPages({ kim: DESKTOP }, errors));
  });
  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  /** Press Tab until the focused element is the one wanted (at most `max` times). */
  async function tabTo(name: RegExp, max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el ? `${el.tagName} ${el.getAttribute('aria-label') ?? ''} ${el.textContent ?? ''}`.trim() : '';
      });
      if (name.test(label)) return;
    }
    throw new Error(`never reached ${name} with Tab`);
  }

  it('signs in, activates and closes dialogs without a mouse', async () => {
    await page.goto(`${s.base}/`);
    await page.getByLabel('User name').focus();
    await page.keyboard.type('kim');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PW);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'My access', level: 1 }).waitFor();

    await tabTo(/^BUTTON .*Activate/);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), 'focus moves into the dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    await tabTo(/^BUTTON .*Activate/);
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.getByLabel('Justification').focus();
    await page.keyboard.type('Answering support ticket SUP-88 about the orders app');
    await tabTo(/^BUTTON .*Activate/);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    const check = await s.call('GET', '/api/v1/check?principal=kim&role=app-reader&scope=%2Fapps', ADMIN_TOKEN);
    assert.equal(check.body.allowed, true);
    assert.deepEqual(errors, []);
  });
});
