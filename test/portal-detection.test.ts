import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { DESKTOP, horizontalOverflow, openPages, PORTAL_SKIP, seed, shot as screenshot, signIn, startPortalServer, waitText, type PortalServer } from './helpers/portal.js';

/**
 * The Alerts page's admin tabs in real Chromium. On "Detection rules" the admin lowers a threshold,
 * raises a severity and turns a rule off; Save sends the whole document and the server's settings
 * say the same. An out-of-range value is refused: the page names the field in words, marks it
 * invalid, and nothing changes on the server. On "Export and self-audit" the test server has no SIEM
 * output (said so), a dead letter's replay is refused in words (its output is not configured), and
 * after a check answer, five minutes and a job tick the self-audit shows its run with no false
 * allows. Screenshots: test-artifacts/portal/detection-*.png.
 */
const ADMIN_PW = 'correct horse battery staple';
const MIN = 60_000;

const shot = (page: Page, name: string) => screenshot(page, `detection-${name}`);

describe('the detection rules, SIEM export and self-audit in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let admin: Page;
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];

  before(async () => {
    s = await startPortalServer({ clock, server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    await seed(s, [
      ['PATCH', '/api/v1/principals/admin', { name: 'Ada Admin' }],
      ['PUT', '/api/v1/principals/admin/local-account', { username: 'admin', password: ADMIN_PW }],
    ]);
    ({ browser, pages: { admin } } = await openPages({ admin: DESKTOP }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const nav = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });
  const tab = (page: Page, name: string) => page.getByRole('tablist', { name: 'Alerts sections' }).getByRole('tab', { name, exact: true });
  const settings = async () => (await s.call('GET', '/api/v1/detection/settings', ADMIN_TOKEN)).body.rules as Record<string, Record<string, unknown>>;

  it('the admin lowers a threshold, raises a severity and turns a rule off; the server has them', async () => {
    const before = await settings();
    assert.equal(before.frequent_activations!.max, 10);
    await signIn(admin, s.base, 'admin', ADMIN_PW);
    await nav(admin, 'Alerts').click();
    await admin.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await tab(admin, 'Detection rules').click();
    assert.match(admin.url(), /\/alerts\?tab=rules$/);

    const form = admin.getByRole('form', { name: 'Detection rules' });
    const frequent = form.getByRole('group', { name: 'Frequent activations' });
    await waitText(frequent, /One person activates more often/);
    assert.equal(await frequent.getByLabel('Most activations').inputValue(), '10');
    assert.equal(await frequent.getByLabel('Window in hours').inputValue(), '24');
    assert.equal(await form.getByRole('group').count(), Object.keys(before).length, 'one row per rule');
    await frequent.getByLabel('Most activations').fill('4');
    await frequent.getByLabel('Severity').selectOption('high');
    const fatigue = form.getByRole('group', { name: 'Approval fatigue' });
    await fatigue.getByLabel('Enabled').uncheck();
    await shot(admin, 'rules-edited');
    await form.getByRole('button', { name: 'Save detection rules' }).click();
    await waitText(admin.getByRole('status').filter({ hasText: /Saved/ }), /Saved the detection rules/);

    const after = await settings();
    assert.deepEqual(after.frequent_activations, { ...before.frequent_activations, max: 4, severity: 'high' });
    assert.equal(after.approval_fatigue!.enabled, false);
    // The rest of the document is as it was.
    assert.deepEqual({ ...after, frequent_activations: null, approval_fatigue: null }, { ...before, frequent_activations: null, approval_fatigue: null });
    const audited = (await s.call('GET', '/api/v1/audit?type=detection.settings_updated', ADMIN_TOKEN)).body.items as any[];
    assert.equal(audited.length, 1, 'the change is audited');
    assert.equal(audited[0].actorId, 'admin');
  });

  it('an out-of-range value is refused: the field is named and marked, nothing changes', async () => {
    const form = admin.getByRole('form', { name: 'Detection rules' });
    const frequent = form.getByRole('group', { name: 'Frequent activations' });
    const max = frequent.getByLabel('Most activations');
    await max.fill('0');
    await form.getByRole('button', { name: 'Save detection rules' }).click();
    await waitText(form.getByRole('alert'), /Nothing was saved:[\s\S]*Frequent activations, “Most activations”: must be an integer from 1 to 100000/);
    assert.equal(await max.getAttribute('aria-invalid'), 'true');
    assert.equal(await frequent.getByLabel('Window in hours').getAttribute('aria-invalid'), null, 'only the named field is marked');
    assert.ok(await max.evaluate((el) => el === document.activeElement), 'focus moves to the refused field');
    assert.match((await max.getAttribute('aria-describedby')) ?? '', /-error/);
    await shot(admin, 'rules-refused');
    assert.equal((await settings()).frequent_activations!.max, 4, 'nothing changed on the server');

    await form.getByRole('button', { name: 'Undo changes' }).click();
    assert.equal(await max.inputValue(), '4');
    assert.equal(await max.getAttribute('aria-invalid'), null);
    assert.equal(await form.getByRole('alert').count(), 0);
  });

  it('the export tab says there is no output, refuses a replay in words, and shows a self-audit run', async () => {
    // A dead letter left from an output this server no longer has.
    await s.store.transaction((tx) =>
      s.store.siem.insertDeadLetter(tx, { id: 'dl-1', sink: 'syslog', fromSeq: 1, toSeq: 3, error: 'connection refused', attempts: 8, createdAt: clock.now() - 30 * MIN, replayedAt: null }),
    );
    await tab(admin, 'Export and self-audit').click();
    assert.match(admin.url(), /\/alerts\?tab=export$/);
    const outputs = admin.getByRole('region', { name: 'SIEM outputs' });
    await waitText(outputs, /No outputs configured/i);

    const dead = admin.getByRole('region', { name: /^Dead letters/ });
    await waitText(dead.getByRole('heading', { level: 2 }), /Dead letters \(1 waiting\)/);
    const row = dead.getByRole('row', { name: /Syslog.*#1–#3/ });
    await waitText(row, /3 events[\s\S]*connection refused[\s\S]*8/);
    await row.getByRole('button', { name: 'Replay events #1–#3 to Syslog' }).click();
    await waitText(dead.getByRole('alert'), /Events #1–#3 were not sent again to Syslog:[\s\S]*no longer configured on this server/);
    const dl = (await s.call('GET', '/api/v1/siem/dead-letters', ADMIN_TOKEN)).body.items as any[];
    assert.equal(dl[0].replayedAt, null, 'still waiting');

    const audit = admin.getByRole('region', { name: 'False-allow self-audit' });
    await waitText(audit, /No self-audit run yet/);

    // An allowed check answer (sampled), then five minutes and a tick: the self-audit runs.
    clock.advance(MIN);
    const check = await s.call('GET', '/api/v1/check?principal=admin&role=elevate-admin&scope=/', ADMIN_TOKEN);
    assert.equal(check.body.allowed, true, JSON.stringify(check.body));
    clock.advance(6 * MIN);
    await s.jobs.tick();
    const runs = (await s.call('GET', '/api/v1/self-audit', ADMIN_TOKEN)).body;
    assert.ok(runs.runs.length >= 1, JSON.stringify(runs));
    assert.equal(runs.falseAllowTotal, 0);

    // The page loads it again when the tab is opened again.
    await tab(admin, 'Alerts').click();
    await tab(admin, 'Export and self-audit').click();
    await waitText(audit.locator('.chain'), /No false allows: every sampled answer agreed/);
    const table = audit.getByRole('table', { name: 'Recent self-audit runs' });
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), runs.runs.length);
    await waitText(table.locator('tbody tr').first(), new RegExp(`${runs.runs[0].sampled}\\s*${runs.runs[0].disagreements}\\s*0`));
    assert.equal(await audit.locator('.chain-bad').count(), 0);
    await shot(admin, 'export');
  });

  it('reads on a narrow screen without sideways scrolling, with no script errors', async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    for (const [name, file] of [
      ['Detection rules', 'rules'],
      ['Export and self-audit', 'export'],
    ] as const) {
      await tab(admin, name).click();
      await admin.waitForTimeout(400);
      assert.ok((await horizontalOverflow(admin)) <= 0, `${name}: no horizontal scrolling on a narrow screen (overflow ${await horizontalOverflow(admin)}px)`);
      await shot(admin, `${file}-narrow`);
    }
    await admin.setViewportSize({ width: 1100, height: 800 });
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
