import type { PrincipalKind } from '../core/model.js';
import type { DefaultDecision, Recommendation, RecommendSettings, Recurrence, ReviewDecision, ReviewerSpec, ReviewFilter } from '../core/reviews.js';
import type { RiskTier } from '../core/settings.js';
import type { Tx } from './tx-port.js';

export type CampaignStatus = 'scheduled' | 'active' | 'completed' | 'cancelled';

export interface ReviewCampaign {
  id: string;
  name: string;
  status: CampaignStatus;
  filter: ReviewFilter;
  reviewers: ReviewerSpec;
  durationDays: number;
  recurrence: Recurrence | null;
  defaultDecision: DefaultDecision;
  recommend: RecommendSettings;
  autoApply: boolean;
  reminderDays: number | null;
  startsAt: number;
  endsAt: number;
  /** When it completed or was cancelled. */
  completedAt: number | null;
  remindedAt: number | null;
  createdBy: string;
  createdAt: number;
  /** The campaign of the same series before this one, and the one created when this one completed. */
  previousId: string | null;
  nextId: string | null;
}

export type ReviewOutcome = 'removed' | 'kept';

export interface ReviewItem {
  id: string;
  campaignId: string;
  /** Order in the campaign: standing access first. */
  position: number;
  subjectKind: 'eligibility' | 'assignment';
  subjectId: string;
  principalId: string;
  principalName: string;
  principalKind: PrincipalKind;
  roleId: string;
  roleName: string;
  riskTier: RiskTier;
  scope: string;
  standing: boolean;
  since: number;
  endsAt: number | null;
  lastActivationAt: number | null;
  /** When a user was last seen: sign-in, session, API token use or activation request (the name is the API's). */
  lastSignInAt: number | null;
  recommendation: Recommendation;
  reviewers: string[];
  decision: ReviewDecision | null;
  decisionReason: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
  /** At the end: what counted (the decision, or the default) and whether it was the default. */
  finalDecision: ReviewDecision | null;
  byDefault: boolean;
  outcome: ReviewOutcome | null;
  /** Why the outcome is what it is: `decided`, `default_*`, `lockout_protected`, `already_gone`, `auto_apply_off`. */
  outcomeReason: string | null;
  appliedAt: number | null;
}

export interface ReviewCounts {
  total: number;
  decided: number;
  approved: number;
  denied: number;
  pending: number;
}

/** Storage for access-review campaigns and their items. */
export interface ReviewRepo {
  insertCampaign(tx: Tx, c: ReviewCampaign): Promise<void>;
  updateCampaign(tx: Tx, c: ReviewCampaign): Promise<void>;
  /** `forUpdate` locks the row on PostgreSQL. */
  getCampaign(tx: Tx, id: string, forUpdate?: boolean): Promise<ReviewCampaign | null>;
  /** Newest first; `reviewerId` = only campaigns where that principal reviews at least one item. */
  listCampaigns(tx: Tx, f: { reviewerId?: string; status?: CampaignStatus; limit: number }): Promise<ReviewCampaign[]>;
  /**
   * Lease campaigns with work due (SKIP LOCKED on PostgreSQL): scheduled ones whose start has come
   * (`start`), active ones whose end has passed (`complete`), active ones whose reminder is due (`remind`).
   */
  leaseDue(tx: Tx, what: 'start' | 'complete' | 'remind', now: number, limit: number): Promise<ReviewCampaign[]>;
  insertItems(tx: Tx, items: ReviewItem[]): Promise<void>;
  items(tx: Tx, campaignId: string, f?: { reviewerId?: string; status?: 'pending' | 'decided'; ids?: string[] }): Promise<ReviewItem[]>;
  updateItem(tx: Tx, item: ReviewItem): Promise<void>;
  counts(tx: Tx, campaignIds: string[]): Promise<Map<string, ReviewCounts>>;
  /** Does this principal review any item of the campaign? */
  isReviewer(tx: Tx, campaignId: string, principalId: string): Promise<boolean>;
  /**
   * When each principal was last seen, as detection counts sign-ins (alerts-repo stateFacts), plus
   * activations: the latest of a successful sign-in (audit `auth.login`, outcome allowed), a browser
   * session's `last_seen_at`, an API token's `last_used_at` (CLI and API users) and an activation or
   * extension request they made. Principals never seen are absent.
   */
  lastSeen(tx: Tx, principalIds: string[]): Promise<Map<string, number>>;
  /** Principals whose email, lower-cased, is one of `emails` (given as `emailKey` makes them): a holder's aliases. */
  principalsByEmail(tx: Tx, emails: string[]): Promise<{ id: string; email: string }[]>;
  /** Latest start of an activated grant per principal, role and scope (started by `now`). */
  lastActivations(tx: Tx, principalIds: string[], now: number): Promise<{ principalId: string; roleId: string; scope: string; at: number }[]>;
}
