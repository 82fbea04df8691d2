import type { AuditEvent } from '../core/audit.js';
import type { Approval, AssignmentSource, AssignmentStatus, PrincipalKind, PrincipalStatus, RequestStatus } from '../core/model.js';
import type { RiskTier } from '../core/settings.js';
import type { AlertTables as AlertsTables } from './alerts-schema.js';
import type { InventoryTables } from './inventory-schema.js';
import type { ReviewTables as ReviewsTables } from './reviews-schema.js';
import type { SiemTables } from './siem-schema.js';

/**
 * Table shapes as Kysely sees them. Portable column types on both dialects: ids and enums are
 * text, times are integer milliseconds (bigint on PostgreSQL, parsed back to JS numbers),
 * booleans are 0/1 integers, and structured values are JSON text.
 */

export interface PrincipalsTable {
  id: string;
  kind: PrincipalKind;
  name: string;
  email: string | null;
  manager_id: string | null;
  admin_unit: string | null;
  attributes: string;
  status: PrincipalStatus;
  created_at: number;
  updated_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  member_id: string;
}

export interface ApiTokensTable {
  id: string;
  principal_id: string;
  name: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface RolesTable {
  id: string;
  name: string;
  description: string;
  risk_tier: RiskTier;
  settings: string;
  builtin: number;
  created_at: number;
  updated_at: number;
}

export interface EligibilitiesTable {
  id: string;
  principal_id: string;
  role_id: string;
  scope: string;
  starts_at: number;
  ends_at: number | null;
  justification: string;
  created_by: string;
  created_at: number;
  removed_at: number | null;
}

export interface AssignmentsTable {
  id: string;
  principal_id: string;
  role_id: string;
  scope: string;
  source: AssignmentSource;
  request_id: string | null;
  starts_at: number;
  ends_at: number | null;
  status: AssignmentStatus;
  justification: string;
  created_by: string;
  created_at: number;
  ended_at: number | null;
}

export interface RequestsTable {
  id: string;
  kind: 'activate' | 'extend';
  principal_id: string;
  role_id: string;
  scope: string;
  duration_ms: number;
  justification: string;
  ticket: string | null;
  start_at: number | null;
  status: RequestStatus;
  stage: number;
  timeout_at: number | null;
  assignment_id: string | null;
  eligibility_id: string | null;
  reasons: string;
  context: string;
  created_at: number;
  updated_at: number;
  idempotency_key: string | null;
  fingerprint: string | null;
}

export interface ApprovalsTable {
  id: string;
  request_id: string;
  approver_id: string;
  decision: Approval['decision'];
  reason: string;
  stage: number;
  admin_unit: string | null;
  created_at: number;
}

export interface AuditEventsTable {
  seq: number;
  id: string;
  ts: number;
  type: string;
  outcome: AuditEvent['outcome'];
  actor_id: string | null;
  principal_id: string | null;
  role_id: string | null;
  scope: string | null;
  request_id: string | null;
  reasons: string;
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  ts: number;
  key_id: string;
  signature: string;
}

export interface AuditKeysTable {
  key_id: string;
  public_key_pem: string;
  created_at: number;
}

// ---- identity (0003) ------------------------------------------------------------------------

/** Stable links from a sign-in identity to a principal: `username`, `oidc` (issuer + subject), `scim_external`. */
export interface IdentitiesTable {
  kind: string;
  key: string;
  principal_id: string;
  created_at: number;
}

export interface LocalAccountsTable {
  principal_id: string;
  password_hash: string;
  password_changed_at: number;
}

/** Attempt counters shared by every node: login by username, by address, MFA attempts by principal. */
export interface ThrottlesTable {
  key: string;
  failures: number;
  window_started_at: number;
  locked_until: number | null;
}

export interface SessionsTable {
  id: string;
  principal_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  facts: string;
  mfa: string;
}

export interface TotpFactorsTable {
  principal_id: string;
  secret_sealed: string;
  confirmed_at: number | null;
  last_step: number;
  created_at: number;
}

export interface WebauthnCredentialsTable {
  id: string;
  principal_id: string;
  public_key: string;
  counter: number;
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface RecoveryCodesTable {
  principal_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** Short-lived server-side state: WebAuthn challenges, OIDC state and PKCE, step-up device codes. */
export interface ChallengesTable {
  id: string;
  kind: string;
  principal_id: string | null;
  data: string;
  expires_at: number;
}

export interface OutboxTable {
  id: string;
  kind: string;
  payload: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

export interface BreakglassAccountsTable {
  principal_id: string;
  created_by: string;
  created_at: number;
}

export interface BreakglassReviewsTable {
  id: string;
  assignment_id: string;
  principal_id: string;
  role_id: string;
  scope: string;
  justification: string;
  created_at: number;
  status: 'open' | 'closed';
  closed_by: string | null;
  closed_at: number | null;
  note: string | null;
}

export interface EligibilityRenewalsTable {
  id: string;
  eligibility_id: string;
  principal_id: string;
  role_id: string;
  scope: string;
  justification: string;
  status: 'pending' | 'approved' | 'denied' | 'cancelled';
  created_at: number;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

export interface ScimTokensTable {
  id: string;
  name: string;
  hash: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

export interface MigrationsTable {
  name: string;
  applied_at: number;
}

export interface DB extends ReviewsTables, AlertsTables, SiemTables, InventoryTables {
  elevate_migrations: MigrationsTable;
  principals: PrincipalsTable;
  group_members: GroupMembersTable;
  api_tokens: ApiTokensTable;
  roles: RolesTable;
  eligibilities: EligibilitiesTable;
  assignments: AssignmentsTable;
  requests: RequestsTable;
  approvals: ApprovalsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_keys: AuditKeysTable;
  identities: IdentitiesTable;
  local_accounts: LocalAccountsTable;
  throttles: ThrottlesTable;
  sessions: SessionsTable;
  totp_factors: TotpFactorsTable;
  webauthn_credentials: WebauthnCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  challenges: ChallengesTable;
  outbox: OutboxTable;
  breakglass_accounts: BreakglassAccountsTable;
  breakglass_reviews: BreakglassReviewsTable;
  scim_tokens: ScimTokensTable;
  eligibility_renewals: EligibilityRenewalsTable;
}

export type Dialect = 'sqlite' | 'postgres';
