import { sql, type Selectable } from 'kysely';
import type { ReviewCampaign, ReviewCounts, ReviewItem, ReviewRepo } from '../app/reviews-ports.js';
import type { PrincipalKind } from '../core/model.js';
import type { DefaultDecision, Recurrence } from '../core/reviews.js';
import type { RiskTier } from '../core/settings.js';
import type { ReviewCampaignsTable, ReviewItemsTable } from './reviews-schema.js';
import type { Dialect } from './schema.js';
import { lastSeen } from './last-seen.js';
import { chunks, insertUnique, q } from './tx.js';

const num = (v: number | null): number | null => (v === null ? null : Number(v));

const toCampaign = (r: Selectable<ReviewCampaignsTable>): ReviewCampaign => ({
  id: r.id,
  name: r.name,
  status: r.status,
  filter: JSON.parse(r.filter),
  reviewers: JSON.parse(r.reviewers),
  durationDays: Number(r.duration_days),
  recurrence: r.recurrence as Recurrence | null,
  defaultDecision: r.default_decision as DefaultDecision,
  recommend: JSON.parse(r.recommend),
  autoApply: Number(r.auto_apply) === 1,
  reminderDays: num(r.reminder_days),
  startsAt: Number(r.starts_at),
  endsAt: Number(r.ends_at),
  completedAt: num(r.completed_at),
  remindedAt: num(r.reminded_at),
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  previousId: r.previous_id,
  nextId: r.next_id,
});

const campaignRow = (c: ReviewCampaign): ReviewCampaignsTable => ({
  id: c.id,
  name: c.name,
  status: c.status,
  filter: JSON.stringify(c.filter),
  reviewers: JSON.stringify(c.reviewers),
  duration_days: c.durationDays,
  recurrence: c.recurrence,
  default_decision: c.defaultDecision,
  recommend: JSON.stringify(c.recommend),
  auto_apply: c.autoApply ? 1 : 0,
  reminder_days: c.reminderDays,
  starts_at: c.startsAt,
  ends_at: c.endsAt,
  completed_at: c.completedAt,
  reminded_at: c.remindedAt,
  created_by: c.createdBy,
  created_at: c.createdAt,
  previous_id: c.previousId,
  next_id: c.nextId,
});

const toItem = (r: Selectable<ReviewItemsTable>): ReviewItem => ({
  id: r.id,
  campaignId: r.campaign_id,
  position: Number(r.position),
  subjectKind: r.subject_kind,
  subjectId: r.subject_id,
  principalId: r.principal_id,
  principalName: r.principal_name,
  principalKind: r.principal_kind as PrincipalKind,
  roleId: r.role_id,
  roleName: r.role_name,
  riskTier: r.risk_tier as RiskTier,
  scope: r.scope,
  standing: Number(r.standing) === 1,
  since: Number(r.since),
  endsAt: num(r.ends_at),
  lastActivationAt: num(r.last_activation_at),
  lastSignInAt: num(r.last_sign_in_at),
  recommendation: JSON.parse(r.recommendation),
  reviewers: JSON.parse(r.reviewers),
  decision: r.decision,
  decisionReason: r.decision_reason,
  decidedBy: r.decided_by,
  decidedAt: num(r.decided_at),
  finalDecision: r.final_decision,
  byDefault: Number(r.by_default) === 1,
  outcome: r.outcome,
  outcomeReason: r.outcome_reason,
  appliedAt: num(r.applied_at),
});

const itemRow = (i: ReviewItem): ReviewItemsTable => ({
  id: i.id,
  campaign_id: i.campaignId,
  position: i.position,
  subject_kind: i.subjectKind,
  subject_id: i.subjectId,
  principal_id: i.principalId,
  principal_name: i.principalName,
  principal_kind: i.principalKind,
  role_id: i.roleId,
  role_name: i.roleName,
  risk_tier: i.riskTier,
  scope: i.scope,
  standing: i.standing ? 1 : 0,
  since: i.since,
  ends_at: i.endsAt,
  last_activation_at: i.lastActivationAt,
  last_sign_in_at: i.lastSignInAt,
  recommendation: JSON.stringify(i.recommendation),
  reviewers: JSON.stringify(i.reviewers),
  decision: i.decision,
  decision_reason: i.decisionReason,
  decided_by: i.decidedBy,
  decided_at: i.decidedAt,
  final_decision: i.finalDecision,
  by_default: i.byDefault ? 1 : 0,
  outcome: i.outcome,
  outcome_reason: i.outcomeReason,
  applied_at: i.appliedAt,
});

export function reviewRepo(dialect: Dialect): ReviewRepo {
  const pg = dialect === 'postgres';
  return {
    async insertCampaign(tx, c) {
      await insertUnique('review', c.id, () => q(tx).insertInto('review_campaigns').values(campaignRow(c)).execute());
    },
    async updateCampaign(tx, c) {
      const { id: _id, ...changes } = campaignRow(c);
      await q(tx).updateTable('review_campaigns').set(changes).where('id', '=', c.id).execute();
    },
    async getCampaign(tx, id, forUpdate = false) {
      const r = await q(tx)
        .selectFrom('review_campaigns')
        .selectAll()
        .where('id', '=', id)
        .$if(forUpdate && pg, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toCampaign(r) : null;
    },
    async listCampaigns(tx, f) {
      const db = q(tx);
      const rows = await db
        .selectFrom('review_campaigns')
        .selectAll()
        .$if(f.status !== undefined, (qb) => qb.where('status', '=', f.status!))
        .$if(f.reviewerId !== undefined, (qb) =>
          qb.where('id', 'in', db.selectFrom('review_reviewers').select('campaign_id').where('reviewer_id', '=', f.reviewerId!)),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(f.limit)
        .execute();
      return rows.map(toCampaign);
    },
    async leaseDue(tx, what, now, limit) {
      const base = q(tx).selectFrom('review_campaigns').selectAll();
      const due =
        what === 'start'
          ? base.where('status', '=', 'scheduled').where('starts_at', '<=', now).orderBy('starts_at')
          : what === 'complete'
            ? base.where('status', '=', 'active').where('ends_at', '<=', now).orderBy('ends_at')
            : base
                .where('status', '=', 'active')
                .where('reminded_at', 'is', null)
                .where('reminder_days', 'is not', null)
                .where('ends_at', '>', now)
                .where(sql<number>`ends_at - reminder_days * CAST(86400000 AS bigint)`, '<=', now)
                .orderBy('ends_at');
      const rows = await due
        .orderBy('id')
        .limit(limit)
        .$if(pg, (qb) => qb.forUpdate().skipLocked())
        .execute();
      return rows.map(toCampaign);
    },
    async insertItems(tx, items) {
      const db = q(tx);
      for (const part of chunks(items, 30, dialect)) await db.insertInto('review_items').values(part.map(itemRow)).execute();
      const links = items.flatMap((i) => i.reviewers.map((r) => ({ item_id: i.id, campaign_id: i.campaignId, reviewer_id: r })));
      for (const part of chunks(links, 3, dialect)) await db.insertInto('review_reviewers').values(part).execute();
    },
    async items(tx, campaignId, f = {}) {
      if (f.ids && f.ids.length === 0) return [];
      const db = q(tx);
      const rows = await db
        .selectFrom('review_items')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .$if(f.reviewerId !== undefined, (qb) =>
          qb.where('id', 'in', db.selectFrom('review_reviewers').select('item_id').where('reviewer_id', '=', f.reviewerId!).where('campaign_id', '=', campaignId)),
        )
        .$if(f.status === 'pending', (qb) => qb.where('decision', 'is', null))
        .$if(f.status === 'decided', (qb) => qb.where('decision', 'is not', null))
        .$if(f.ids !== undefined, (qb) => qb.where('id', 'in', f.ids!))
        .orderBy('position')
        .execute();
      return rows.map(toItem);
    },
    async updateItem(tx, i) {
      const { id: _id, ...changes } = itemRow(i);
      await q(tx).updateTable('review_items').set(changes).where('id', '=', i.id).execute();
    },
    async counts(tx, campaignIds) {
      const out = new Map<string, ReviewCounts>();
      if (campaignIds.length === 0) return out;
      const rows = await q(tx)
        .selectFrom('review_items')
        .select(['campaign_id', 'decision'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_id', 'in', campaignIds)
        .groupBy(['campaign_id', 'decision'])
        .execute();
      for (const id of campaignIds) out.set(id, { total: 0, decided: 0, approved: 0, denied: 0, pending: 0 });
      for (const r of rows) {
        const c = out.get(r.campaign_id)!;
        const n = Number(r.n);
        c.total += n;
        if (r.decision === null) c.pending += n;
        else {
          c.decided += n;
          if (r.decision === 'approve') c.approved += n;
          else c.denied += n;
        }
      }
      return out;
    },
    async isReviewer(tx, campaignId, principalId) {
      const r = await q(tx).selectFrom('review_reviewers').select('item_id').where('reviewer_id', '=', principalId).where('campaign_id', '=', campaignId).limit(1).executeTakeFirst();
      return r !== undefined;
    },
    lastSeen: (tx, principalIds) => lastSeen(tx, dialect, principalIds),
    async principalsByEmail(tx, emails) {
      const out: { id: string; email: string }[] = [];
      for (const part of chunks([...new Set(emails)], 1, dialect)) {
        const rows = await q(tx).selectFrom('principals').select(['id', 'email']).where(sql<string>`lower(email)`, 'in', part).execute();
        for (const r of rows) if (r.email !== null) out.push({ id: r.id, email: r.email });
      }
      return out;
    },
    async lastActivations(tx, principalIds, now) {
      const out: { principalId: string; roleId: string; scope: string; at: number }[] = [];
      for (const part of chunks(principalIds, 1, dialect)) {
        const rows = await q(tx)
          .selectFrom('assignments')
          .select(['principal_id', 'role_id', 'scope'])
          .select((eb) => eb.fn.max('starts_at').as('at'))
          .where('source', '=', 'activation')
          .where('starts_at', '<=', now)
          .where('principal_id', 'in', part)
          .groupBy(['principal_id', 'role_id', 'scope'])
          .execute();
        for (const r of rows) out.push({ principalId: r.principal_id, roleId: r.role_id, scope: r.scope, at: Number(r.at) });
      }
      return out;
    },
  };
}
