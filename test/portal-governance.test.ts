import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { api, DESKTOP, horizontalOverflow, openPages, PORTAL_SKIP, seed, shot as screenshot, signIn, startPortalServer, waitText, type PortalServer } from './helpers/portal.js';

/**
 * The governance pages in real Chromium. An admin starts an access review in the form (App reader,
 * reviewed by each holder's manager); the manager signs in, finds the item in "My reviews" with its
 * recommendation, selects it and removes it with one reason; the admin completes the campaign and
 * sees the outcome (removed) while the eligibility is gone. A direct assignment raises an alert (the
 * detection scan runs on `jobs.tick()`), which the admin opens (its audit event listed) and
 * acknowledges with a note. The standing inventory lists the assignment, a bad import names its
 * line, the admin sets the role to enforced (new direct assignments are then refused, the grant is
 * flagged) and converts the grant to an eligibility. A report for today lists an activation; its CSV
 * and printable page carry it. Screenshots: test-artifacts/portal/governance-*.png.
 */
const ADMIN_PW = 'correct horse battery staple';
const MIA_PW = 'reviewer of the quarter 2026';
const CAMPAIGN = 'Production readers, second quarter';

const shot = (page: Page, name: string) => screenshot(page, `governance-${name}`);

describe('the governance pages in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let admin: Page;
  let mia: Page;
  let campaignId = '';
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];

  before(async () => {
    s = await startPortalServer({ clock, server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    await seed(s, [
      ['PATCH', '/api/v1/principals/admin', { name: 'Ada Admin' }],
      ['PUT', '/api/v1/principals/admin/local-account', { username: 'admin', password: ADMIN_PW }],
      ['POST', '/api/v1/principals', { id: 'mia', kind: 'user', name: 'Mia Manager' }],
      ['PUT', '/api/v1/principals/mia/local-account', { username: 'mia', password: MIA_PW }],
      ['POST', '/api/v1/principals', { id: 'carol', kind: 'user', name: 'Carol Example', managerId: 'mia' }],
      ['POST', '/api/v1/roles', { id: 'app-reader', name: 'App reader', riskTier: 'low', settings: { maxActivation: 'PT1H' } }],
      ['POST', '/api/v1/roles', { id: 'db-reader', name: 'Database reader', riskTier: 'low', settings: { maxActivation: 'PT1H' } }],
      ['POST', '/api/v1/roles', { id: 'payments-operator', name: 'Payments operator', riskTier: 'medium', settings: { maxActivation: 'PT2H', activeAssignment: { allowPermanent: true } } }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'app-reader', scope: '/prod', endsAt: null, justification: 'support rota' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'db-reader', scope: '/dev', endsAt: null, justification: 'development databases' }],
    ]);
    ({ browser, pages: { admin, mia } } = await openPages({ admin: DESKTOP, mia: DESKTOP }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const nav = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });
  const status = (page: Page, re: RegExp) => waitText(page.getByRole('status').filter({ hasText: re }), re);

  it('an admin starts a review campaign with the form: App reader, reviewed by the manager', async () => {
    await signIn(admin, s.base, 'admin', ADMIN_PW);
    await nav(admin, 'Reviews').click();
    await admin.getByRole('heading', { name: 'Access reviews', level: 1 }).waitFor();
    const campaigns = admin.getByRole('region', { name: /^Campaigns/ });
    await campaigns.getByRole('button', { name: 'New campaign' }).click();
    const form = admin.getByRole('form', { name: 'New review campaign' });
    await form.getByLabel('Campaign name').fill(CAMPAIGN);
    await form.getByRole('group', { name: 'Roles' }).getByRole('checkbox', { name: /App reader/ }).check();
    await form.getByLabel('Scopes').fill('/prod');
    await form.getByLabel('Reviewers', { exact: true }).selectOption('manager');
    await form.getByLabel('Fallback reviewers').fill('admin');
    await form.getByLabel('Duration in days').fill('14');
    await form.getByLabel('When nobody decides').selectOption('recommendation');
    assert.equal(await form.getByRole('checkbox', { name: /Apply the decisions automatically/ }).isChecked(), true);
    await shot(admin, 'campaign-new');
    await form.getByRole('button', { name: 'Start campaign' }).click();
    await status(admin, new RegExp(`Started the review “${CAMPAIGN}”: 1 item to review`));

    const list = (await s.call('GET', '/api/v1/reviews', ADMIN_TOKEN)).body.items as any[];
    assert.equal(list.length, 1);
    const c = list[0];
    campaignId = c.id;
    assert.deepEqual({ name: c.name, status: c.status, reviewers: c.reviewers.kind, roles: c.filter.roles, days: c.durationDays, dflt: c.defaultDecision, autoApply: c.autoApply }, {
      name: CAMPAIGN, status: 'active', reviewers: 'manager', roles: ['app-reader'], days: 14, dflt: 'recommendation', autoApply: true,
    });
    const items = (await s.call('GET', `/api/v1/reviews/${campaignId}/items`, ADMIN_TOKEN)).body.items as any[];
    assert.deepEqual(items.map((i) => [i.principalId, i.roleId, i.scope, i.reviewers]), [['carol', 'app-reader', '/prod', ['mia']]], 'db-reader at /dev is not in it');

    const card = campaigns.getByRole('listitem', { name: new RegExp(CAMPAIGN) });
    await waitText(card, /Open[\s\S]*1 item[\s\S]*0 decided[\s\S]*1 pending/);
    await shot(admin, 'campaigns');
  });

  it('the manager finds the item in My reviews with its recommendation and removes it with a reason', async () => {
    await signIn(mia, s.base, 'mia', MIA_PW);
    await nav(mia, 'Reviews').click();
    const mine = mia.getByRole('region', { name: /^My reviews/ });
    await waitText(mine.getByRole('heading', { level: 2 }), /My reviews \(1 to decide\)/);
    const item = mine.getByRole('listitem', { name: /Carol Example · App reader at \/prod/ });
    await waitText(item, /Low risk[\s\S]*Eligible[\s\S]*Last activation\s*never[\s\S]*Last sign-in\s*never/i);
    await waitText(item.locator('.recommend'), /Recommended: (keep|remove)\./);
    assert.equal(await item.locator('[data-reason]').count() > 0, true, 'the reasons are shown');
    // A manager is not an administrator: no campaigns, no admin pages.
    assert.equal(await mia.getByRole('region', { name: /^Campaigns/ }).count(), 0);
    assert.equal(await nav(mia, 'Alerts').count(), 0);
    await shot(mia, 'my-reviews');

    const bulk = mine.getByRole('form', { name: `Decide the selected items of ${CAMPAIGN}` });
    assert.equal(await bulk.getByRole('button', { name: 'Remove selected (0)' }).isDisabled(), true, 'nothing selected yet');
    await item.getByRole('checkbox', { name: 'Select Carol Example, App reader at /prod' }).check();
    // Removing access needs a reason: the server says so, and the page says it in words.
    await bulk.getByRole('button', { name: 'Remove selected (1)' }).click();
    await waitText(bulk.getByRole('alert'), /Nothing was recorded:[\s\S]*Give a reason for your decision/);
    assert.equal(((await s.call('GET', `/api/v1/reviews/${campaignId}/items`, ADMIN_TOKEN)).body.items as any[])[0].decision, null, 'nothing recorded');
    await bulk.getByLabel('Reason for the selected').fill('Carol moved to the design team');
    await bulk.getByRole('button', { name: 'Remove selected (1)' }).click();
    await status(mia, /Removal recorded for 1 item/);
    await waitText(item, /Decided: remove[\s\S]*You denied[\s\S]*Carol moved to the design team/);
    await waitText(mine.getByRole('heading', { level: 2 }), /My reviews \(0 to decide\)/);
    await shot(mia, 'my-reviews-decided');

    const items = (await s.call('GET', `/api/v1/reviews/${campaignId}/items`, ADMIN_TOKEN)).body.items as any[];
    assert.equal(items[0].decision?.decision, 'deny');
    assert.equal(items[0].decision?.by, 'mia');
    assert.equal(items[0].decision?.reason, 'Carol moved to the design team');
    assert.equal(items[0].outcome, null, 'nothing applied before the end');
    // The server's refusals are shown in words: the admin is no reviewer of this item.
    const refused = await api(admin, 'POST', `/api/v1/reviews/${campaignId}/items/${items[0].id}/decision`, { decision: 'approve', reason: 'looks fine' });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
  });

  it('the admin completes the campaign and sees the outcome: removed', async () => {
    await nav(admin, 'My access').click();
    await nav(admin, 'Reviews').click();
    const card = admin.getByRole('region', { name: /^Campaigns/ }).getByRole('listitem', { name: new RegExp(CAMPAIGN) });
    await waitText(card, /1 decided[\s\S]*0 to keep[\s\S]*1 to remove[\s\S]*0 pending/);
    assert.match((await card.getByRole('link', { name: 'Export CSV' }).getAttribute('href')) ?? '', new RegExp(`/api/v1/reviews/${campaignId}/export\\?format=csv$`));
    await card.getByRole('button', { name: 'Complete now' }).click();
    await card.getByRole('button', { name: 'Complete and apply' }).click();
    await status(admin, new RegExp(`Completed “${CAMPAIGN}”: the decisions are applied`));
    await waitText(card, /Completed[\s\S]*1 removed/);
    await card.getByRole('button', { name: 'Show items' }).click();
    const row = card.getByRole('row', { name: /Carol Example.*App reader/ });
    await waitText(row, /Remove, by mia[\s\S]*Removed/);
    await shot(admin, 'campaign-completed');

    const c = (await s.call('GET', `/api/v1/reviews/${campaignId}`, ADMIN_TOKEN)).body;
    assert.equal(c.status, 'completed');
    const eligs = (await s.call('GET', '/api/v1/eligibilities?principal=carol', ADMIN_TOKEN)).body.items as any[];
    assert.deepEqual(eligs.filter((e) => !e.removedAt).map((e) => e.roleId), ['db-reader'], 'the removed eligibility is gone, the other kept');
    // The export an auditor downloads says the same.
    const csv = await admin.evaluate(async (u) => (await fetch(u)).text(), `/api/v1/reviews/${campaignId}/export?format=csv`);
    assert.match(csv, /carol/);
    assert.match(csv, /removed/);
  });

  it('a direct assignment raises an alert; the admin opens it, sees its event and acknowledges it', async () => {
    const direct = await s.call('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'carol', roleId: 'payments-operator', scope: '/prod/payments', endsAt: null, justification: 'legacy access from the old system' });
    assert.equal(direct.status, 201, JSON.stringify(direct.body));
    await s.jobs.tick();

    await nav(admin, 'Alerts').click();
    await admin.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    const row = admin.getByRole('row', { name: /Direct assignment of payments-operator to carol/ });
    await waitText(row, /Open[\s\S]*direct_assignment[\s\S]*carol/);
    await admin.getByLabel('Status').selectOption('resolved');
    await admin.getByText(/No alert matches these filters/).waitFor();
    await admin.getByLabel('Status').selectOption('');
    await shot(admin, 'alerts');

    await row.getByRole('button', { name: /^Open alert: Direct assignment of payments-operator to carol/ }).click();
    const detail = admin.getByRole('region', { name: 'Direct assignment of payments-operator to carol' });
    await waitText(detail, /The events that triggered it \(1\)[\s\S]*assignment\.direct_created/);
    assert.ok(await detail.evaluate((d) => d.contains(document.activeElement)), 'focus moves to the opened alert');
    await detail.getByLabel('Note').fill('Known migration, ticket CHG-4711');
    await shot(admin, 'alert-detail');
    await detail.getByRole('button', { name: 'Acknowledge' }).click();
    await status(admin, /Acknowledged: Direct assignment of payments-operator to carol/);
    await waitText(row, /Acknowledged/);
    await waitText(detail, /Acknowledged\s*by admin[\s\S]*Known migration, ticket CHG-4711/);
    assert.equal(await detail.getByRole('button', { name: 'Acknowledge' }).count(), 0);

    const alerts = (await s.call('GET', '/api/v1/alerts?rule=direct_assignment', ADMIN_TOKEN)).body.items as any[];
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].status, 'acknowledged');
    assert.equal(alerts[0].acknowledgedBy, 'admin');
    assert.equal(alerts[0].note, 'Known migration, ticket CHG-4711');
  });

  it('the inventory lists the direct assignment, a bad import names its line, the admin enforces the role and converts the grant', async () => {
    await nav(admin, 'Standing access').click();
    await admin.getByRole('heading', { name: 'Standing access', level: 1 }).waitFor();
    const inventory = admin.getByRole('region', { name: /^Inventory/ });
    const row = inventory.getByRole('row', { name: /Elevate.*Carol Example.*\/prod\/payments/ });
    await waitText(row, /Payments operator|payments-operator/);
    await waitText(row, /legacy access from the old system/);

    const imp = admin.getByRole('form', { name: 'Import from another system' });
    await imp.getByLabel('System').fill('postgres-prod');
    await imp.getByLabel('Data').fill('principal,privilege,scope,since,last_used,justification\ncarol,SUPERUSER,/prod/db,2024-01-05,,legacy\ndave,pg_read_all_data,/prod/db,last spring,,reports\n');
    await imp.getByRole('button', { name: 'Import' }).click();
    await waitText(imp.getByRole('alert'), /Nothing imported: line 3 is wrong\.[\s\S]*since/);
    assert.equal(await imp.getByLabel('Data').getAttribute('aria-invalid'), 'true');
    await shot(admin, 'standing-import-error');
    assert.equal(((await s.call('GET', '/api/v1/standing?source=import', ADMIN_TOKEN)).body.items as any[]).length, 0, 'nothing written');
    await imp.getByLabel('Data').fill('principal,privilege,scope,since,last_used,justification\ncarol,SUPERUSER,/prod/db,2024-01-05,,legacy\n');
    await imp.getByRole('button', { name: 'Import' }).click();
    await status(admin, /Imported 1 standing grant from postgres-prod/);
    await inventory.getByRole('row', { name: /Imported: postgres-prod.*SUPERUSER/ }).waitFor();

    const rollout = admin.getByRole('region', { name: 'Rollout by role' });
    const role = rollout.getByRole('row', { name: /Payments operator/ });
    await waitText(role, /Not started/);
    await role.getByLabel('Rollout mode for Payments operator').selectOption('enforced');
    await role.getByRole('button', { name: 'Set the rollout mode of Payments operator' }).click();
    await status(admin, /Payments operator is now in enforced mode/);
    const item = ((await s.call('GET', '/api/v1/rollout', ADMIN_TOKEN)).body.items as any[]).find((x) => x.roleId === 'payments-operator');
    assert.equal(item.mode, 'enforced');
    assert.equal(item.standingHolders, 1);
    const refused = await s.call('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'mia', roleId: 'payments-operator', scope: '/prod', endsAt: null, justification: 'one more' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'rollout_enforced');
    // The existing standing grant is flagged now.
    for (let i = 0; !/is-flagged/.test((await row.getAttribute('class')) ?? ''); i++) {
      assert.ok(i < 100, 'the standing grant of an enforced role is shown flagged');
      await admin.waitForTimeout(100);
    }
    await shot(admin, 'standing');

    // Select it and convert it to an eligibility.
    await row.getByRole('checkbox', { name: /^Select Carol Example, / }).check();
    await inventory.getByRole('button', { name: 'Convert to eligible (1)' }).click();
    await status(admin, /Converted 1 standing grant to eligibility/);
    await row.waitFor({ state: 'detached' });
    const eligible = ((await s.call('GET', '/api/v1/eligibilities?principal=carol', ADMIN_TOKEN)).body.items as any[]).filter((e) => e.roleId === 'payments-operator' && !e.removedAt);
    assert.equal(eligible.length, 1, 'carol is eligible instead');
    assert.equal((await s.call('GET', '/api/v1/check?principal=carol&role=payments-operator&scope=/prod/payments', ADMIN_TOKEN)).body.allowed, false, 'no standing grant any more');
  });

  it('a report for today lists an activation, with downloads and a printable page', async () => {
    const token = (await s.call('POST', '/api/v1/principals/carol/tokens', ADMIN_TOKEN, {})).body.token as string;
    const act = await s.call('POST', '/api/v1/requests', token, { roleId: 'db-reader', scope: '/dev', duration: 'PT30M', justification: 'migrating the orders schema' }, { 'idempotency-key': 'gov-1' });
    assert.equal(act.status, 201, JSON.stringify(act.body));

    await nav(admin, 'Reports').click();
    await admin.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    await admin.getByRole('button', { name: 'Today' }).click();
    const today = new Date(clock.now()).toISOString().slice(0, 10);
    await waitText(admin.getByRole('heading', { level: 2 }), new RegExp(`Evidence, ${today} \\(\\d+\\)`));
    const row = admin.getByRole('row', { name: /Carol Example.*Database reader.*\/dev/ });
    await waitText(row, /Activated[\s\S]*no approval[\s\S]*migrating the orders schema/);
    await shot(admin, 'report');

    const csv = admin.getByRole('link', { name: 'Download CSV' });
    const href = (await csv.getAttribute('href')) ?? '';
    assert.match(href, /\/api\/v1\/reports\/evidence\?.*format=csv/);
    const body = await admin.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.match(body, /db-reader/);
    assert.equal(await admin.getByRole('link', { name: 'Printable page' }).getAttribute('target'), '_blank');
    const html = await admin.evaluate(async (u) => {
      const r = await fetch(u);
      return { type: r.headers.get('content-type') ?? '', text: await r.text() };
    }, (await admin.getByRole('link', { name: 'Printable page' }).getAttribute('href')) ?? '');
    assert.match(html.type, /text\/html/);
    assert.match(html.text, /migrating the orders schema/);
    assert.doesNotMatch(html.text, /<script/i);

    // Narrowed to a role that nobody activated: empty, and said so.
    await admin.getByLabel('Role').selectOption('app-reader');
    await admin.getByRole('button', { name: 'Show' }).click();
    await admin.getByText(/Nobody held a privileged role in this period that matches/).waitFor();
  });

  it('reads on a narrow screen without sideways scrolling', async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    for (const [link, h1] of [
      ['Reviews', 'Access reviews'],
      ['Alerts', 'Alerts'],
      ['Standing access', 'Standing access'],
      ['Reports', 'Reports'],
    ] as const) {
      await nav(admin, link).click();
      await admin.getByRole('heading', { name: h1, level: 1 }).waitFor();
      await admin.waitForTimeout(400);
      assert.ok((await horizontalOverflow(admin)) <= 0, `${link}: no horizontal scrolling on a narrow screen (overflow ${await horizontalOverflow(admin)}px)`);
      await shot(admin, `${link.toLowerCase().replace(/ /g, '-')}-narrow`);
    }
    await admin.setViewportSize({ width: 1100, height: 800 });
    // Someone who is not an administrator: the admin pages say so, and the API refuses.
    await mia.goto(`${s.base}/alerts`);
    await waitText(mia.getByRole('main'), /Alerts is for holders of the elevate-admin role/);
    assert.equal((await api(mia, 'GET', '/api/v1/alerts')).status, 403);
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
