import { stringify } from 'csv-stringify/sync';
import { Conflict, Invalid, NotFound } from '../core/errors.js';
import { ADMIN_ROLE, ROOT_SCOPE, type Principal, type Role } from '../core/model.js';
import {
  DAY_MS,
  emailKey,
  finalDecision,
  isStanding,
  nextOccurrence,
  normalizeCampaign,
  recommend,
  resolveReviewers,
  reviewWindowEnd,
  selectCandidates,
  type Candidate,
  type ReviewDecision,
} from '../core/reviews.js';
import { covers } from '../core/scope.js';
import { draft, writeAudit } from './audit-log.js';
import { deny, isAdmin, requireAdmin } from './authz.js';
import { systemActor, type Actor, type AppDeps } from './context.js';
import { endAssignment } from './grants.js';
import { removeEligibilityInTx } from './eligibilities.js';
import { assertAdminRemains, lockAdmins, membersInTx, subjectsInTx } from './holders.js';
import type { Tx } from './ports.js';
import type { ReviewCampaign, ReviewCounts, ReviewItem, ReviewOutcome } from './reviews-ports.js';
import { settingsOf } from './roles.js';

/**
 * Access reviews (issue 5 part 1), after Entra ID access reviews: a campaign snapshots the
 * eligibilities and live assignments its filter selects when it starts (standing access first),
 * resolves each item's reviewers then (nobody reviews their own access, nor through an alias
 * sharing their email, unless it is a self-review), and recommends from use (activations, and
 * when the account was last seen: sign-in, session, API token, activation request). At the end,
 * undecided items take the campaign's default and denied access is removed in one transaction
 * with its audit events: eligibilities the way eligibilities.remove does it, assignments revoked
 * through grants.endAssignment; the last standing elevate-admin is never removed (`lockout_protected`). A recurring campaign
 * schedules its next occurrence when it completes, skipping periods already over; reviewers always
 * get the full duration, counted from the start at the latest.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export interface CampaignView extends ReviewCampaign {
  counts: ReviewCounts;
}

export interface CampaignInput {
  name?: unknown;
  filter?: unknown;
  reviewers?: unknown;
  durationDays?: unknown;
  recurrence?: unknown;
  defaultDecision?: unknown;
  recommend?: unknown;
  autoApply?: unknown;
  reminderDays?: unknown;
  /** Epoch ms; null/undefined = now. */
  startAt?: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoN = (ms: number | null) => (ms === null ? null : iso(ms));
const EMPTY_COUNTS: ReviewCounts = { total: 0, decided: 0, approved: 0, denied: 0, pending: 0 };
/** A start this far in the past (client clocks) is read as now. */
const START_SLACK_MS = 5 * 60_000;

/** Wire form of a campaign (ISO times). */
export function presentCampaign(c: CampaignView) {
  return {
    id: c.id, name: c.name, status: c.status, filter: c.filter, reviewers: c.reviewers, durationDays: c.durationDays, recurrence: c.recurrence,
    defaultDecision: c.defaultDecision, recommend: c.recommend, autoApply: c.autoApply, reminderDays: c.reminderDays,
    startsAt: iso(c.startsAt), endsAt: iso(c.endsAt), completedAt: isoN(c.completedAt), createdBy: c.createdBy, createdAt: iso(c.createdAt),
    previousId: c.previousId, nextId: c.nextId, counts: c.counts,
  };
}

/** Wire form of an item (ISO times; the decision as one object). */
export function presentItem(i: ReviewItem) {
  return {
    id: i.id, campaignId: i.campaignId, subject: { kind: i.subjectKind, id: i.subjectId }, principalId: i.principalId, principalName: i.principalName,
    principalKind: i.principalKind, roleId: i.roleId, roleName: i.roleName, riskTier: i.riskTier, scope: i.scope, standing: i.standing,
    since: iso(i.since), endsAt: isoN(i.endsAt), lastActivationAt: isoN(i.lastActivationAt), lastSignInAt: isoN(i.lastSignInAt),
    recommendation: i.recommendation, reviewers: i.reviewers,
    decision: i.decision === null ? null : { decision: i.decision, reason: i.decisionReason ?? '', by: i.decidedBy ?? '', at: iso(i.decidedAt ?? 0) },
    finalDecision: i.finalDecision, byDefault: i.byDefault, outcome: i.outcome, outcomeReason: i.outcomeReason, appliedAt: isoN(i.appliedAt),
  };
}

/** A spreadsheet must not run what a principal named themselves: cells starting like a formula are quoted. */
const cell = (v: string | number | boolean | null): string => {
  if (v === null) return '';
  const s = String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
};

export const EXPORT_COLUMNS = [
  'campaign_id', 'campaign_name', 'item_id', 'subject_kind', 'subject_id', 'principal_id', 'principal_name', 'principal_kind', 'role_id', 'role_name',
  'risk_tier', 'scope', 'standing', 'since', 'ends_at', 'last_activation_at', 'last_sign_in_at', 'recommendation', 'recommendation_reasons',
  'recommendation_message', 'reviewers', 'decision', 'decision_reason', 'decided_by', 'decided_at', 'final_decision', 'by_default', 'outcome',
  'outcome_reason', 'applied_at',
] as const;

function toCsv(c: ReviewCampaign, items: ReviewItem[]): string {
  const rows = items.map((i) =>
    [
      c.id, c.name, i.id, i.subjectKind, i.subjectId, i.principalId, i.principalName, i.principalKind, i.roleId, i.roleName, i.riskTier, i.scope, i.standing,
      iso(i.since), isoN(i.endsAt), isoN(i.lastActivationAt), isoN(i.lastSignInAt), i.recommendation.decision, i.recommendation.reasons.join(' '),
      i.recommendation.message, i.reviewers.join(' '), i.decision, i.decisionReason, i.decidedBy, isoN(i.decidedAt), i.finalDecision, i.byDefault,
      i.outcome, i.outcomeReason, isoN(i.appliedAt),
    ].map(cell),
  );
  return stringify([[...EXPORT_COLUMNS], ...rows]);
}

export function makeReviews(deps: Deps) {
  const { store, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const notify = (tx: Tx, now: number, payload: Record<string, unknown>) =>
    store.outbox.enqueue(tx, { id: deps.newId(), kind: 'notify', payload, createdAt: now, attempts: 0, nextAttemptAt: now, deliveredAt: null, lastError: null });

  async function view(tx: Tx, cs: ReviewCampaign[]): Promise<CampaignView[]> {
    const counts = await store.reviews.counts(tx, cs.map((c) => c.id));
    return cs.map((c) => ({ ...c, counts: counts.get(c.id) ?? EMPTY_COUNTS }));
  }

  /** Look-ups shared while one campaign is built: principals, group members, expansions of reviewer lists. */
  function lookups(tx: Tx) {
    const principals = new Map<string, Promise<Principal | null>>();
    const members = new Map<string, Promise<string[]>>();
    const principal = (id: string) => {
      let p = principals.get(id);
      if (!p) principals.set(id, (p = store.principals.get(tx, id)));
      return p;
    };
    const membersOf = (id: string) => {
      let m = members.get(id);
      if (!m) members.set(id, (m = membersInTx(store, tx, id)));
      return m;
    };
    /** Active people and services named, groups expanded to their active members. */
    const expand = async (ids: readonly string[]): Promise<string[]> => {
      const out: string[] = [];
      for (const id of ids) {
        const p = await principal(id);
        if (!p || p.status !== 'active') continue;
        if (p.kind === 'group') out.push(...(await membersOf(id)));
        else out.push(id);
      }
      return [...new Set(out)];
    };
    return { principal, membersOf, expand };
  }

  /** Snapshot what the campaign covers and who reviews each item. */
  async function buildItems(tx: Tx, c: ReviewCampaign, now: number): Promise<ReviewItem[]> {
    const look = lookups(tx);
    const roles = new Map<string, Role>((await store.roles.list(tx)).map((r) => [r.id, r]));
    const cands: Candidate[] = [];
    const PAGE = 5000;
    if (c.filter.include.includes('eligibilities') && !c.filter.standingOnly) {
      for (let after: string | undefined; ; ) {
        const page = await store.eligibilities.list(tx, { limit: PAGE, after });
        for (const e of page) {
          if (e.removedAt !== null || (e.endsAt !== null && e.endsAt <= now)) continue;
          const p = await look.principal(e.principalId);
          if (p) cands.push({ kind: 'eligibility', id: e.id, principalId: e.principalId, principalKind: p.kind, roleId: e.roleId, scope: e.scope, source: null, startsAt: e.startsAt, endsAt: e.endsAt });
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
    if (c.filter.include.includes('assignments')) {
      for (let after: string | undefined; ; ) {
        const page = await store.assignments.list(tx, { live: true, limit: PAGE, after, ...(c.filter.standingOnly ? { source: 'direct' as const } : {}) });
        for (const a of page) {
          if (a.endsAt !== null && a.endsAt <= now) continue;
          const p = await look.principal(a.principalId);
          if (p) cands.push({ kind: 'assignment', id: a.id, principalId: a.principalId, principalKind: p.kind, roleId: a.roleId, scope: a.scope, source: a.source, startsAt: a.startsAt, endsAt: a.endsAt });
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
    const picked = selectCandidates(cands, c.filter).filter((x) => roles.has(x.roleId));

    // Who holds each item (a group's members hold what the group holds), and what they did with it.
    const holdersOf = new Map<string, string[]>();
    for (const x of picked) {
      if (holdersOf.has(x.principalId)) continue;
      holdersOf.set(x.principalId, x.principalKind === 'group' ? await look.membersOf(x.principalId) : [x.principalId]);
    }
    const people = [...new Set([...holdersOf.values()].flat())];
    const activations = await store.reviews.lastActivations(tx, people, now);
    const users = [...new Set(picked.filter((x) => x.principalKind === 'user').map((x) => x.principalId))];
    const activationsBy = new Map<string, typeof activations>();
    for (const a of activations) {
      const list = activationsBy.get(a.principalId);
      if (list) list.push(a);
      else activationsBy.set(a.principalId, [a]);
    }
    // Last seen: sign-in, session, API token use or activation request (a CLI-only user is not inactive).
    const seen = await store.reviews.lastSeen(tx, users);

    // Aliases: other principals sharing a holder's email are the same person (as approvals treat them).
    const emailOf = new Map<string, string>();
    for (const id of people) {
      const k = emailKey((await look.principal(id))?.email);
      if (k !== null) emailOf.set(id, k);
    }
    const byEmail = new Map<string, string[]>();
    if (emailOf.size > 0) {
      for (const a of await store.reviews.principalsByEmail(tx, [...new Set(emailOf.values())])) {
        const k = emailKey(a.email);
        if (k === null) continue;
        const list = byEmail.get(k);
        if (list) list.push(a.id);
        else byEmail.set(k, [a.id]);
      }
    }
    const aliasesOf = (holders: readonly string[]): string[] => {
      const out = new Set<string>();
      for (const h of holders) {
        const k = emailOf.get(h);
        for (const id of k === undefined ? [] : (byEmail.get(k) ?? [])) if (!holders.includes(id)) out.add(id);
      }
      return [...out];
    };

    const named = c.reviewers.kind === 'principals' ? await look.expand([...c.reviewers.principals, ...c.reviewers.groups]) : [];
    const fallback = await look.expand(c.reviewers.fallback);
    const owners = new Map<string, string[]>();
    const items: ReviewItem[] = [];
    for (const [position, x] of picked.entries()) {
      const p = (await look.principal(x.principalId))!;
      const role = roles.get(x.roleId)!;
      if (c.reviewers.kind === 'role_owners' && !owners.has(role.id)) owners.set(role.id, await look.expand(settingsOf(role).owners));
      const holders = holdersOf.get(x.principalId)!;
      const { reviewers } = resolveReviewers(c.reviewers.kind, {
        holders,
        aliases: aliasesOf(holders),
        managers: c.reviewers.kind === 'manager' && p.managerId ? await look.expand([p.managerId]) : [],
        roleOwners: owners.get(role.id) ?? [],
        named,
        fallback,
        creator: c.createdBy,
      });
      const used = holders.flatMap((h) => activationsBy.get(h) ?? []).filter((a) => a.roleId === x.roleId && covers(x.scope, a.scope));
      const lastActivationAt = used.length ? Math.max(...used.map((a) => a.at)) : null;
      const lastSignInAt = p.kind === 'user' ? (seen.get(p.id) ?? null) : null;
      const standing = isStanding(x);
      items.push({
        id: deps.newId(), campaignId: c.id, position, subjectKind: x.kind, subjectId: x.id, principalId: p.id, principalName: p.name, principalKind: p.kind,
        roleId: role.id, roleName: role.name, riskTier: role.riskTier, scope: x.scope, standing, since: x.startsAt, endsAt: x.endsAt, lastActivationAt, lastSignInAt,
        recommendation: recommend({
          kind: x.kind, standing, principalKind: p.kind, since: x.startsAt, lastActivationAt, lastSignInAt, principalCreatedAt: p.createdAt, now,
          unusedDays: c.recommend.unusedDays, inactiveDays: c.recommend.inactiveDays,
        }),
        reviewers, decision: null, decisionReason: null, decidedBy: null, decidedAt: null, finalDecision: null, byDefault: false, outcome: null, outcomeReason: null, appliedAt: null,
      });
    }
    return items;
  }

  async function start(tx: Tx, c: ReviewCampaign, actor: Actor, now: number): Promise<ReviewCampaign> {
    const items = await buildItems(tx, c, now);
    await store.reviews.insertItems(tx, items);
    // Started late (the jobs were stopped, or an occurrence began in the past): the end moves so that
    // reviewers still get the whole duration; the start stays, the series' anchor.
    const endsAt = reviewWindowEnd(c.endsAt, c.durationDays, now);
    const next: ReviewCampaign = { ...c, status: 'active', endsAt };
    await store.reviews.updateCampaign(tx, next);
    const perReviewer = new Map<string, number>();
    for (const i of items) for (const r of i.reviewers) perReviewer.set(r, (perReviewer.get(r) ?? 0) + 1);
    await writeAudit(audit, tx, now, actor, {}, [
      draft('review.started', 'info', {
        reviewId: c.id, name: c.name, items: items.length, standing: items.filter((i) => i.standing).length, reviewers: perReviewer.size,
        unreviewed: items.filter((i) => i.reviewers.length === 0).length, startedAt: now, endsAt, ...(endsAt !== c.endsAt ? { scheduledEndsAt: c.endsAt } : {}),
      }),
    ]);
    for (const [reviewer, n] of perReviewer) {
      await notify(tx, now, { event: 'review.assigned', audience: reviewer, reviewId: c.id, name: c.name, items: n, endsAt: iso(endsAt) });
    }
    return next;
  }

  /** Is someone other than `excludeId` still holding a standing elevate-admin grant (as holders.assertAdminRemains asks)? */
  async function adminRemainsWithout(tx: Tx, excludeId: string, now: number): Promise<boolean> {
    const live = await store.assignments.list(tx, { roleId: ADMIN_ROLE, live: true, limit: 10_000 });
    for (const a of live) {
      if (a.id === excludeId || a.endsAt !== null || a.startsAt > now || a.scope !== ROOT_SCOPE) continue;
      const p = await store.principals.get(tx, a.principalId);
      if (!p || p.status !== 'active') continue;
      if (p.kind !== 'group' || (await membersInTx(store, tx, p.id)).length > 0) return true;
    }
    return false;
  }

  /** Remove denied access, in the campaign's transaction. */
  async function removeAccess(tx: Tx, c: ReviewCampaign, item: ReviewItem, actor: Actor, now: number, adminsLocked: { done: boolean }): Promise<{ outcome: ReviewOutcome; reason: string }> {
    const subject = { principalId: item.principalId, roleId: item.roleId, scope: item.scope };
    const ref = { reviewId: c.id, itemId: item.id, subject: { kind: item.subjectKind, id: item.subjectId } };
    if (item.subjectKind === 'eligibility') {
      const [e] = await store.eligibilities.lock(tx, [item.subjectId], 'update');
      if (!e || e.removedAt !== null || (e.endsAt !== null && e.endsAt <= now)) return { outcome: 'removed', reason: 'already_gone' };
      await removeEligibilityInTx(deps, tx, actor, e, now, 'review_denied', { reasons: ['review_denied'], data: { reviewId: c.id } });
      await writeAudit(audit, tx, now, actor, subject, [draft('review.access_removed', 'info', { ...ref, byDefault: item.decision === null }, ['review_denied'])]);
      return { outcome: 'removed', reason: item.decision === null ? `default_${c.defaultDecision}` : 'decided' };
    }
    const a = await store.assignments.get(tx, item.subjectId);
    if (!a || (a.status !== 'active' && a.status !== 'scheduled') || (a.endsAt !== null && a.endsAt <= now)) return { outcome: 'removed', reason: 'already_gone' };
    if (a.roleId === ADMIN_ROLE) {
      if (!adminsLocked.done) {
        await lockAdmins(store, tx);
        adminsLocked.done = true;
      }
      if (!(await adminRemainsWithout(tx, a.id, now))) {
        await writeAudit(audit, tx, now, actor, subject, [draft('review.removal_skipped', 'info', { ...ref, assignmentId: a.id }, ['lockout_protected'])]);
        return { outcome: 'kept', reason: 'lockout_protected' };
      }
    }
    await endAssignment(deps, tx, actor, a, 'revoked', now, 'review_denied');
    if (a.roleId === ADMIN_ROLE) await assertAdminRemains(store, tx, now);
    await writeAudit(audit, tx, now, actor, subject, [draft('review.access_removed', 'info', { ...ref, assignmentId: a.id, byDefault: item.decision === null }, ['review_denied'])]);
    return { outcome: 'removed', reason: item.decision === null ? `default_${c.defaultDecision}` : 'decided' };
  }

  /** End a campaign: every item gets its final decision, denied access is removed (auto-apply), the next occurrence is scheduled. */
  async function finish(tx: Tx, c: ReviewCampaign, actor: Actor, now: number): Promise<ReviewCampaign> {
    const items = await store.reviews.items(tx, c.id);
    const adminsLocked = { done: false };
    const tally = { removed: 0, kept: 0, lockoutProtected: 0, notApplied: 0, byDefault: 0 };
    for (const item of items) {
      const fd = finalDecision(item.decision, item.recommendation, c.defaultDecision);
      let outcome: ReviewOutcome | null;
      let reason: string;
      if (fd.decision === 'approve') {
        outcome = 'kept';
        reason = fd.byDefault ? `default_${c.defaultDecision}` : 'decided';
      } else if (!c.autoApply) {
        outcome = null;
        reason = 'auto_apply_off';
      } else {
        ({ outcome, reason } = await removeAccess(tx, c, item, actor, now, adminsLocked));
      }
      if (fd.byDefault) tally.byDefault++;
      if (outcome === 'removed') tally.removed++;
      else if (outcome === 'kept') tally.kept++;
      else tally.notApplied++;
      if (reason === 'lockout_protected') tally.lockoutProtected++;
      const applied = outcome === 'removed' && reason !== 'already_gone' ? now : null;
      await store.reviews.updateItem(tx, { ...item, finalDecision: fd.decision, byDefault: fd.byDefault, outcome, outcomeReason: reason, appliedAt: applied });
    }
    let nextId: string | null = null;
    if (c.recurrence) {
      // Periods whose whole window is already over (the jobs were stopped) are skipped, not run at once.
      const { startsAt, skipped } = nextOccurrence(c.startsAt, c.recurrence, c.durationDays, now);
      const n: ReviewCampaign = {
        ...c, id: deps.newId(), status: 'scheduled', startsAt, endsAt: startsAt + c.durationDays * DAY_MS, completedAt: null, remindedAt: null,
        createdAt: now, previousId: c.id, nextId: null,
      };
      await store.reviews.insertCampaign(tx, n);
      await writeAudit(audit, tx, now, actor, {}, [draft('review.created', 'info', { reviewId: n.id, name: n.name, previousId: c.id, recurrence: c.recurrence, startsAt, endsAt: n.endsAt, ...(skipped ? { skippedPeriods: skipped } : {}) })]);
      nextId = n.id;
    }
    const done: ReviewCampaign = { ...c, status: 'completed', completedAt: now, endsAt: Math.min(c.endsAt, now), nextId };
    await store.reviews.updateCampaign(tx, done);
    await writeAudit(audit, tx, now, actor, {}, [draft('review.completed', 'info', { reviewId: c.id, name: c.name, items: items.length, autoApply: c.autoApply, ...tally, nextId })]);
    return done;
  }

  async function remind(tx: Tx, c: ReviewCampaign, actor: Actor, now: number): Promise<void> {
    const pending = await store.reviews.items(tx, c.id, { status: 'pending' });
    const perReviewer = new Map<string, number>();
    for (const i of pending) for (const r of i.reviewers) perReviewer.set(r, (perReviewer.get(r) ?? 0) + 1);
    for (const [reviewer, n] of perReviewer) {
      await notify(tx, now, { event: 'review.reminder', audience: reviewer, reviewId: c.id, name: c.name, pending: n, endsAt: iso(c.endsAt) });
    }
    await store.reviews.updateCampaign(tx, { ...c, remindedAt: now });
    await writeAudit(audit, tx, now, actor, {}, [draft('review.reminded', 'info', { reviewId: c.id, reviewers: perReviewer.size, pending: pending.length })]);
  }

  async function loadOrThrow(tx: Tx, id: string, forUpdate = false): Promise<ReviewCampaign> {
    const c = await store.reviews.getCampaign(tx, id, forUpdate);
    if (!c) throw new NotFound('not_found', `review ${id} not found`);
    return c;
  }

  const notReviewer = (actor: Actor, id: string, subject = {}) =>
    deny(deps, actor, 'review.read', subject, 'not_reviewer', `you review nothing in campaign ${id}`);

  /** A reviewer decides several items with one reason: all of them, or none when any one is refused. */
  async function decideMany(actor: Actor, id: string, itemIds: string[], decision: ReviewDecision, reason: string): Promise<ReviewItem[]> {
    const why = (reason ?? '').trim().slice(0, 1000);
    if (decision === 'deny' && !why) throw new Invalid('reason_required', 'say why the access should be removed', { field: 'reason' });
    const ids = [...new Set(itemIds)];
    if (ids.length === 0) throw new Invalid('invalid_request', 'name at least one item', { field: 'items' });
    const now = clock.now();
    const out = await store.transaction(async (tx): Promise<{ refused: 'self_review' | 'not_reviewer'; item: ReviewItem; alias?: boolean } | { refused: null; decided: ReviewItem[] }> => {
      const c = await loadOrThrow(tx, id, true);
      const items = await store.reviews.items(tx, id, { ids });
      if (items.length !== ids.length) {
        const found = new Set(items.map((i) => i.id));
        throw new NotFound('not_found', 'no such item in this campaign', { items: ids.filter((x) => !found.has(x)) });
      }
      if (c.status !== 'active' || now >= c.endsAt) {
        throw new Conflict('review_closed', c.status === 'scheduled' ? `this campaign starts at ${iso(c.startsAt)}` : `this campaign is ${c.status === 'active' ? 'over' : c.status}: decisions are closed`, { status: c.status });
      }
      const mine = new Set(await subjectsInTx(store, tx, actor.principalId));
      // The same person under another id: the actor's email is the holder's (or a holding group member's).
      const look = lookups(tx);
      const actorEmail = emailKey((await look.principal(actor.principalId))?.email);
      const alias = async (item: ReviewItem): Promise<boolean> => {
        if (actorEmail === null) return false;
        const p = await look.principal(item.principalId);
        if (!p) return false;
        for (const id of p.kind === 'group' ? await look.membersOf(p.id) : [p.id]) {
          if (id !== actor.principalId && emailKey((await look.principal(id))?.email) === actorEmail) return true;
        }
        return false;
      };
      for (const item of items) {
        // A holder never reviews their own access (directly, through a group, or through an alias sharing their email), unless the campaign is a self-review.
        if (c.reviewers.kind !== 'self' && mine.has(item.principalId)) return { refused: 'self_review' as const, item };
        if (c.reviewers.kind !== 'self' && (await alias(item))) return { refused: 'self_review' as const, item, alias: true };
        if (!item.reviewers.includes(actor.principalId)) return { refused: 'not_reviewer' as const, item };
      }
      const decided: ReviewItem[] = [];
      for (const item of items) {
        const next: ReviewItem = { ...item, decision, decisionReason: why || null, decidedBy: actor.principalId, decidedAt: now };
        await store.reviews.updateItem(tx, next);
        await writeAudit(audit, tx, now, actor, { principalId: item.principalId, roleId: item.roleId, scope: item.scope }, [
          draft('review.decided', 'info', {
            reviewId: c.id, itemId: item.id, decision, subject: { kind: item.subjectKind, id: item.subjectId }, reason: why, previous: item.decision,
            recommendation: item.recommendation.decision, bulk: ids.length > 1,
          }),
        ]);
        decided.push(next);
      }
      return { refused: null, decided };
    });
    if (out.refused !== null) {
      const subject = { principalId: out.item.principalId, roleId: out.item.roleId, scope: out.item.scope };
      return out.refused === 'self_review'
        ? deny(deps, actor, 'review.decide', subject, 'self_review', out.alias
          ? `you share an email with the holder of item ${out.item.id} (or a member of the group holding it): the same person cannot review their own access; another reviewer decides it`
          : 'you cannot review your own access (nor access you hold through a group); another reviewer decides it')
        : deny(deps, actor, 'review.decide', subject, 'not_reviewer', `you are not a reviewer of item ${out.item.id}`);
    }
    return out.decided;
  }

  return {
    /** Admin: define a campaign; it starts now (items snapshotted) or at `startAt`. */
    async create(actor: Actor, input: CampaignInput): Promise<CampaignView> {
      await requireAdmin(deps, actor, 'review.create');
      const spec = normalizeCampaign(input as Record<string, unknown>);
      const now = clock.now();
      let startsAt = input.startAt ?? now;
      if (startsAt < now - START_SLACK_MS) throw new Invalid('invalid_review', 'startAt: must not be in the past', { field: 'startAt' });
      if (startsAt > now + 366 * DAY_MS) throw new Invalid('invalid_review', 'startAt: at most a year ahead', { field: 'startAt' });
      startsAt = Math.max(startsAt, now);
      return store.transaction(async (tx) => {
        for (const roleId of spec.filter.roles) {
          if (!(await store.roles.get(tx, roleId))) throw new Invalid('unknown_role', `filter.roles: role ${roleId} does not exist`, { field: 'filter.roles', roleId });
        }
        const named: [string, string[]][] = [['reviewers.principals', spec.reviewers.principals], ['reviewers.groups', spec.reviewers.groups], ['reviewers.fallback', spec.reviewers.fallback]];
        for (const [field, list] of named) {
          for (const pid of list) {
            const p = await store.principals.get(tx, pid);
            if (!p) throw new Invalid('unknown_principal', `${field}: principal ${pid} does not exist`, { field, principalId: pid });
            if (field === 'reviewers.groups' && p.kind !== 'group') throw new Invalid('invalid_review', `${field}: ${pid} is not a group`, { field, principalId: pid });
          }
        }
        let c: ReviewCampaign = {
          id: deps.newId(), ...spec, status: 'scheduled', startsAt, endsAt: startsAt + spec.durationDays * DAY_MS, completedAt: null, remindedAt: null,
          createdBy: actor.principalId, createdAt: now, previousId: null, nextId: null,
        };
        await store.reviews.insertCampaign(tx, c);
        await writeAudit(audit, tx, now, actor, {}, [draft('review.created', 'info', { reviewId: c.id, name: c.name, filter: c.filter, reviewers: c.reviewers, durationDays: c.durationDays, recurrence: c.recurrence, defaultDecision: c.defaultDecision, autoApply: c.autoApply, startsAt, endsAt: c.endsAt })]);
        if (startsAt <= now) c = await start(tx, c, actor, now);
        return (await view(tx, [c]))[0]!;
      });
    },

    /** Admins: every campaign. Others: the campaigns where they review at least one item. */
    async list(actor: Actor, f: { status?: ReviewCampaign['status']; limit?: number } = {}): Promise<CampaignView[]> {
      const admin = isAdmin(deps, actor.principalId);
      return store.transaction(async (tx) => view(tx, await store.reviews.listCampaigns(tx, { status: f.status, limit: f.limit ?? 500, ...(admin ? {} : { reviewerId: actor.principalId }) })));
    },

    async get(actor: Actor, id: string): Promise<CampaignView> {
      const out = await store.transaction(async (tx) => {
        const c = await loadOrThrow(tx, id);
        if (!isAdmin(deps, actor.principalId) && !(await store.reviews.isReviewer(tx, id, actor.principalId))) return null;
        return (await view(tx, [c]))[0]!;
      });
      return out ?? notReviewer(actor, id);
    },

    /** Admins: every item (or `mine`). Others: only the items they review; 403 not_reviewer when none. */
    async items(actor: Actor, id: string, f: { mine?: boolean; status?: 'pending' | 'decided' } = {}): Promise<ReviewItem[]> {
      const admin = isAdmin(deps, actor.principalId);
      const out = await store.transaction(async (tx) => {
        await loadOrThrow(tx, id);
        if (admin && !f.mine) return store.reviews.items(tx, id, { status: f.status });
        if (!admin && !(await store.reviews.isReviewer(tx, id, actor.principalId))) return null;
        return store.reviews.items(tx, id, { status: f.status, reviewerId: actor.principalId });
      });
      return out ?? notReviewer(actor, id);
    },

    /** A reviewer decides one item. */
    async decide(actor: Actor, id: string, itemId: string, decision: ReviewDecision, reason: string): Promise<ReviewItem> {
      return (await decideMany(actor, id, [itemId], decision, reason))[0]!;
    },

    decideMany,

    /** Admin: end the campaign now and apply its outcome. */
    async complete(actor: Actor, id: string): Promise<CampaignView> {
      await requireAdmin(deps, actor, 'review.complete');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const c = await loadOrThrow(tx, id, true);
        if (c.status === 'scheduled') throw new Conflict('review_not_started', `this campaign starts at ${iso(c.startsAt)}; cancel it instead`, { status: c.status });
        if (c.status !== 'active') throw new Conflict('review_closed', `this campaign is ${c.status}`, { status: c.status });
        return (await view(tx, [await finish(tx, c, actor, now)]))[0]!;
      });
    },

    /** Admin: stop a scheduled or active campaign; nothing is applied and no next occurrence is scheduled. */
    async cancel(actor: Actor, id: string): Promise<CampaignView> {
      await requireAdmin(deps, actor, 'review.cancel');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const c = await loadOrThrow(tx, id, true);
        if (c.status !== 'active' && c.status !== 'scheduled') throw new Conflict('review_closed', `this campaign is ${c.status}`, { status: c.status });
        const done: ReviewCampaign = { ...c, status: 'cancelled', completedAt: now };
        await store.reviews.updateCampaign(tx, done);
        await writeAudit(audit, tx, now, actor, {}, [draft('review.cancelled', 'info', { reviewId: c.id, name: c.name, previousStatus: c.status })]);
        return (await view(tx, [done]))[0]!;
      });
    },

    /** Admin: the campaign's items with decisions and outcomes, for auditors (audited). */
    async export(actor: Actor, id: string, format: 'csv' | 'json'): Promise<{ contentType: string; filename: string; body: string }> {
      await requireAdmin(deps, actor, 'review.export');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const c = await loadOrThrow(tx, id);
        const items = await store.reviews.items(tx, id);
        await writeAudit(audit, tx, now, actor, {}, [draft('review.exported', 'info', { reviewId: id, format, items: items.length })]);
        const filename = `review-${id}.${format}`;
        if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', filename, body: toCsv(c, items) };
        const v = (await view(tx, [c]))[0]!;
        return { contentType: 'application/json; charset=utf-8', filename, body: JSON.stringify({ campaign: presentCampaign(v), exportedAt: iso(now), items: items.map(presentItem) }) };
      });
    },

    /** Job: end and apply due campaigns (scheduling the next occurrence), start scheduled ones, send reminders. One short transaction per campaign. */
    async tick(): Promise<number> {
      const now = clock.now();
      const actor = systemActor(now);
      let work = 0;
      const steps: ['complete' | 'start' | 'remind', (tx: Tx, c: ReviewCampaign) => Promise<unknown>][] = [
        ['complete', (tx, c) => finish(tx, c, actor, now)],
        ['start', (tx, c) => start(tx, c, actor, now)],
        ['remind', (tx, c) => remind(tx, c, actor, now)],
      ];
      for (const [what, run] of steps) {
        for (let i = 0; i < 20; i++) {
          const did = await store.transaction(async (tx) => {
            const [c] = await store.reviews.leaseDue(tx, what, now, 1);
            if (!c) return false;
            await run(tx, c);
            return true;
          });
          if (!did) break;
          work++;
        }
      }
      return work;
    },
  };
}
