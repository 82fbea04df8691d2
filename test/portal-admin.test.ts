import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN } from './helpers/harness.js';
import { api, horizontalOverflow, PORTAL_SKIP, DESKTOP, openPages, seed, shot as screenshot, signIn, startPortalServer, waitText, type PortalServer } from './helpers/portal.js';

/**
 * The portal's Administration pages in real Chromium: an admin signs in with the form, creates a
 * principal and a group (long names and all), edits the group's members, creates a role through the
 * settings editor (a bad value shows the server's message naming the field before anything is
 * saved), sees a direct assignment highlighted as standing access and converts it to an eligibility
 * with one click; the scope tree counts what is where. Someone who is not an admin never sees
 * Administration and is refused by the API. Screenshots: test-artifacts/portal/admin-*.png.
 */
const ADMIN_PW = 'correct horse battery staple';
const CAROL_PW = 'staple battery horse correct';
const LONG_NAME = 'Maximiliane Konstantinopoulou-Wolfeschlegelsteinhausenbergerdorff, Payments Platform Operations';
const LONG_GROUP = 'payments-platform-operations-emergency-database-administrators-europe-west';
const DAY = 86_400_000;

const shot = (page: Page, name: string) => screenshot(page, `admin-${name}`);

describe('the Administration pages in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let admin: Page;
  let carol: Page;
  const clock = new ManualClock(Date.now());
  const errors: string[] = [];

  before(async () => {
    s = await startPortalServer({ clock, server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    await seed(s, [
      ['PATCH', '/api/v1/principals/admin', { name: 'Ada Admin' }],
      ['PUT', '/api/v1/principals/admin/local-account', { username: 'admin', password: ADMIN_PW }],
      ['POST', '/api/v1/principals', { id: 'carol', kind: 'user', name: 'Carol Example' }],
      ['PUT', '/api/v1/principals/carol/local-account', { username: 'carol', password: CAROL_PW }],
      ['POST', '/api/v1/principals', { id: 'svc-backup', kind: 'service', name: 'Nightly backup job' }],
      ['POST', '/api/v1/roles', { id: 'app-reader', name: 'App reader', riskTier: 'low', settings: { maxActivation: 'PT1H' } }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'app-reader', scope: '/prod', endsAt: null, justification: 'support rota' }],
      ['POST', '/api/v1/eligibilities', { principalId: 'carol', roleId: 'app-reader', scope: '/dev/sandbox', endsAt: null, justification: 'sandbox' }],
    ]);
    ({ browser, pages: { admin, carol } } = await openPages({ admin: DESKTOP, carol: DESKTOP }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const tab = (name: string) => admin.getByRole('tab', { name, exact: true });
  const status = (page: Page, re: RegExp) => waitText(page.getByRole('status').filter({ hasText: re }), re);

  it('an admin signs in with the form and finds Administration', async () => {
    await signIn(admin, s.base, 'admin', ADMIN_PW);
    await admin.getByRole('navigation').getByRole('link', { name: 'Administration' }).click();
    await admin.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
    assert.equal(await tab('Principals').getAttribute('aria-selected'), 'true');
    await admin.getByRole('listitem', { name: 'Carol Example' }).waitFor();
    // Arrow keys move between the section tabs.
    await tab('Principals').focus();
    await admin.keyboard.press('ArrowRight');
    assert.equal(await tab('Roles').getAttribute('aria-selected'), 'true');
    assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Roles');
    await admin.keyboard.press('ArrowLeft');
    assert.equal(await tab('Principals').getAttribute('aria-selected'), 'true');
  });

  it('creates a principal and a group with long names, edits the members, filters by kind, suspends and reactivates', async () => {
    await admin.getByRole('button', { name: 'New principal' }).click();
    const form = admin.getByRole('form', { name: 'New principal' });
    await form.getByLabel('ID').fill('dana');
    await form.getByLabel('Kind').selectOption('user');
    await form.getByLabel('Display name').fill(LONG_NAME);
    await form.getByLabel('Email').fill('dana@example.test');
    await form.getByLabel('Manager').fill('carol');
    await shot(admin, 'principal-new');
    await form.getByRole('button', { name: 'Create principal' }).click();
    await status(admin, /Created user/);
    await admin.getByRole('listitem', { name: LONG_NAME }).waitFor();
    assert.equal((await s.call('GET', '/api/v1/principals/dana', ADMIN_TOKEN)).body.managerId, 'carol');

    await admin.getByRole('button', { name: 'New principal' }).click();
    await form.getByLabel('ID').fill(LONG_GROUP);
    await form.getByLabel('Kind').selectOption('group');
    await form.getByRole('button', { name: 'Create principal' }).click();
    await status(admin, /Created group/);

    const group = admin.getByRole('listitem', { name: LONG_GROUP });
    await group.getByRole('button', { name: 'Edit members' }).click();
    const add = group.getByLabel('Add member');
    await add.fill('dana');
    await add.press('Enter');
    await add.fill('carol');
    await group.getByRole('button', { name: 'Add', exact: true }).click();
    await group.getByRole('button', { name: 'Remove carol' }).waitFor();
    await shot(admin, 'group-members');
    await group.getByRole('button', { name: 'Remove carol' }).click();
    await group.getByRole('button', { name: 'Save members' }).click();
    await status(admin, /now has 1 direct member/);
    assert.deepEqual((await s.call('GET', `/api/v1/groups/${LONG_GROUP}/members`, ADMIN_TOKEN)).body.members, ['dana']);

    await admin.getByLabel('Kind').selectOption('group');
    await waitText(admin.getByText(/^Showing \d+ of/), /^Showing 1 of/);
    await admin.getByLabel('Kind').selectOption('all');
    await admin.getByLabel('Search principals').fill('backup');
    await admin.getByRole('listitem', { name: 'Nightly backup job' }).waitFor();
    assert.equal(await admin.getByRole('listitem', { name: 'Carol Example' }).count(), 0);
    await admin.getByLabel('Search principals').fill('');

    const dana = admin.getByRole('listitem', { name: LONG_NAME });
    await dana.getByRole('button', { name: 'Suspend' }).click();
    await status(admin, /is suspended/);
    await waitText(dana, /Suspended/);
    assert.equal((await s.call('GET', '/api/v1/principals/dana', ADMIN_TOKEN)).body.status, 'suspended');
    await dana.getByRole('button', { name: 'Reactivate' }).click();
    await status(admin, /is active again/);
    assert.equal((await s.call('GET', '/api/v1/principals/dana', ADMIN_TOKEN)).body.status, 'active');
    // The server keeps its rules: the last standing admin cannot be suspended, and the page says why.
    await admin.getByRole('listitem', { name: 'Ada Admin' }).getByRole('button', { name: 'Suspend' }).click();
    await waitText(admin.getByRole('listitem', { name: 'Ada Admin' }).getByRole('alert'), /nobody could administer Elevate/);
    await shot(admin, 'principals');
  });

  it('creates a role through the editor: a bad value shows the server message naming the field before saving', async () => {
    await tab('Roles').click();
    await admin.getByRole('listitem', { name: 'App reader' }).waitFor();
    await admin.getByRole('button', { name: 'New role' }).click();
    const form = admin.getByRole('form', { name: 'New role' });
    await form.getByLabel('Role ID').fill('payments-operator');
    await form.getByLabel('Role name').fill('Payments operator');
    await form.getByLabel('Risk tier').selectOption('medium');
    const settings = form.getByLabel('Settings (JSON)');
    await settings.fill('{ "maxActivation": "PT2H", ');
    await waitText(form.locator('[aria-live]').first(), /not valid JSON/);
    await settings.fill('{ "maxActivation": "two hours" }');
    const said = await waitText(form.locator('[aria-live]').first(), /server refuses these settings: settings\.maxActivation: must be an ISO 8601 duration/);
    assert.match(said, /settings\.maxActivation/);
    assert.equal(await settings.getAttribute('aria-invalid'), 'true');
    await shot(admin, 'role-editor-invalid');
    assert.equal((await s.call('GET', '/api/v1/roles/payments-operator', ADMIN_TOKEN)).status, 404, 'nothing saved while validating');

    await settings.fill(
      JSON.stringify({ maxActivation: 'PT2H', ticket: { required: true, pattern: '^CHG-[0-9]+$' }, eligibility: { allowPermanent: false, maxDuration: 'P30D' }, activeAssignment: { allowPermanent: true } }, null, 2),
    );
    await waitText(form.locator('[aria-live]').first(), /server accepts these settings/);
    const meaning = await waitText(form.getByRole('region', { name: 'What these settings mean' }), /Eligibility lasts at most 30 days/);
    assert.match(meaning, /Longest activation: 2 hours/);
    assert.match(meaning, /A ticket is required, matching \^CHG-\[0-9\]\+\$/);
    assert.match(meaning, /justification is required: at least 10 characters/, 'defaults the server fills in are spelled out');
    assert.equal(await settings.getAttribute('aria-invalid'), 'false');
    await shot(admin, 'role-editor');
    await form.getByRole('button', { name: 'Create role' }).click();
    await status(admin, /Created role Payments operator/);
    const role = (await s.call('GET', '/api/v1/roles/payments-operator', ADMIN_TOKEN)).body;
    assert.equal(role.riskTier, 'medium');
    assert.equal(role.settings.maxActivation, 'PT2H');
    await admin.getByRole('listitem', { name: 'Payments operator' }).waitFor();

    // Editing: the server's refusal on save is shown too.
    await admin.getByRole('listitem', { name: 'App reader' }).getByRole('button', { name: 'Edit' }).click();
    const edit = admin.getByRole('form', { name: /Edit role/ });
    await edit.getByLabel('Risk tier').selectOption('critical');
    await waitText(edit.locator('[aria-live]').first(), /settings\.approval\.required: a critical role must require approval/);
    await edit.getByRole('button', { name: 'Save role' }).click();
    await waitText(edit.getByRole('alert'), /critical role must require approval/);
    await edit.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await s.call('GET', '/api/v1/roles/app-reader', ADMIN_TOKEN)).body.riskTier, 'low');
    await shot(admin, 'roles');
  });

  it('shows a direct assignment as standing access and converts it to an eligibility in one click', async () => {
    const direct = await s.call('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'dana', roleId: 'payments-operator', scope: '/prod/payments', endsAt: null, justification: 'legacy access from the old system' });
    assert.equal(direct.status, 201, JSON.stringify(direct.body));
    assert.equal((await s.call('GET', '/api/v1/check?principal=dana&role=payments-operator&scope=/prod/payments', ADMIN_TOKEN)).body.allowed, true);

    await tab('Access').click();
    const standing = admin.getByRole('region', { name: /Standing access/ });
    const card = standing.getByRole('listitem', { name: /holds Payments operator at \/prod\/payments/ });
    await card.waitFor();
    assert.match(await card.getAttribute('class') ?? '', /standing-card/, 'highlighted as standing access');
    await waitText(card, /Standing access[\s\S]*legacy access from the old system[\s\S]*eligible for 30 days/);
    assert.ok(await admin.getByRole('region', { name: /Eligibilities/ }).getByRole('row', { name: /Carol Example.*App reader.*\/prod/ }).first().isVisible());
    await shot(admin, 'access-standing');

    await card.getByRole('button', { name: 'Convert to eligible' }).click();
    await status(admin, /Converted: .* no longer holds Payments operator at \/prod\/payments standing, and is now eligible for it until/);
    await card.waitFor({ state: 'detached' });
    // What is left standing is the admin's own grant, the last one: converting it is refused, and the page says why.
    assert.equal(await standing.getByRole('listitem').count(), 1);
    const own = standing.getByRole('listitem', { name: /admin holds Elevate administrator at \// });
    await own.getByRole('button', { name: 'Convert to eligible' }).click();
    await waitText(own.getByRole('alert'), /Not converted:[\s\S]*nobody could administer Elevate/);
    await admin.getByRole('region', { name: /Eligibilities/ }).getByRole('row', { name: /dana.*Payments operator.*\/prod\/payments/ }).waitFor();
    await shot(admin, 'access-converted');

    const check = (await s.call('GET', '/api/v1/check?principal=dana&role=payments-operator&scope=/prod/payments', ADMIN_TOKEN)).body;
    assert.equal(check.allowed, false, 'no standing grant any more');
    const eligs = (await s.call('GET', '/api/v1/eligibilities?principal=dana', ADMIN_TOKEN)).body.items as any[];
    const e = eligs.find((x) => x.roleId === 'payments-operator' && x.scope === '/prod/payments');
    assert.ok(e, 'dana is eligible instead');
    assert.equal(Date.parse(e.endsAt) - clock.now(), 30 * DAY, "for the role's longest eligibility");
    const live = (await s.call('GET', '/api/v1/assignments?principal=dana&live=true', ADMIN_TOKEN)).body.items as any[];
    assert.equal(live.length, 0);
    const old = (await s.call('GET', `/api/v1/assignments/${direct.body.id}`, ADMIN_TOKEN)).body;
    assert.equal(old.status, 'revoked');
  });

  it('makes someone eligible and removes an eligibility from the Access tab', async () => {
    const elig = admin.getByRole('region', { name: /Eligibilities/ });
    await elig.getByRole('button', { name: 'Make eligible' }).click();
    const form = admin.getByRole('form', { name: 'Make someone eligible' });
    await form.getByLabel('Principal').fill(LONG_GROUP);
    await form.getByLabel('Role').selectOption('app-reader');
    await form.getByLabel('Scope').fill('/prod/payments/ledger');
    await form.getByLabel('Justification').fill('ledger on-call');
    await form.getByRole('button', { name: 'Make eligible' }).click();
    await status(admin, /is now eligible for App reader at \/prod\/payments\/ledger/);
    const row = elig.getByRole('row', { name: /App reader.*\/dev\/sandbox/ });
    await row.getByRole('button', { name: /^Remove / }).click();
    await row.getByRole('button', { name: /^Confirm removing / }).click();
    await status(admin, /Removed: .* no longer eligible for App reader at \/dev\/sandbox/);
    const left = (await s.call('GET', '/api/v1/eligibilities?principal=carol', ADMIN_TOKEN)).body.items as any[];
    assert.deepEqual(left.map((x) => x.scope), ['/prod']);
  });

  it('the scope tree counts what is granted at each scope and below', async () => {
    await s.call('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'svc-backup', roleId: 'payments-operator', scope: '/prod', endsAt: null, justification: 'backup job' });
    await tab('Scopes').click();
    const tree = admin.getByRole('list', { name: 'Scopes' });
    await tree.getByRole('button', { name: 'Expand /', exact: true }).or(tree.getByRole('button', { name: 'Collapse /', exact: true })).first().waitFor();
    await waitText(tree, /\/prod/);
    await tree.getByRole('button', { name: 'Expand /prod', exact: true }).click();
    await tree.getByRole('button', { name: 'Expand /prod/payments', exact: true }).click();
    await tree.getByRole('button', { name: '/prod/payments/ledger' }).waitFor();
    const row = (scope: string) => tree.locator('.tree-row', { has: admin.getByRole('button', { name: scope, exact: true }) });
    await waitText(row('/prod'), /1 eligibility\s*1 standing\s*4 here and below/);
    await waitText(row('/'), /1 standing\s*5 here and below/);
    await waitText(row('/prod/payments/ledger'), /1 eligibility$/);
    await tree.getByRole('button', { name: '/prod', exact: true }).click();
    await waitText(admin.getByRole('region', { name: 'At /prod' }), /Standing.*svc-backup holds Payments operator/);
    // Keyboard: the toggles are buttons with a state.
    const toggle = tree.getByRole('button', { name: 'Collapse /prod/payments', exact: true });
    await toggle.focus();
    await admin.keyboard.press('Enter');
    await tree.getByRole('button', { name: 'Expand /prod/payments', exact: true }).waitFor();
    assert.equal(await tree.getByRole('button', { name: '/prod/payments/ledger' }).count(), 0);
    await admin.getByRole('button', { name: 'Collapse all' }).click();
    assert.equal(await tree.getByRole('button', { name: '/prod/payments', exact: true }).count(), 0);
    await admin.getByRole('button', { name: 'Expand all' }).click();
    await tree.getByRole('button', { name: '/prod/payments/ledger', exact: true }).waitFor();
    await shot(admin, 'scopes');
  });

  it('reads on a narrow screen without sideways scrolling', async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    for (const t of ['Principals', 'Roles', 'Access', 'Scopes']) {
      await tab(t).click();
      await admin.getByRole('tabpanel').getByRole('heading', { level: 2 }).first().waitFor();
      await admin.waitForTimeout(300);
      assert.ok((await horizontalOverflow(admin)) <= 0, `${t}: no horizontal scrolling on a narrow screen (overflow ${await horizontalOverflow(admin)}px)`);
      await shot(admin, `${t.toLowerCase()}-narrow`);
    }
    await tab('Roles').click();
    await admin.getByRole('button', { name: 'New role' }).click();
    await admin.getByRole('form', { name: 'New role' }).getByLabel('Settings (JSON)').waitFor();
    await waitText(admin.getByRole('form', { name: 'New role' }).locator('[aria-live]').first(), /server accepts/);
    assert.ok((await horizontalOverflow(admin)) <= 0, 'the role editor fits');
    await shot(admin, 'role-editor-narrow');
    await admin.setViewportSize({ width: 1100, height: 800 });
  });

  it('someone who is not an admin never sees Administration, and the admin API refuses them', async () => {
    await signIn(carol, s.base, 'carol', CAROL_PW);
    await carol.getByRole('navigation').getByRole('link', { name: 'My requests' }).waitFor();
    await carol.waitForTimeout(500); // the admin question has been answered by now
    assert.equal(await carol.getByRole('navigation').getByRole('link', { name: 'Administration' }).count(), 0);
    for (const [m, p, b] of [
      ['GET', '/api/v1/principals?limit=1'],
      ['POST', '/api/v1/principals', { id: 'mallory', kind: 'user' }],
      ['POST', '/api/v1/roles/validate', { riskTier: 'low', settings: {} }],
      ['POST', '/api/v1/assignments/anything/convert-to-eligible'],
      ['PUT', `/api/v1/groups/${LONG_GROUP}/members`, { members: ['carol'] }],
    ] as const) {
      const r = await api(carol, m, p, b);
      assert.equal(r.status, 403, `${m} ${p}: ${JSON.stringify(r.body)}`);
    }
    await carol.goto(`${s.base}/admin`);
    await carol.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
    await waitText(carol.getByRole('main'), /Administration is for holders of the elevate-admin role/);
    assert.equal(await carol.getByRole('tab').count(), 0);
    await shot(carol, 'not-admin');
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
