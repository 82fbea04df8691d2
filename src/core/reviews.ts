import { Invalid } from './errors.js';
import { ID_PATTERN, normalizeId } from './ids.js';
import type { AssignmentSource, PrincipalKind } from './model.js';
import { covers, parseScope } from './scope.js';

/**
 * Access reviews, decided here and acted on in app/reviews.ts: what a campaign covers, who reviews
 * each item, what Elevate recommends, what happens to an item nobody decided, and when the next
 * campaign of a series starts. Pure: time is always passed in.
 */

export const DAY_MS = 86_400_000;

export type ReviewerKind = 'manager' | 'role_owners' | 'principals' | 'self';
export type Recurrence = 'weekly' | 'monthly' | 'quarterly' | 'semiannual' | 'yearly';
export type DefaultDecision = 'remove' | 'keep' | 'recommendation';
export type ReviewDecision = 'approve' | 'deny';
export type ReviewInclude = 'eligibilities' | 'assignments';

export const RECURRENCES: readonly Recurrence[] = ['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'];
export const REVIEWER_KINDS: readonly ReviewerKind[] = ['manager', 'role_owners', 'principals', 'self'];
export const DEFAULT_DECISIONS: readonly DefaultDecision[] = ['remove', 'keep', 'recommendation'];
const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'group', 'service'];
const INCLUDES: readonly ReviewInclude[] = ['eligibilities', 'assignments'];

export interface ReviewFilter {
  /** Role ids; empty = every role. */
  roles: string[];
  /** Scopes whose subtree is covered; empty = everywhere. */
  scopes: string[];
  /** Empty = every kind. */
  principalKinds: PrincipalKind[];
  /** Only standing access: direct assignments that never end. */
  standingOnly: boolean;
  include: ReviewInclude[];
}

export interface ReviewerSpec {
  kind: ReviewerKind;
  /** `principals`: named reviewers. */
  principals: string[];
  /** `principals`: groups whose members review. */
  groups: string[];
  /** Who reviews an item the kind leaves without a reviewer (no manager, no owner, only the holder named). */
  fallback: string[];
}

export interface RecommendSettings {
  /** An eligibility with no activation for this many days is recommended for removal. */
  unusedDays: number;
  /** A user not seen (no sign-in, session, API token use or activation request) for this many days is recommended for removal. */
  inactiveDays: number;
}

/** A campaign's definition: what a recurrence copies. */
export interface CampaignSpec {
  name: string;
  filter: ReviewFilter;
  reviewers: ReviewerSpec;
  durationDays: number;
  recurrence: Recurrence | null;
  defaultDecision: DefaultDecision;
  recommend: RecommendSettings;
  autoApply: boolean;
  /** Days before the end at which reviewers with pending items are reminded; null = no reminder. */
  reminderDays: number | null;
}

function bad(field: string, message: string): never {
  throw new Invalid('invalid_review', `${field}: ${message}`, { field });
}

const int = (v: unknown, field: string, min: number, max: number, d: number): number => {
  if (v === undefined || v === null) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer from ${min} to ${max}`);
  return v;
};

function ids(v: unknown, field: string, max = 100): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > max) bad(field, `must be a list of at most ${max} ids`);
  const out: string[] = [];
  v.forEach((x, i) => {
    if (typeof x !== 'string') bad(`${field}[${i}]`, 'must be an id');
    const id = normalizeId(x);
    if (!ID_PATTERN.test(id)) bad(`${field}[${i}]`, 'is not a valid identifier');
    if (!out.includes(id)) out.push(id);
  });
  return out;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) bad(field, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Validate a campaign definition as a whole and fill in defaults. Throws Invalid (`invalid_review`) naming the field. */
export function normalizeCampaign(input: Record<string, unknown>): CampaignSpec {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > 200) bad('name', 'is required (1 to 200 characters)');

  const f = (input.filter ?? {}) as Record<string, unknown>;
  if (typeof f !== 'object' || Array.isArray(f)) bad('filter', 'must be an object');
  const scopesIn = f.scopes ?? [];
  if (!Array.isArray(scopesIn) || scopesIn.length > 100) bad('filter.scopes', 'must be a list of at most 100 scopes');
  const scopes = [...new Set((scopesIn as unknown[]).map((s, i) => parseScope(s, `filter.scopes[${i}]`)))];
  const kindsIn = f.principalKinds ?? [];
  if (!Array.isArray(kindsIn)) bad('filter.principalKinds', 'must be a list');
  const principalKinds = [...new Set((kindsIn as unknown[]).map((k, i) => oneOf(k, PRINCIPAL_KINDS, `filter.principalKinds[${i}]`)))];
  const includeIn = f.include ?? INCLUDES;
  if (!Array.isArray(includeIn) || includeIn.length === 0) bad('filter.include', 'must name eligibilities, assignments or both');
  const include = INCLUDES.filter((k) => (includeIn as unknown[]).map((x, i) => oneOf(x, INCLUDES, `filter.include[${i}]`)).includes(k));
  const standingOnly = f.standingOnly ?? false;
  if (typeof standingOnly !== 'boolean') bad('filter.standingOnly', 'must be a boolean');
  if (standingOnly && !include.includes('assignments')) bad('filter.standingOnly', 'standing access is direct assignments: include assignments');
  const filter: ReviewFilter = { roles: ids(f.roles, 'filter.roles'), scopes, principalKinds, standingOnly, include };

  const r = input.reviewers as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object' || Array.isArray(r)) bad('reviewers', 'is required: { kind: manager | role_owners | principals | self }');
  const reviewers: ReviewerSpec = {
    kind: oneOf(r.kind, REVIEWER_KINDS, 'reviewers.kind'),
    principals: ids(r.principals, 'reviewers.principals'),
    groups: ids(r.groups, 'reviewers.groups'),
    fallback: ids(r.fallback, 'reviewers.fallback'),
  };
  if (reviewers.kind === 'principals' && reviewers.principals.length + reviewers.groups.length === 0) bad('reviewers.principals', 'name at least one reviewer (principals or groups)');
  if (reviewers.kind !== 'principals' && reviewers.principals.length + reviewers.groups.length > 0) bad('reviewers.principals', `named reviewers only apply to kind "principals", not "${reviewers.kind}"`);

  const durationDays = int(input.durationDays, 'durationDays', 1, 180, NaN);
  if (Number.isNaN(durationDays)) bad('durationDays', 'is required (1 to 180)');
  const recurrence = input.recurrence === undefined || input.recurrence === null ? null : oneOf(input.recurrence, RECURRENCES, 'recurrence');
  if (recurrence !== null && durationDays * DAY_MS > minPeriodMs(recurrence)) bad('durationDays', `a ${recurrence} campaign must end before the next one starts`);
  const defaultDecision = oneOf(input.defaultDecision, DEFAULT_DECISIONS, 'defaultDecision');
  const rec = (input.recommend ?? {}) as Record<string, unknown>;
  if (typeof rec !== 'object' || Array.isArray(rec)) bad('recommend', 'must be an object');
  const recommend = { unusedDays: int(rec.unusedDays, 'recommend.unusedDays', 1, 3650, 30), inactiveDays: int(rec.inactiveDays, 'recommend.inactiveDays', 1, 3650, 30) };
  const autoApply = input.autoApply ?? true;
  if (typeof autoApply !== 'boolean') bad('autoApply', 'must be a boolean');
  let reminderDays: number | null;
  if (input.reminderDays === undefined) reminderDays = durationDays > 3 ? 3 : null;
  else if (input.reminderDays === null) reminderDays = null;
  else {
    reminderDays = int(input.reminderDays, 'reminderDays', 1, 179, 0);
    if (reminderDays >= durationDays) bad('reminderDays', `must be less than durationDays (${durationDays})`);
  }
  return { name, filter, reviewers, durationDays, recurrence, defaultDecision, recommend, autoApply, reminderDays };
}

// ------------------------------------------------------------------------ what a campaign covers

/** Access that exists now and could be reviewed. */
export interface Candidate {
  kind: 'eligibility' | 'assignment';
  id: string;
  principalId: string;
  principalKind: PrincipalKind;
  roleId: string;
  scope: string;
  /** Assignments: where it came from; eligibilities: null. */
  source: AssignmentSource | null;
  startsAt: number;
  endsAt: number | null;
}

/** Standing access: a direct assignment that never ends (the seeds' main pitfall). */
export const isStanding = (c: Pick<Candidate, 'kind' | 'source' | 'endsAt'>): boolean => c.kind === 'assignment' && c.source === 'direct' && c.endsAt === null;

/** The candidates a filter selects, standing access first, then by principal, role, scope. */
export function selectCandidates(cands: readonly Candidate[], f: ReviewFilter): Candidate[] {
  const picked = cands.filter(
    (c) =>
      f.include.includes(c.kind === 'eligibility' ? 'eligibilities' : 'assignments') &&
      (f.roles.length === 0 || f.roles.includes(c.roleId)) &&
      (f.scopes.length === 0 || f.scopes.some((s) => covers(s, c.scope))) &&
      (f.principalKinds.length === 0 || f.principalKinds.includes(c.principalKind)) &&
      (!f.standingOnly || isStanding(c)),
  );
  const key = (c: Candidate) => [isStanding(c) ? 0 : 1, c.principalId, c.roleId, c.scope, c.kind, c.id] as const;
  return picked.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return 0;
  });
}

// ------------------------------------------------------------------------------------ reviewers

export interface ReviewerFacts {
  /** Who holds the access: the principal itself, or every member of a group that holds it. */
  holders: readonly string[];
  /**
   * Other principals sharing a holder's email: the same person under another id (as approvals
   * treat them). Never reviewers, like the holders; a self-review is still only the holders'.
   */
  aliases?: readonly string[];
  /** The principal's manager(s), expanded to active people; empty when none. */
  managers: readonly string[];
  /** The role's owners, groups expanded. */
  roleOwners: readonly string[];
  /** `principals` campaigns: the named reviewers, groups expanded. */
  named: readonly string[];
  /** The campaign's fallback reviewers, groups expanded. */
  fallback: readonly string[];
  /** Who created the campaign: the last resort. */
  creator: string;
}

export interface ResolvedReviewers {
  reviewers: string[];
  /** Where they came from: the kind itself, `fallback`, `creator`, or `none` (only the default decision applies). */
  via: ReviewerKind | 'fallback' | 'creator' | 'none';
}

/**
 * Who reviews one item. Nobody reviews their own access unless the campaign is a self-review: the
 * holders (the principal, or every member of the group holding it) and their aliases (principals
 * with a holder's email) are removed. When that leaves nobody, the campaign's fallback reviewers
 * take the item, then its creator; when even the creator is a holder or alias, nobody reviews it
 * and the default decision applies at the end.
 */
export function resolveReviewers(kind: ReviewerKind, f: ReviewerFacts): ResolvedReviewers {
  const uniq = (xs: readonly string[]) => [...new Set(xs)].sort();
  if (kind === 'self') {
    const r = uniq(f.holders);
    return r.length ? { reviewers: r, via: 'self' } : { reviewers: [], via: 'none' };
  }
  const holders = new Set([...f.holders, ...(f.aliases ?? [])]);
  const notHolder = (xs: readonly string[]) => uniq(xs.filter((x) => !holders.has(x)));
  const primary = notHolder(kind === 'manager' ? f.managers : kind === 'role_owners' ? f.roleOwners : f.named);
  if (primary.length) return { reviewers: primary, via: kind };
  const fallback = notHolder(f.fallback);
  if (fallback.length) return { reviewers: fallback, via: 'fallback' };
  if (!holders.has(f.creator)) return { reviewers: [f.creator], via: 'creator' };
  return { reviewers: [], via: 'none' };
}

// ------------------------------------------------------------------------------ recommendations

export interface UsageFacts {
  kind: 'eligibility' | 'assignment';
  standing: boolean;
  principalKind: PrincipalKind;
  /** When the access started. */
  since: number;
  /** Latest activation of the role at a scope the eligibility covers, by the holder (or a member of the holding group). */
  lastActivationAt: number | null;
  /**
   * Users: when the account was last seen, whatever the way in: the latest successful sign-in,
   * browser session use, API token use (the CLI) or activation request. The name is the API's.
   */
  lastSignInAt: number | null;
  /** When the principal was created: a user never seen counts as inactive from then. */
  principalCreatedAt: number;
  now: number;
  unusedDays: number;
  inactiveDays: number;
}

export interface Recommendation {
  decision: ReviewDecision;
  reasons: string[];
  message: string;
}

const days = (ms: number) => Math.floor(ms / DAY_MS);

/**
 * What Elevate suggests the reviewer decide. Deny when the access is standing (a direct assignment
 * that never ends: convert it to an eligibility instead), when an eligibility has not been used
 * for `unusedDays` (counted from its start when never used), or when a user has not been seen (signed
 * in, used a session or an API token, requested an activation) for `inactiveDays` (counted from the
 * account's creation when never). Approve otherwise.
 */
export function recommend(u: UsageFacts): Recommendation {
  const reasons: string[] = [];
  const why: string[] = [];
  if (u.kind === 'assignment' && u.standing) {
    reasons.push('standing_access');
    why.push('this is standing access (a direct assignment that never ends): remove it and make the principal eligible to activate the role when needed');
  }
  if (u.kind === 'eligibility') {
    const from = u.lastActivationAt ?? u.since;
    if (from <= u.now && u.now - from >= u.unusedDays * DAY_MS) {
      reasons.push('unused_eligibility');
      why.push(
        u.lastActivationAt === null
          ? `never activated in the ${days(u.now - u.since)} days since it was granted (threshold ${u.unusedDays} days)`
          : `last activated ${days(u.now - u.lastActivationAt)} days ago (threshold ${u.unusedDays} days)`,
      );
    }
  }
  if (u.principalKind === 'user') {
    const from = u.lastSignInAt ?? u.principalCreatedAt;
    if (from <= u.now && u.now - from >= u.inactiveDays * DAY_MS) {
      reasons.push('inactive_account');
      why.push(
        u.lastSignInAt === null
          ? `the account has never been used: no sign-in, session, API token use or activation (created ${days(u.now - u.principalCreatedAt)} days ago; threshold ${u.inactiveDays} days)`
          : `the account was last seen ${days(u.now - u.lastSignInAt)} days ago: sign-in, session, API token use or activation (threshold ${u.inactiveDays} days)`,
      );
    }
  }
  if (reasons.length) return { decision: 'deny', reasons, message: `Remove: ${why.join('; ')}.` };
  if (u.kind === 'eligibility') {
    return u.lastActivationAt === null
      ? { decision: 'approve', reasons: ['recently_granted'], message: `Keep: granted ${days(u.now - u.since)} days ago, within the ${u.unusedDays}-day grace period, and the account is in use.` }
      : { decision: 'approve', reasons: ['recently_used'], message: `Keep: activated ${days(u.now - u.lastActivationAt)} days ago and the account is in use.` };
  }
  return { decision: 'approve', reasons: ['time_bound'], message: 'Keep: the grant ends by itself and the account is in use.' };
}

// ------------------------------------------------------------------------------ at the end

/** What an item comes to: the reviewer's decision, or the campaign's default when nobody decided. */
export function finalDecision(decision: ReviewDecision | null, rec: Pick<Recommendation, 'decision'>, dflt: DefaultDecision): { decision: ReviewDecision; byDefault: boolean } {
  if (decision !== null) return { decision, byDefault: false };
  const d = dflt === 'remove' ? 'deny' : dflt === 'keep' ? 'approve' : rec.decision;
  return { decision: d, byDefault: true };
}

const MONTHS: Record<Recurrence, number> = { weekly: 0, monthly: 1, quarterly: 3, semiannual: 6, yearly: 12 };

/** The shortest length of one period (months differ): a campaign must not outlast it. */
export function minPeriodMs(r: Recurrence): number {
  return r === 'weekly' ? 7 * DAY_MS : MONTHS[r] * 28 * DAY_MS;
}

/**
 * The key two emails are compared by: NFKC, trimmed, lower-cased (as the directory stores them);
 * null when there is none. Two principals with the same key are one person.
 */
export function emailKey(email: string | null | undefined): string | null {
  if (!email) return null;
  const k = email.normalize('NFKC').trim().toLowerCase();
  return k === '' ? null : k;
}

/**
 * When the next campaign of a series starts: the previous start plus one period, in UTC calendar
 * months (the day clamped to the month's last: 31 January + 1 month = 28 or 29 February).
 */
export function nextStart(startsAt: number, r: Recurrence): number {
  if (r === 'weekly') return startsAt + 7 * DAY_MS;
  const d = new Date(startsAt);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + MONTHS[r];
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/**
 * The next occurrence of a series whose last campaign started at `startsAt`, created at `now`: one
 * period later, and further periods while that occurrence's whole window would already be over
 * (the jobs stopped for longer than a period). A missed occurrence is skipped, never created past
 * its end, started and completed at once with the default applied and nobody given time to review.
 */
export function nextOccurrence(startsAt: number, r: Recurrence, durationDays: number, now: number): { startsAt: number; skipped: number } {
  let next = nextStart(startsAt, r);
  let skipped = 0;
  while (next + durationDays * DAY_MS <= now) {
    next = nextStart(next, r);
    skipped++;
  }
  return { startsAt: next, skipped };
}

/**
 * When a campaign starting at `now` ends: its scheduled end, or later so that reviewers always get
 * the full duration (a campaign started late, or whose window passed while the jobs were stopped).
 */
export function reviewWindowEnd(endsAt: number, durationDays: number, now: number): number {
  return Math.max(endsAt, now + durationDays * DAY_MS);
}
