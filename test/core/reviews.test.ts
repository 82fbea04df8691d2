import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Invalid } from '../../src/core/errors.js';
import {
  DAY_MS,
  emailKey,
  finalDecision,
  isStanding,
  nextOccurrence,
  nextStart,
  normalizeCampaign,
  recommend,
  resolveReviewers,
  reviewWindowEnd,
  selectCandidates,
  type Candidate,
  type Recurrence,
  type ReviewerKind,
  type UsageFacts,
} from '../../src/core/reviews.js';
import { covers } from '../../src/core/scope.js';
import { normalizeSettings } from '../../src/core/settings.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const base: UsageFacts = {
  kind: 'eligibility', standing: false, principalKind: 'user', since: NOW - 100 * DAY_MS, lastActivationAt: NOW - 2 * DAY_MS, lastSignInAt: NOW - DAY_MS,
  principalCreatedAt: NOW - 400 * DAY_MS, now: NOW, unusedDays: 30, inactiveDays: 30,
};

describe('recommendations', () => {
  const table: { name: string; facts: Partial<UsageFacts>; decision: 'approve' | 'deny'; reasons: string[] }[] = [
    { name: 'used recently, signed in recently', facts: {}, decision: 'approve', reasons: ['recently_used'] },
    { name: 'last activation 31 days ago', facts: { lastActivationAt: NOW - 31 * DAY_MS }, decision: 'deny', reasons: ['unused_eligibility'] },
    { name: 'last activation 29 days ago', facts: { lastActivationAt: NOW - 29 * DAY_MS }, decision: 'approve', reasons: ['recently_used'] },
    { name: 'exactly at the threshold counts as unused', facts: { lastActivationAt: NOW - 30 * DAY_MS }, decision: 'deny', reasons: ['unused_eligibility'] },
    { name: 'never activated, granted long ago', facts: { lastActivationAt: null }, decision: 'deny', reasons: ['unused_eligibility'] },
    { name: 'never activated, granted 5 days ago (grace)', facts: { lastActivationAt: null, since: NOW - 5 * DAY_MS }, decision: 'approve', reasons: ['recently_granted'] },
    { name: 'starts in the future', facts: { lastActivationAt: null, since: NOW + 5 * DAY_MS }, decision: 'approve', reasons: ['recently_granted'] },
    { name: 'not signed in for 45 days', facts: { lastSignInAt: NOW - 45 * DAY_MS }, decision: 'deny', reasons: ['inactive_account'] },
    { name: 'never seen, created long ago', facts: { lastSignInAt: null }, decision: 'deny', reasons: ['inactive_account'] },
    { name: 'never seen, created yesterday', facts: { lastSignInAt: null, principalCreatedAt: NOW - DAY_MS }, decision: 'approve', reasons: ['recently_used'] },
    { name: 'both unused and inactive', facts: { lastActivationAt: null, lastSignInAt: null }, decision: 'deny', reasons: ['unused_eligibility', 'inactive_account'] },
    { name: 'a group does not sign in', facts: { principalKind: 'group', lastSignInAt: null }, decision: 'approve', reasons: ['recently_used'] },
    { name: 'a service does not sign in', facts: { principalKind: 'service', lastSignInAt: null }, decision: 'approve', reasons: ['recently_used'] },
    { name: 'custom thresholds', facts: { lastActivationAt: NOW - 10 * DAY_MS, unusedDays: 7 }, decision: 'deny', reasons: ['unused_eligibility'] },
    { name: 'standing direct assignment', facts: { kind: 'assignment', standing: true }, decision: 'deny', reasons: ['standing_access'] },
    { name: 'standing and inactive', facts: { kind: 'assignment', standing: true, lastSignInAt: null }, decision: 'deny', reasons: ['standing_access', 'inactive_account'] },
    { name: 'time-bound assignment, never activated (not an eligibility)', facts: { kind: 'assignment', lastActivationAt: null }, decision: 'approve', reasons: ['time_bound'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const r = recommend({ ...base, ...t.facts });
      assert.equal(r.decision, t.decision);
      assert.deepEqual(r.reasons, t.reasons);
      assert.match(r.message, t.decision === 'deny' ? /^Remove: / : /^Keep: /);
    });
  }

  it('explains in plain words with the numbers', () => {
    const r = recommend({ ...base, lastActivationAt: NOW - 45 * DAY_MS });
    assert.match(r.message, /last activated 45 days ago \(threshold 30 days\)/);
    assert.match(recommend({ ...base, kind: 'assignment', standing: true }).message, /eligible/);
    assert.match(recommend({ ...base, lastSignInAt: NOW - 45 * DAY_MS }).message, /last seen 45 days ago: sign-in, session, API token use or activation/);
    assert.match(recommend({ ...base, lastSignInAt: null }).message, /never been used: no sign-in, session, API token use or activation/);
  });

  it('property: deny exactly when some reason applies; raising a threshold never turns a keep into a remove', () => {
    const facts = fc.record({
      kind: fc.constantFrom('eligibility' as const, 'assignment' as const),
      standing: fc.boolean(),
      principalKind: fc.constantFrom('user' as const, 'group' as const, 'service' as const),
      since: fc.integer({ min: -500, max: 10 }),
      lastActivationAt: fc.option(fc.integer({ min: -500, max: 0 })),
      lastSignInAt: fc.option(fc.integer({ min: -500, max: 0 })),
      principalCreatedAt: fc.integer({ min: -800, max: 0 }),
      unusedDays: fc.integer({ min: 1, max: 400 }),
      inactiveDays: fc.integer({ min: 1, max: 400 }),
      bump: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(facts, (f) => {
        const d = (n: number) => NOW + n * DAY_MS;
        const u: UsageFacts = {
          kind: f.kind, standing: f.kind === 'assignment' && f.standing, principalKind: f.principalKind, since: d(f.since),
          lastActivationAt: f.lastActivationAt === null ? null : d(f.lastActivationAt), lastSignInAt: f.lastSignInAt === null ? null : d(f.lastSignInAt),
          principalCreatedAt: d(f.principalCreatedAt), now: NOW, unusedDays: f.unusedDays, inactiveDays: f.inactiveDays,
        };
        const r = recommend(u);
        const denyReasons = r.reasons.filter((x) => ['standing_access', 'unused_eligibility', 'inactive_account'].includes(x));
        assert.equal(r.decision === 'deny', denyReasons.length > 0);
        assert.equal(r.reasons.includes('standing_access'), u.standing);
        if (u.kind === 'assignment') assert.ok(!r.reasons.includes('unused_eligibility'));
        if (u.principalKind !== 'user') assert.ok(!r.reasons.includes('inactive_account'));
        if (r.decision === 'approve') {
          const looser = recommend({ ...u, unusedDays: u.unusedDays + f.bump, inactiveDays: u.inactiveDays + f.bump });
          assert.equal(looser.decision, 'approve');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('reviewer resolution', () => {
  const facts = { holders: ['alice'], managers: ['bob'], roleOwners: ['olga', 'alice'], named: ['rita', 'alice'], fallback: ['fred'], creator: 'admin' };
  it('manager, role owners, named reviewers; the holder is taken out', () => {
    assert.deepEqual(resolveReviewers('manager', facts), { reviewers: ['bob'], via: 'manager' });
    assert.deepEqual(resolveReviewers('role_owners', facts), { reviewers: ['olga'], via: 'role_owners' });
    assert.deepEqual(resolveReviewers('principals', facts), { reviewers: ['rita'], via: 'principals' });
  });
  it('self-review: the holders review, only then', () => {
    assert.deepEqual(resolveReviewers('self', facts), { reviewers: ['alice'], via: 'self' });
    assert.deepEqual(resolveReviewers('self', { ...facts, holders: ['m2', 'm1'] }), { reviewers: ['m1', 'm2'], via: 'self' });
  });
  it('no manager: the fallback reviewers, then the campaign creator, then nobody', () => {
    assert.deepEqual(resolveReviewers('manager', { ...facts, managers: [] }), { reviewers: ['fred'], via: 'fallback' });
    assert.deepEqual(resolveReviewers('manager', { ...facts, managers: [], fallback: [] }), { reviewers: ['admin'], via: 'creator' });
    assert.deepEqual(resolveReviewers('manager', { ...facts, managers: ['alice'], fallback: ['alice'] }), { reviewers: ['admin'], via: 'creator' });
    assert.deepEqual(resolveReviewers('manager', { ...facts, holders: ['admin'], managers: [], fallback: [] }), { reviewers: [], via: 'none' });
  });
  it('a group-held item is never reviewed by a member of the group', () => {
    const r = resolveReviewers('role_owners', { ...facts, holders: ['olga', 'alice'] });
    assert.deepEqual(r, { reviewers: ['fred'], via: 'fallback' });
  });

  it("an alias (another principal with a holder's email) is the same person: never a reviewer, except that a self-review stays the holders'", () => {
    assert.deepEqual(resolveReviewers('manager', { ...facts, aliases: ['bob'] }), { reviewers: ['fred'], via: 'fallback' });
    assert.deepEqual(resolveReviewers('principals', { ...facts, named: ['rita', 'alice-admin'], aliases: ['alice-admin'] }), { reviewers: ['rita'], via: 'principals' });
    assert.deepEqual(resolveReviewers('manager', { ...facts, managers: [], fallback: ['fred'], aliases: ['fred', 'admin'] }), { reviewers: [], via: 'none' });
    assert.deepEqual(resolveReviewers('self', { ...facts, aliases: ['alice-admin'] }), { reviewers: ['alice'], via: 'self' });
  });
  it('emails compare as the directory stores them: NFKC, trimmed, lower-cased; none never matches', () => {
    assert.equal(emailKey(' Alice@Corp.Example '), 'alice@corp.example');
    assert.equal(emailKey('ａlice@corp.example'), 'alice@corp.example');
    assert.equal(emailKey(null), null);
    assert.equal(emailKey(''), null);
    assert.equal(emailKey('  '), null);
  });

  it('property: nobody ever reviews access they hold (or an alias of theirs), except in self-review; the list is sorted and distinct', () => {
    const ids = fc.array(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'admin'), { maxLength: 5 });
    fc.assert(
      fc.property(fc.constantFrom<ReviewerKind>('manager', 'role_owners', 'principals', 'self'), ids, ids, ids, ids, ids, ids, fc.constantFrom<string>('a', 'admin'), (kind, holders, aliases, managers, roleOwners, named, fallback, creator) => {
        const r = resolveReviewers(kind, { holders, aliases, managers, roleOwners, named, fallback, creator });
        assert.deepEqual(r.reviewers, [...new Set(r.reviewers)].sort());
        if (kind === 'self') assert.deepEqual(r.reviewers, [...new Set(holders)].sort());
        else {
          for (const x of r.reviewers) assert.ok(!holders.includes(x) && !aliases.includes(x), `${x} reviews their own access`);
          // Somebody reviews unless every candidate, creator included, is a holder or an alias.
          if (r.reviewers.length === 0) assert.ok(holders.includes(creator) || aliases.includes(creator));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('what a campaign covers', () => {
  const c = (x: Partial<Candidate> & { id: string }): Candidate => ({ kind: 'eligibility', principalId: 'p', principalKind: 'user', roleId: 'r', scope: '/', source: null, startsAt: 0, endsAt: null, ...x });
  const all = { roles: [], scopes: [], principalKinds: [], standingOnly: false, include: ['eligibilities', 'assignments'] as ('eligibilities' | 'assignments')[] };
  const cands = [
    c({ id: 'e1', principalId: 'zed', scope: '/prod/payments' }),
    c({ id: 'a1', kind: 'assignment', source: 'activation', endsAt: 5, principalId: 'amy', scope: '/prod' }),
    c({ id: 'a2', kind: 'assignment', source: 'direct', endsAt: null, principalId: 'zed', scope: '/dev' }),
    c({ id: 'a3', kind: 'assignment', source: 'direct', endsAt: 9, principalId: 'amy', roleId: 'db', scope: '/prodx' }),
    c({ id: 'e2', principalId: 'ops', principalKind: 'group', roleId: 'db', scope: '/prod' }),
  ];
  it('standing access first, then by principal, role, scope', () => {
    assert.deepEqual(selectCandidates(cands, all).map((x) => x.id), ['a2', 'a3', 'a1', 'e2', 'e1']);
  });
  it('filters: standing only, scope subtree, roles, kinds, include', () => {
    assert.deepEqual(selectCandidates(cands, { ...all, standingOnly: true }).map((x) => x.id), ['a2']);
    assert.deepEqual(selectCandidates(cands, { ...all, scopes: ['/prod'] }).map((x) => x.id), ['a1', 'e2', 'e1']);
    assert.deepEqual(selectCandidates(cands, { ...all, roles: ['db'] }).map((x) => x.id), ['a3', 'e2']);
    assert.deepEqual(selectCandidates(cands, { ...all, principalKinds: ['group'] }).map((x) => x.id), ['e2']);
    assert.deepEqual(selectCandidates(cands, { ...all, include: ['eligibilities'] }).map((x) => x.id), ['e2', 'e1']);
  });
  it('property: every standing item comes before every other, and every pick matches the filter', () => {
    const cand = fc.record({
      id: fc.uuid(), kind: fc.constantFrom('eligibility' as const, 'assignment' as const), principalId: fc.constantFrom('a', 'b', 'c'),
      principalKind: fc.constantFrom('user' as const, 'group' as const), roleId: fc.constantFrom('r1', 'r2'), scope: fc.constantFrom('/', '/prod', '/prod/x', '/dev'),
      source: fc.constantFrom('direct' as const, 'activation' as const), startsAt: fc.constant(0), endsAt: fc.option(fc.constant(100)),
    });
    fc.assert(
      fc.property(fc.array(cand, { maxLength: 30 }), fc.subarray(['/prod', '/dev']), fc.boolean(), (raw, scopes, standingOnly) => {
        const cs = raw.map((x) => ({ ...x, source: x.kind === 'eligibility' ? null : x.source }));
        const out = selectCandidates(cs, { ...all, scopes, standingOnly });
        const firstOther = out.findIndex((x) => !isStanding(x));
        if (firstOther >= 0) assert.ok(out.slice(firstOther).every((x) => !isStanding(x)));
        for (const x of out) {
          if (standingOnly) assert.ok(isStanding(x));
          if (scopes.length) assert.ok(scopes.some((s) => covers(s, x.scope)));
        }
        assert.equal(out.length, cs.filter((x) => (!standingOnly || isStanding(x)) && (scopes.length === 0 || scopes.some((s) => covers(s, x.scope)))).length);
      }),
    );
  });
});

describe('the end of a campaign', () => {
  const deny = { decision: 'deny' as const };
  const keep = { decision: 'approve' as const };
  it("a reviewer's decision wins over the default", () => {
    assert.deepEqual(finalDecision('approve', deny, 'remove'), { decision: 'approve', byDefault: false });
    assert.deepEqual(finalDecision('deny', keep, 'keep'), { decision: 'deny', byDefault: false });
  });
  it('undecided items: remove, keep, or follow the recommendation', () => {
    assert.deepEqual(finalDecision(null, keep, 'remove'), { decision: 'deny', byDefault: true });
    assert.deepEqual(finalDecision(null, deny, 'keep'), { decision: 'approve', byDefault: true });
    assert.deepEqual(finalDecision(null, deny, 'recommendation'), { decision: 'deny', byDefault: true });
    assert.deepEqual(finalDecision(null, keep, 'recommendation'), { decision: 'approve', byDefault: true });
  });

  it('next occurrence: calendar periods in UTC, the day clamped to the month', () => {
    const t = (s: string) => Date.parse(s);
    assert.equal(nextStart(t('2026-03-02T09:00:00Z'), 'weekly'), t('2026-03-09T09:00:00Z'));
    assert.equal(nextStart(t('2026-03-02T09:00:00Z'), 'monthly'), t('2026-04-02T09:00:00Z'));
    assert.equal(nextStart(t('2026-01-31T09:00:00Z'), 'monthly'), t('2026-02-28T09:00:00Z'));
    assert.equal(nextStart(t('2028-01-31T09:00:00Z'), 'monthly'), t('2028-02-29T09:00:00Z'));
    assert.equal(nextStart(t('2026-11-15T00:00:00Z'), 'quarterly'), t('2027-02-15T00:00:00Z'));
    assert.equal(nextStart(t('2026-08-31T10:30:00Z'), 'semiannual'), t('2027-02-28T10:30:00Z'));
    assert.equal(nextStart(t('2028-02-29T00:00:00Z'), 'yearly'), t('2029-02-28T00:00:00Z'));
  });
  it('property: the next start is later by about one period, at the same time of day', () => {
    const approx: Record<Recurrence, [number, number]> = { weekly: [7, 7], monthly: [28, 31], quarterly: [89, 92], semiannual: [181, 184], yearly: [365, 366] };
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom<Recurrence>('weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'), (start, r) => {
        const next = nextStart(start, r);
        const gap = (next - start) / DAY_MS;
        assert.ok(gap >= approx[r][0] && gap <= approx[r][1], `${r}: ${gap} days`);
        assert.equal(next % DAY_MS, start % DAY_MS);
        const [a, b] = [new Date(start), new Date(next)];
        if (r !== 'weekly' && a.getUTCDate() <= 28) assert.equal(b.getUTCDate(), a.getUTCDate());
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the next occurrence after the jobs stopped', () => {
  const t = (s: string) => Date.parse(s);
  it('on time: one period later', () => {
    assert.deepEqual(nextOccurrence(t('2026-03-02T09:00:00Z'), 'weekly', 3, t('2026-03-05T09:00:00Z')), { startsAt: t('2026-03-09T09:00:00Z'), skipped: 0 });
    // Not yet over (it ends after now): kept, though it starts in the past.
    assert.deepEqual(nextOccurrence(t('2026-03-02T09:00:00Z'), 'weekly', 3, t('2026-03-12T08:59:59Z')), { startsAt: t('2026-03-09T09:00:00Z'), skipped: 0 });
  });
  it('occurrences whose window is already over are skipped', () => {
    assert.deepEqual(nextOccurrence(t('2026-03-02T09:00:00Z'), 'weekly', 3, t('2026-03-12T09:00:00Z')), { startsAt: t('2026-03-16T09:00:00Z'), skipped: 1 });
    assert.deepEqual(nextOccurrence(t('2026-03-02T09:00:00Z'), 'weekly', 3, t('2026-03-22T09:00:00Z')), { startsAt: t('2026-03-23T09:00:00Z'), skipped: 2 });
    assert.deepEqual(nextOccurrence(t('2026-01-15T00:00:00Z'), 'monthly', 10, t('2026-04-20T00:00:00Z')), { startsAt: t('2026-04-15T00:00:00Z'), skipped: 2 });
  });
  it('property: the next window is never over at creation, is a start of the series, and no later window that is not over was skipped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }), fc.constantFrom<Recurrence>('weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'),
        fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 800 * DAY_MS }),
        (start, r, durationDays, late) => {
          const now = start + late;
          const out = nextOccurrence(start, r, durationDays, now);
          assert.ok(out.startsAt + durationDays * DAY_MS > now);
          let s = nextStart(start, r);
          for (let i = 0; i < out.skipped; i++) {
            assert.ok(s + durationDays * DAY_MS <= now, 'only windows already over are skipped');
            s = nextStart(s, r);
          }
          assert.equal(s, out.startsAt);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('reviewers get the full duration from a late start; an on-time start keeps its end', () => {
    const start = t('2026-03-09T09:00:00Z');
    assert.equal(reviewWindowEnd(start + 3 * DAY_MS, 3, start), start + 3 * DAY_MS);
    assert.equal(reviewWindowEnd(start + 3 * DAY_MS, 3, start + DAY_MS), start + 4 * DAY_MS);
    assert.equal(reviewWindowEnd(start + 3 * DAY_MS, 3, start + 10 * DAY_MS), start + 13 * DAY_MS);
  });
});

describe('campaign definitions', () => {
  const ok = { name: ' Quarterly prod ', reviewers: { kind: 'manager' }, durationDays: 14, defaultDecision: 'recommendation' };
  it('fills in defaults', () => {
    const c = normalizeCampaign(ok);
    assert.equal(c.name, 'Quarterly prod');
    assert.deepEqual(c.filter, { roles: [], scopes: [], principalKinds: [], standingOnly: false, include: ['eligibilities', 'assignments'] });
    assert.deepEqual(c.recommend, { unusedDays: 30, inactiveDays: 30 });
    assert.equal(c.autoApply, true);
    assert.equal(c.reminderDays, 3);
    assert.equal(c.recurrence, null);
    assert.equal(normalizeCampaign({ ...ok, durationDays: 2 }).reminderDays, null);
  });
  const bad: [string, Record<string, unknown>, string][] = [
    ['no name', { ...ok, name: '  ' }, 'name'],
    ['duration too long', { ...ok, durationDays: 181 }, 'durationDays'],
    ['duration missing', { ...ok, durationDays: undefined }, 'durationDays'],
    ['unknown reviewer kind', { ...ok, reviewers: { kind: 'boss' } }, 'reviewers.kind'],
    ['principals without names', { ...ok, reviewers: { kind: 'principals' } }, 'reviewers.principals'],
    ['names on a manager campaign', { ...ok, reviewers: { kind: 'manager', principals: ['x'] } }, 'reviewers.principals'],
    ['weekly lasting 8 days', { ...ok, durationDays: 8, recurrence: 'weekly' }, 'durationDays'],
    ['unknown recurrence', { ...ok, recurrence: 'daily' }, 'recurrence'],
    ['unknown default', { ...ok, defaultDecision: 'maybe' }, 'defaultDecision'],
    ['reminder after the end', { ...ok, reminderDays: 14 }, 'reminderDays'],
    ['standing only without assignments', { ...ok, filter: { standingOnly: true, include: ['eligibilities'] } }, 'filter.standingOnly'],
    ['bad principal kind', { ...ok, filter: { principalKinds: ['robot'] } }, 'filter.principalKinds[0]'],
  ];
  for (const [name, input, field] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => normalizeCampaign(input), (e: unknown) => e instanceof Invalid && e.code === 'invalid_review' && e.details.field === field);
    });
  }
  it('refuses a malformed scope', () => {
    assert.throws(() => normalizeCampaign({ ...ok, filter: { scopes: ['/prod/'] } }), (e: unknown) => e instanceof Invalid && e.code === 'invalid_scope');
  });
});

describe('role owners in role settings', () => {
  it('default to none, are normalized and de-duplicated, and are validated like the other settings', () => {
    assert.deepEqual(normalizeSettings({}, 'low', 60_000).owners, []);
    assert.deepEqual(normalizeSettings({ owners: ['Olga', 'olga', 'db-owners'] }, 'low', 60_000).owners, ['olga', 'db-owners']);
    for (const [owners, field] of [['olga', 'settings.owners'], [[1], 'settings.owners[0]'], [['bad id!'], 'settings.owners[0]'], [Array(51).fill('x'), 'settings.owners']] as const) {
      assert.throws(() => normalizeSettings({ owners }, 'low', 60_000), (e: unknown) => e instanceof Invalid && e.code === 'invalid_settings' && e.details.field === field);
    }
  });
});
