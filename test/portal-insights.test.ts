import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { ADMIN_TOKEN, user } from './helpers/harness.js';
import { horizontalOverflow, PORTAL_SKIP, DESKTOP, openPages, shot, signIn, startPortalServer, waitText, type PortalServer } from './helpers/portal.js';

/**
 * The administrators' read-only pages in Chromium: the audit explorer (filters, paging, an event in
 * full, the chain's verification) and the dashboard (charts, with their figures as tables), over a
 * history made with the server's manual clock so every number is known. Screenshots land in
 * test-artifacts/portal/audit-*.png and dashboard-*.png.
 */
const ADMIN_PW = 'staple battery horse';
const ALICE_PW = 'correct horse battery';
const JUST = 'Investigating INC-1234 replication lag';

/** A table's body rows as arrays of cell texts. */
async function rows(table: Locator): Promise<string[][]> {
  return table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => (c.textContent ?? '').trim())));
}

describe('the audit explorer and the dashboard in Chromium', { skip: PORTAL_SKIP }, () => {
  let s: PortalServer;
  let browser: Browser;
  let admin: Page;
  let alicePage: Page;
  let keyId: string;
  const errors: string[] = [];

  before(async () => {
    // The clock starts at 2026-03-02T09:00Z (a Monday); the bootstrap admin's standing grant starts then.
    s = await startPortalServer({ server: { identity: { sessionIdleMs: 4 * 3_600_000 } } });
    const ok = async (method: 'POST' | 'PUT', url: string, token: string, body: unknown) => {
      const r = await s.call(method, url, token, body);
      assert.ok(r.status < 300, `${url}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const denied = async (token: string, body: Record<string, unknown>) => {
      const r = await s.call('POST', '/api/v1/requests', token, { scope: '/prod', duration: 'PT30M', justification: JUST, ...body });
      assert.equal(r.status, 403, JSON.stringify(r.body));
    };
    const activate = (token: string, body: Record<string, unknown>) => ok('POST', '/api/v1/requests', token, { scope: '/prod', duration: 'PT30M', justification: JUST, ...body });
    const at = (iso: string) => s.clock.advance(Date.parse(iso) - s.clock.now());

    const alice = await user(s, 'alice', { name: 'Alice Example' });
    const bob = await user(s, 'bob', { name: 'Bob Approver' });
    await user(s, 'carol');
    // Enough other history for the explorer to page.
    for (let i = 1; i <= 40; i++) await ok('POST', '/api/v1/principals', ADMIN_TOKEN, { id: `svc-${i}`, kind: 'service', name: `Batch job ${i}` });
    await ok('PUT', '/api/v1/principals/admin/local-account', ADMIN_TOKEN, { username: 'admin', password: ADMIN_PW });
    await ok('PUT', '/api/v1/principals/alice/local-account', ADMIN_TOKEN, { username: 'alice', password: ALICE_PW });
    for (const r of [
      { id: 'reader', name: 'Reader', riskTier: 'low', settings: { maxActivation: 'PT2H', activeAssignment: { allowPermanent: false, maxDuration: 'P1D' } } },
      { id: 'db-admin', name: 'Database admin', riskTier: 'high', settings: { maxActivation: 'PT4H', approval: { required: true, approvers: [{ principal: 'bob' }], timeout: 'PT24H' } } },
      { id: 'ticketed', name: 'Ticketed change', riskTier: 'medium', settings: { ticket: { required: true, pattern: '^INC-[0-9]+$' } } },
    ]) await ok('POST', '/api/v1/roles', ADMIN_TOKEN, r);
    for (const role of ['reader', 'db-admin', 'ticketed']) {
      await ok('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: role, scope: '/prod', endsAt: null, justification: 'on-call rota' });
    }
    // Day 1: two activations (one approved after 45 min), two denials.
    at('2026-03-02T10:00:00Z');
    await activate(alice, { roleId: 'reader', duration: 'PT1H' });
    at('2026-03-02T11:00:00Z');
    const r1 = await activate(alice, { roleId: 'db-admin' });
    at('2026-03-02T11:45:00Z');
    await ok('POST', `/api/v1/requests/${r1.id}/approve`, bob, { reason: 'on call' });
    at('2026-03-02T13:00:00Z');
    await denied(alice, { roleId: 'ticketed' });
    await denied(alice, { roleId: 'reader', justification: 'short' });
    // Day 2: two activations (one approved after 15 min), bob denies one, carol's standing access 12:00–18:00.
    at('2026-03-03T09:00:00Z');
    await activate(alice, { roleId: 'reader', duration: 'PT1H' });
    at('2026-03-03T10:00:00Z');
    const r2 = await activate(alice, { roleId: 'db-admin' });
    at('2026-03-03T12:00:00Z');
    await ok('POST', `/api/v1/requests/${r2.id}/deny`, bob, { reason: 'not during the freeze' });
    await ok('POST', '/api/v1/assignments', ADMIN_TOKEN, { principalId: 'carol', roleId: 'reader', scope: '/prod', endsAt: '2026-03-03T18:00:00Z', justification: 'migration weekend' });
    at('2026-03-03T13:00:00Z');
    const r3 = await activate(alice, { roleId: 'db-admin' });
    at('2026-03-03T13:15:00Z');
    await ok('POST', `/api/v1/requests/${r3.id}/approve`, bob, { reason: 'ok' });
    // Day 3: one activation approved after 2 hours, one denial with two reasons.
    at('2026-03-04T10:00:00Z');
    const r4 = await activate(alice, { roleId: 'db-admin' });
    at('2026-03-04T12:00:00Z');
    await ok('POST', `/api/v1/requests/${r4.id}/approve`, bob, { reason: 'ok' });
    at('2026-03-04T14:00:00Z');
    await denied(alice, { roleId: 'ticketed', justification: 'short', ticket: 'ABC' });
    at('2026-03-05T09:00:00Z');
    assert.ok(await s.uc.audit.checkpoint());
    keyId = (await s.call('GET', '/api/v1/audit/keys', null)).body.keys[0].keyId;

    // Dates and numbers are shown in the browser's locale: pin it.
    const place = { locale: 'en-US', timezoneId: 'UTC' };
    ({ browser, pages: { admin, alice: alicePage } } = await openPages({ admin: { ...place, viewport: { width: 1200, height: 900 } }, alice: { ...place, ...DESKTOP } }, errors));
  });

  after(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

  it('someone who is not an administrator gets no Audit or Dashboard link, and the server refuses the pages', async () => {
    const alice = alicePage;
    const asked = alice.waitForResponse((r) => r.url().includes('/api/v1/check?'));
    await signIn(alice, s.base, 'alice', ALICE_PW);
    await asked;
    await nav(alice).getByRole('link', { name: 'My requests' }).waitFor();
    assert.equal(await nav(alice).getByRole('link', { name: 'Audit' }).count(), 0);
    assert.equal(await nav(alice).getByRole('link', { name: 'Dashboard' }).count(), 0);
    await alice.goto(`${s.base}/dashboard`);
    await alice.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await waitText(alice.getByRole('alert'), /needs the elevate-admin role/);
  });

  it('the admin opens the audit explorer and sees the chain verified, with the last checkpoint', async () => {
    await signIn(admin, s.base, 'admin', ADMIN_PW);
    await nav(admin).getByRole('link', { name: 'Audit' }).click();
    await admin.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    const chain = admin.getByRole('region', { name: 'Chain verification' });
    const text = await waitText(chain, /Verified:/);
    assert.match(text, new RegExp(`Verified: \\d+ events, last checkpoint signed by key ${keyId} at .+ \\(event \\d+\\)`));
    const events = admin.getByRole('region', { name: 'Audit events' });
    await events.getByRole('row').nth(1).waitFor();
    assert.equal((await rows(events.getByRole('table'))).length, 50, 'a page of 50, oldest first');
    await admin.getByRole('button', { name: 'Load more' }).click();
    await waitText(admin.getByRole('status').filter({ hasText: 'oldest first' }), /^\d+\+? events/);
    assert.ok((await rows(events.getByRole('table'))).length > 50, 'the next page is added below');
    await shot(admin, 'audit-explorer');
  });

  it('filters by a person and a type, and opens an event in full', async () => {
    await admin.getByLabel('Person').fill('alice');
    await admin.getByLabel('Event type').fill('request.denied');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await waitText(admin.getByRole('status').filter({ hasText: 'oldest first' }), /^4 events matching principal alice, type request\.denied/);
    assert.match(admin.url(), /\/audit\?principal=alice&type=request\.denied$/);
    const table = admin.getByRole('region', { name: 'Audit events' }).getByRole('table');
    const found = await rows(table);
    assert.deepEqual(found.map((r) => [r[1], r[2], r[4], r[5], r[7]]), [
      ['request.denied', 'denied', 'alice', 'ticketed', 'ticket_required'],
      ['request.denied', 'denied', 'alice', 'reader', 'justification_too_weak'],
      ['request.denied', 'denied', 'alice', 'db-admin', 'approver_denied'],
      ['request.denied', 'denied', 'alice', 'ticketed', 'justification_too_weak, ticket_invalid'],
    ]);
    assert.equal(await admin.getByRole('button', { name: 'Load more' }).count(), 0, 'everything is shown');
    await shot(admin, 'audit-filtered');

    const row = table.getByRole('row').filter({ hasText: 'approver_denied' });
    await row.getByRole('button', { name: /^Details of event \d+$/ }).click();
    const d = admin.getByRole('dialog');
    await d.waitFor();
    const detail = await waitText(d, /request\.denied/);
    assert.match(detail, /Actor\s*bob/);
    assert.match(detail, /Person\s*alice/);
    assert.match(detail, /approver_denied/);
    const data = JSON.parse((await d.locator('pre').textContent()) ?? '');
    assert.equal(data.by, 'bob');
    assert.equal(data.auth.method, 'token');
    assert.match(detail, /Hash\s*[0-9a-f]{64}/);
    await shot(admin, 'audit-detail');
    await d.getByRole('button', { name: 'Close' }).click();
    await d.waitFor({ state: 'detached' });
  });

  it('the filtered view survives a reload and reads on a narrow screen', async () => {
    await admin.reload();
    await waitText(admin.getByRole('status').filter({ hasText: 'oldest first' }), /^4 events matching principal alice/);
    assert.equal(await admin.getByLabel('Person').inputValue(), 'alice');
    await admin.setViewportSize({ width: 360, height: 740 });
    await waitText(admin.getByRole('region', { name: 'Chain verification' }), /Verified:/);
    const overflow = await horizontalOverflow(admin);
    assert.ok(overflow <= 0, `no horizontal page scrolling on a narrow screen (overflow ${overflow}px)`);
    // One card per event, still a table with rows to assistive technology.
    const table = admin.getByRole('region', { name: 'Audit events' }).getByRole('table');
    assert.equal(await table.getByRole('row', { name: /^Event \d+: request\.denied$/ }).count(), 4);
    const wide = await table.evaluate((t) => t.scrollWidth - t.parentElement!.clientWidth);
    assert.ok(wide <= 0, `the events fit the screen (${wide}px too wide)`);
    await shot(admin, 'audit-narrow');
    await admin.setViewportSize({ width: 1200, height: 900 });
    await admin.getByRole('button', { name: 'Clear' }).click();
    await waitText(admin.getByRole('status').filter({ hasText: 'oldest first' }), /^50\+ events, oldest first/);
  });

  it('the dashboard shows the last 30 days by default, then the chosen period with the expected figures', async () => {
    await nav(admin).getByRole('link', { name: 'Dashboard' }).click();
    await admin.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    const status = admin.getByRole('status').filter({ hasText: 'as of' });
    await waitText(status, /^Feb 4 to Mar 5, as of /);
    assert.equal(await admin.getByLabel('From', { exact: true }).inputValue(), '2026-02-04');
    assert.equal(await admin.getByLabel('To', { exact: true }).inputValue(), '2026-03-05');
    await shot(admin, 'dashboard-default');

    await admin.getByLabel('From', { exact: true }).fill('2026-03-02');
    await admin.getByLabel('To', { exact: true }).fill('2026-03-04');
    await admin.getByRole('button', { name: 'Show' }).click();
    await waitText(status, /^Mar 2 to Mar 4, as of /);
    assert.match(admin.url(), /\/dashboard\?from=2026-03-02&to=2026-03-04$/);

    const tiles = await admin.locator('dl.tiles').innerText();
    assert.match(tiles, /Activations\s+5/);
    assert.match(tiles, /Approval time \(median\)\s+45 minutes\s+3 approved/);
    assert.match(tiles, /Denials\s+4/);
    assert.match(tiles, /Standing share\s+95%\s+of 72\.5 privileged hours/);

    const section = (name: string) => admin.getByRole('region', { name, exact: true });
    // Each chart is an image with a summary, and its figures are a table under it.
    const img = section('Activations per day').getByRole('img');
    assert.match((await img.locator('title').first().textContent()) ?? '', /5 in all, at most 2 on one day/);
    assert.equal(await img.locator('rect.c-activation').count(), 3, 'one column per day with activations');
    const table = async (name: string) => {
      const sec = section(name);
      await sec.getByText('Show the figures as a table').click();
      return rows(sec.getByRole('table'));
    };
    assert.deepEqual(await table('Activations per day'), [
      ['2026-03-02', '2', '0', '2'],
      ['2026-03-03', '2', '0', '1'],
      ['2026-03-04', '1', '0', '1'],
    ]);
    assert.deepEqual(await table('Approval latency'), [
      ['Approved requests', '3', ''],
      ['p50', '45 minutes', '45'],
      ['p90', '2 hours', '120'],
      ['Longest', '2 hours', '120'],
    ]);
    assert.deepEqual(await table('Denials by reason'), [
      ['justification_too_weak', '2'],
      ['approver_denied', '1'],
      ['ticket_invalid', '1'],
      ['ticket_required', '1'],
    ]);
    assert.deepEqual(await table('Top roles by activations'), [
      ['db-admin', '3'],
      ['reader', '2'],
    ]);
    assert.deepEqual(await table('Standing vs just-in-time access'), [
      ['2026-03-02', '1', '15', '2', '1.5', '0', '91%'],
      ['2026-03-03', '2', '30', '2', '1.5', '0', '95%'],
      ['2026-03-04', '1', '24', '1', '0.5', '0', '98%'],
    ]);
    await waitText(section('Top roles by activations').getByRole('list'), /Database admin\s*3\s*Reader\s*2/);
    await shot(admin, 'dashboard-period');
  });

  it('the dashboard reads on a narrow screen, with no script errors or CSP violations anywhere', async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    await admin.reload();
    await waitText(admin.getByRole('status').filter({ hasText: 'as of' }), /^Mar 2 to Mar 4/);
    await admin.getByRole('region', { name: 'Standing vs just-in-time access', exact: true }).getByRole('img').waitFor();
    const overflow = await horizontalOverflow(admin);
    assert.ok(overflow <= 0, `no horizontal page scrolling on a narrow screen (overflow ${overflow}px)`);
    await shot(admin, 'dashboard-narrow');
    assert.deepEqual(errors, [], 'no script errors or CSP violations');
  });
});
