import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { DESKTOP, horizontalOverflow, openPages, PORTAL_SKIP, seed, shot as screenshot, signIn, startPortalServer, waitText, type PortalServer } from './helpers/portal.js';

/**
 * Renewing an eligibility that ends soon, in real Chromium, as in Entra PIM: on My access the end
 * date shows in warning colour with "Renew"; the person says why; the page shows "Renewal
 * requested"; an admin approves it under Administration → Access → Renewal requests; the person's
 * page shows the new end date. Screenshots: test-artifacts/portal/renew-*.png.
 */
const ADMIN_PW = 'correct horse battery staple';
const CAROL_PW = 'staple battery horse correct';
const DAY = 86_400_000;
const WHY = 'I am on the payments support rota until the end of the quarter';

const shot = (page: Page, name: string) => screenshot(page, `renew-${name}`);

describe('renewing an eligibility in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let admin: Page;
  let carol: Page;
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];
  let eligibilityId = '';
  let oldEnd = 0;

  before(async () => {
    s = await startPortalServer({ clock, server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    oldEnd = clock.now() + 5 * DAY;
    await seed(s, [
      ['PATCH', '/api/v1/principals/admin', { name: 'Ada Admin' }],
      ['PUT', '/api/v1/principals/admin/local-account', { username: 'admin', password: ADMIN_PW }],
      ['POST', '/api/v1/principals', { id: 'carol', kind: 'user', name: 'Carol Example' }],
      ['PUT', '/api/v1/principals/carol/local-account', { username: 'carol', password: CAROL_PW }],
      ['POST', '/api/v1/roles', { id: 'app-reader', name: 'App reader', riskTier: 'low', settings: { maxActivation: 'PT1H', eligibility: { allowPermanent: false, maxDuration: 'P30D' } } }],
      ['POST', '/api/v1/roles', { id: 'log-viewer', name: 'Log viewer', riskTier: 'low', settings: {} }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'app-reader', scope: '/prod', endsAt: new Date(oldEnd).toISOString(), justification: 'support rota' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'log-viewer', scope: '/prod', endsAt: null, justification: 'support rota' }],
    ]);
    eligibilityId = ((await s.call('GET', '/api/v1/eligibilities?principal=carol&role=app-reader', ADMIN_TOKEN)).body.items as any[])[0].id;
    ({ browser, pages: { admin, carol } } = await openPages({ admin: DESKTOP, carol: DESKTOP }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const card = (page: Page, role: string) => page.getByRole('region', { name: 'Scope /prod' }).getByRole('listitem', { name: role });
  const status = (page: Page, re: RegExp) => waitText(page.getByRole('status').filter({ hasText: re }), re);
  /** The end date as the portal writes it, in the browser's own locale. */
  const formatted = (page: Page, ms: number) =>
    page.evaluate((t) => new Date(t).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }), ms);

  it('My access shows an eligibility in its last 14 days with its end in warning colour and "Renew"; one with no end has none', async () => {
    await signIn(carol, s.base, 'carol', CAROL_PW);
    const reader = card(carol, 'App reader');
    await reader.waitFor();
    const end = reader.locator('.ends-soon');
    assert.equal(await end.textContent(), await formatted(carol, oldEnd));
    assert.match((await end.getAttribute('class')) ?? '', /\bwarn\b/, 'the end date is in warning colour');
    const warn = await end.evaluate((el) => getComputedStyle(el).color);
    const plain = await reader.locator('.card-main > p.muted').first().evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(warn, plain);
    await waitText(reader, /Eligible until .* \(4 d 23 h \d\d min left\)/);
    await reader.getByRole('button', { name: 'Renew', exact: true }).waitFor();
    const viewer = card(carol, 'Log viewer');
    await waitText(viewer, /Eligible with no end date/);
    assert.equal(await viewer.getByRole('button', { name: 'Renew' }).count(), 0);
    await shot(carol, 'my-access');
  });

  it('the person asks to renew, saying why; a weak reason is refused in plain words; then "Renewal requested"', async () => {
    const reader = card(carol, 'App reader');
    await reader.getByRole('button', { name: 'Renew', exact: true }).click();
    const form = carol.getByRole('form', { name: 'Renew App reader at /prod' });
    const why = form.getByLabel('Why you still need it');
    await why.waitFor();
    assert.equal(await carol.evaluate(() => document.activeElement?.tagName), 'TEXTAREA', 'the field has the focus');
    await why.fill('need it');
    await form.getByRole('button', { name: 'Ask to renew' }).click();
    await waitText(form.getByRole('alert'), /Not asked:[\s\S]*too short or says nothing/);
    await shot(carol, 'form-refused');
    await why.fill(WHY);
    await shot(carol, 'form');
    await form.getByRole('button', { name: 'Ask to renew' }).click();
    await status(carol, /You asked to renew App reader at \/prod/);
    await waitText(reader, /Renewal requested/);
    assert.equal(await reader.getByRole('button', { name: 'Renew', exact: true }).count(), 0, 'no second request while one is pending');
    const pending = (await s.call('GET', '/api/v1/eligibilities/renewals?status=pending', ADMIN_TOKEN)).body.items as any[];
    assert.deepEqual(pending.map((r) => [r.principalId, r.eligibilityId, r.justification]), [['carol', eligibilityId, WHY]]);
    await shot(carol, 'requested');
  });

  it('an admin approves it under Administration → Access → Renewal requests', async () => {
    await signIn(admin, s.base, 'admin', ADMIN_PW);
    await admin.getByRole('navigation').getByRole('link', { name: 'Administration' }).click();
    await admin.getByRole('tab', { name: 'Access', exact: true }).click();
    const section = admin.getByRole('region', { name: /Renewal requests/ });
    const item = section.getByRole('listitem', { name: /Carol Example.*asks to renew App reader at \/prod/ });
    await item.waitFor();
    await waitText(item, new RegExp(WHY));
    await waitText(item, /Approving extends it by 30 days, to /);
    await shot(admin, 'admin');
    // A reason is required; the server's answer is shown.
    await item.getByRole('button', { name: 'Approve renewal' }).click();
    await waitText(item.getByRole('alert'), /Not decided:[\s\S]*reason/i);
    await item.getByLabel('Reason').fill('Confirmed with the payments team lead');
    await item.getByRole('button', { name: 'Approve renewal' }).click();
    await status(admin, /Renewed: .*Carol Example.* is eligible for App reader at \/prod until/);
    await item.waitFor({ state: 'detached' });
    await waitText(section, /No renewal is waiting/);
    await shot(admin, 'admin-approved');
    const e = (await s.call('GET', '/api/v1/eligibilities?principal=carol&role=app-reader', ADMIN_TOKEN)).body.items[0];
    assert.equal(Date.parse(e.endsAt), oldEnd + 30 * DAY);
  });

  it("the person's page shows the new end date, no longer in warning colour", async () => {
    await carol.reload();
    const reader = card(carol, 'App reader');
    await reader.waitFor();
    const expected = await formatted(carol, oldEnd + 30 * DAY);
    await waitText(reader, new RegExp(`Eligible until ${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await reader.locator('.ends-soon').count(), 0);
    assert.equal(await reader.getByText('Renewal requested').count(), 0);
    assert.equal(await reader.getByRole('button', { name: 'Renew', exact: true }).count(), 0);
    await shot(carol, 'renewed');
  });

  it('a denial shows its reason to the person, who may ask again; all of it fits a narrow screen', async () => {
    // A second eligibility nearing its end, asked for and denied.
    const r = await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'carol', roleId: 'app-reader', scope: '/staging', endsAt: new Date(clock.now() + 2 * DAY).toISOString(), justification: 'staging rota' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const asked = await s.call('POST', `/api/v1/eligibilities/${r.body.id}/renewals`, await carolToken(), { justification: 'Staging release testing continues next sprint' });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    const denied = await s.call('POST', `/api/v1/eligibilities/renewals/${asked.body.id}/deny`, ADMIN_TOKEN, { reason: 'staging moves to the new team' });
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    await carol.setViewportSize({ width: 360, height: 740 });
    await carol.reload();
    const staging = carol.getByRole('region', { name: 'Scope /staging' }).getByRole('listitem', { name: 'App reader' });
    await waitText(staging, /Your renewal was denied: “staging moves to the new team”/);
    await staging.getByRole('button', { name: 'Renew', exact: true }).click();
    await carol.getByRole('form', { name: 'Renew App reader at /staging' }).getByLabel('Why you still need it').waitFor();
    await carol.waitForTimeout(200);
    assert.ok((await horizontalOverflow(carol)) <= 0, `no sideways scrolling (overflow ${await horizontalOverflow(carol)}px)`);
    await shot(carol, 'denied-narrow');
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });

  /** A token for carol (the API path for set-up the test does not click through again). */
  async function carolToken(): Promise<string> {
    const t = await s.call('POST', '/api/v1/principals/carol/tokens', ADMIN_TOKEN, {});
    assert.equal(t.status, 201);
    return t.body.token as string;
  }
});
