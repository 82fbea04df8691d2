import type { Kysely } from 'kysely';

/** Tables for reviews (same portable column conventions as schema.ts: text ids, integer ms times, 0/1 booleans, JSON text). */
export interface ReviewCampaignsTable {
  id: string;
  name: string;
  status: 'scheduled' | 'active' | 'completed' | 'cancelled';
  filter: string;
  reviewers: string;
  duration_days: number;
  recurrence: string | null;
  default_decision: string;
  recommend: string;
  auto_apply: number;
  reminder_days: number | null;
  starts_at: number;
  ends_at: number;
  completed_at: number | null;
  reminded_at: number | null;
  created_by: string;
  created_at: number;
  previous_id: string | null;
  next_id: string | null;
}

export interface ReviewItemsTable {
  id: string;
  campaign_id: string;
  position: number;
  subject_kind: 'eligibility' | 'assignment';
  subject_id: string;
  principal_id: string;
  principal_name: string;
  principal_kind: string;
  role_id: string;
  role_name: string;
  risk_tier: string;
  scope: string;
  standing: number;
  since: number;
  ends_at: number | null;
  last_activation_at: number | null;
  last_sign_in_at: number | null;
  recommendation: string;
  reviewers: string;
  decision: 'approve' | 'deny' | null;
  decision_reason: string | null;
  decided_by: string | null;
  decided_at: number | null;
  final_decision: 'approve' | 'deny' | null;
  by_default: number;
  outcome: 'removed' | 'kept' | null;
  outcome_reason: string | null;
  applied_at: number | null;
}

/** Who reviews which item: the index behind "my items" and "campaigns I review in". */
export interface ReviewReviewersTable {
  item_id: string;
  campaign_id: string;
  reviewer_id: string;
}

export interface ReviewTables {
  review_campaigns: ReviewCampaignsTable;
  review_items: ReviewItemsTable;
  review_reviewers: ReviewReviewersTable;
}

/** Migration 0005_reviews: runs inside the migration transaction. */
export async function reviewsMigration(db: Kysely<ReviewTables>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  const s = db.schema;
  await s
    .createTable('review_campaigns')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('filter', 'text', (c) => c.notNull())
    .addColumn('reviewers', 'text', (c) => c.notNull())
    .addColumn('duration_days', 'integer', (c) => c.notNull())
    .addColumn('recurrence', 'text')
    .addColumn('default_decision', 'text', (c) => c.notNull())
    .addColumn('recommend', 'text', (c) => c.notNull())
    .addColumn('auto_apply', 'integer', (c) => c.notNull())
    .addColumn('reminder_days', 'integer')
    .addColumn('starts_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('reminded_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('previous_id', 'text')
    .addColumn('next_id', 'text')
    .execute();
  await s.createIndex('review_campaigns_start').on('review_campaigns').columns(['status', 'starts_at']).execute();
  await s.createIndex('review_campaigns_end').on('review_campaigns').columns(['status', 'ends_at']).execute();
  await s
    .createTable('review_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('review_campaigns.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text', (c) => c.notNull())
    .addColumn('principal_name', 'text', (c) => c.notNull())
    .addColumn('principal_kind', 'text', (c) => c.notNull())
    .addColumn('role_id', 'text', (c) => c.notNull())
    .addColumn('role_name', 'text', (c) => c.notNull())
    .addColumn('risk_tier', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('standing', 'integer', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint')
    .addColumn('last_activation_at', 'bigint')
    .addColumn('last_sign_in_at', 'bigint')
    .addColumn('recommendation', 'text', (c) => c.notNull())
    .addColumn('reviewers', 'text', (c) => c.notNull())
    .addColumn('decision', 'text')
    .addColumn('decision_reason', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('final_decision', 'text')
    .addColumn('by_default', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text')
    .addColumn('outcome_reason', 'text')
    .addColumn('applied_at', 'bigint')
    .execute();
  await s.createIndex('review_items_campaign').on('review_items').columns(['campaign_id', 'position']).unique().execute();
  await s
    .createTable('review_reviewers')
    .addColumn('item_id', 'text', (c) => c.notNull().references('review_items.id').onDelete('cascade'))
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('reviewer_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('review_reviewers_pk', ['item_id', 'reviewer_id'])
    .execute();
  await s.createIndex('review_reviewers_reviewer').on('review_reviewers').columns(['reviewer_id', 'campaign_id']).execute();
}
