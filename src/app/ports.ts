import type { AuditEvent, Checkpoint } from '../core/audit.js';
import type { MfaEvidence, Session } from '../core/identity.js';
import type { ActivationRequest, ApiToken, Approval, Assignment, Eligibility, Principal, PrincipalKind, Role } from '../core/model.js';
import type { StatsFacts } from '../core/stats.js';

/**
 * The narrow ports use cases depend on. Storage implements them for SQLite and PostgreSQL; every
 * method takes the transaction it runs in, so nothing can write outside one by accident.
 */

export type { Tx } from './tx-port.js';
import type { Tx } from './tx-port.js';
import type { AlertRepo } from './alerts-ports.js';
import type { InventoryRepo } from './inventory-ports.js';
import type { ReviewRepo } from './reviews-ports.js';
import type { SiemRepo } from './siem-ports.js';

export interface TransactionRunner {
  /** Run `fn` in one transaction; commit if it resolves, roll back if it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface PrincipalRepo {
  get(tx: Tx, id: string): Promise<Principal | null>;
  insert(tx: Tx, p: Principal): Promise<void>;
  update(tx: Tx, p: Principal): Promise<void>;
  delete(tx: Tx, id: string): Promise<void>;
  list(tx: Tx, filter: { kind?: PrincipalKind; limit: number; after?: string }): Promise<Principal[]>;
  count(tx: Tx): Promise<number>;
}

export interface MembershipRepo {
  /** Replace a group's direct members. */
  setMembers(tx: Tx, groupId: string, members: string[]): Promise<void>;
  members(tx: Tx, groupId: string): Promise<string[]>;
  /** The groups a principal is directly in. */
  groupsOf(tx: Tx, memberId: string): Promise<string[]>;
  /** Remove a principal from every group it is in (and empty it if it is a group). */
  removeEverywhere(tx: Tx, principalId: string): Promise<string[]>;
}

export interface TokenRepo {
  insert(tx: Tx, t: ApiToken): Promise<void>;
  byHash(tx: Tx, hash: string): Promise<ApiToken | null>;
  get(tx: Tx, id: string): Promise<ApiToken | null>;
  listFor(tx: Tx, principalId: string): Promise<ApiToken[]>;
  revoke(tx: Tx, id: string, at: number): Promise<void>;
  touch(tx: Tx, id: string, at: number): Promise<void>;
}

export interface RoleRepo {
  get(tx: Tx, id: string): Promise<Role | null>;
  /** Serialize transactions that must see each other (row lock on PostgreSQL; SQLite has one writer). */
  lock(tx: Tx, id: string): Promise<void>;
  insert(tx: Tx, r: Role): Promise<void>;
  update(tx: Tx, r: Role): Promise<void>;
  delete(tx: Tx, id: string): Promise<void>;
  list(tx: Tx): Promise<Role[]>;
}

export interface EligibilityRepo {
  get(tx: Tx, id: string): Promise<Eligibility | null>;
  insert(tx: Tx, e: Eligibility): Promise<void>;
  markRemoved(tx: Tx, id: string, at: number): Promise<void>;
  /** Move a live eligibility's end (a renewal). */
  setEndsAt(tx: Tx, id: string, endsAt: number | null): Promise<void>;
  /**
   * Re-read eligibilities under a row lock: `share` when a grant is being made from them (so a
   * concurrent removal waits), `update` before taking them away from someone.
   */
  lock(tx: Tx, ids: string[], mode: 'share' | 'update'): Promise<Eligibility[]>;
  list(tx: Tx, filter: { principalIds?: string[]; roleId?: string; includeRemoved?: boolean; limit: number; after?: string }): Promise<Eligibility[]>;
  /** Eligibilities bulk-loaded for benchmarks and seeding. */
  insertMany(tx: Tx, es: Eligibility[]): Promise<void>;
}

export interface AssignmentRepo {
  get(tx: Tx, id: string): Promise<Assignment | null>;
  insert(tx: Tx, a: Assignment): Promise<void>;
  update(tx: Tx, a: Assignment): Promise<void>;
  list(tx: Tx, filter: { principalId?: string; roleId?: string; live?: boolean; source?: Assignment['source']; limit: number; after?: string }): Promise<Assignment[]>;
  /**
   * Lease due work: live assignments whose end has passed (`expire`) or scheduled ones whose start
   * has come (`start`). On PostgreSQL rows are locked FOR UPDATE SKIP LOCKED, so two nodes never
   * take the same one.
   */
  leaseDue(tx: Tx, what: 'expire' | 'start', now: number, limit: number): Promise<Assignment[]>;
  insertMany(tx: Tx, as: Assignment[]): Promise<void>;
}

export interface RequestRepo {
  get(tx: Tx, id: string): Promise<ActivationRequest | null>;
  /** For update: locks the row on PostgreSQL. */
  getForUpdate(tx: Tx, id: string): Promise<ActivationRequest | null>;
  insert(tx: Tx, r: ActivationRequest, idempotency: { key: string; fingerprint: string } | null): Promise<void>;
  update(tx: Tx, r: ActivationRequest): Promise<void>;
  byIdempotencyKey(tx: Tx, principalId: string, key: string): Promise<{ request: ActivationRequest; fingerprint: string } | null>;
  list(tx: Tx, filter: { principalId?: string; status?: string; roleId?: string; limit: number; after?: string }): Promise<ActivationRequest[]>;
  /** Live requests tied to an assignment (to move them when it ends). */
  byAssignment(tx: Tx, assignmentId: string): Promise<ActivationRequest[]>;
  /** Lease pending requests whose approval timeout has passed (SKIP LOCKED on PostgreSQL). */
  leaseTimedOut(tx: Tx, now: number, limit: number): Promise<ActivationRequest[]>;
  pending(tx: Tx, limit: number): Promise<ActivationRequest[]>;
}

export interface ApprovalRepo {
  insert(tx: Tx, a: Approval): Promise<void>;
  forRequest(tx: Tx, requestId: string): Promise<Approval[]>;
}

export interface AuditDraftRow {
  id: string;
  ts: number;
  type: string;
  outcome: AuditEvent['outcome'];
  actorId: string | null;
  principalId: string | null;
  roleId: string | null;
  scope: string | null;
  requestId: string | null;
  reasons: string[];
  data: Record<string, unknown>;
}

export interface AuditFilter {
  principalId?: string;
  actorId?: string;
  roleId?: string;
  /** Events at this scope or below it (`/` = every event that has a scope). */
  scope?: string;
  type?: string;
  outcome?: string;
  from?: number;
  to?: number;
  afterSeq?: number;
  limit: number;
}

export interface AuditRepo {
  /**
   * Append events to the chain inside the caller's transaction. Locks the chain head, so appends
   * from concurrent transactions (or nodes) serialize and the chain never forks.
   */
  append(tx: Tx, events: AuditDraftRow[]): Promise<AuditEvent[]>;
  head(tx: Tx): Promise<{ seq: number; hash: string }>;
  query(tx: Tx, f: AuditFilter): Promise<AuditEvent[]>;
  /** Stream the whole chain in order, in pages. */
  scan(fromSeq: number, pageSize: number): AsyncIterable<AuditEvent[]>;
  /** Lock the head and return it, for writing a checkpoint. */
  lockHead(tx: Tx): Promise<{ seq: number; hash: string }>;
  insertCheckpoint(tx: Tx, c: Checkpoint): Promise<void>;
  lastCheckpoint(tx: Tx): Promise<Checkpoint | null>;
  checkpoints(tx: Tx): Promise<Checkpoint[]>;
  putKey(tx: Tx, keyId: string, publicKeyPem: string, at: number): Promise<void>;
  keys(tx: Tx): Promise<{ keyId: string; publicKeyPem: string; createdAt: number }[]>;
}

// ---- identity -------------------------------------------------------------------------------

/** Stable links from a sign-in identity to a principal. Kinds: `username`, `oidc` (issuer#subject), `scim_external`. */
export interface IdentityRepo {
  /** Throws Conflict when the identity is already linked. */
  link(tx: Tx, kind: string, key: string, principalId: string, at: number): Promise<void>;
  resolve(tx: Tx, kind: string, key: string): Promise<string | null>;
  unlink(tx: Tx, kind: string, key: string): Promise<void>;
  linksOf(tx: Tx, principalId: string): Promise<{ kind: string; key: string }[]>;
}

export interface LocalAccountRepo {
  get(tx: Tx, principalId: string): Promise<{ passwordHash: string; passwordChangedAt: number } | null>;
  put(tx: Tx, principalId: string, passwordHash: string, at: number): Promise<void>;
  delete(tx: Tx, principalId: string): Promise<void>;
}

export interface Throttle {
  key: string;
  failures: number;
  windowStartedAt: number;
  lockedUntil: number | null;
}

/** Attempt counters every node shares (login by name and by address, MFA attempts). */
export interface ThrottleRepo {
  /** Locks the row on PostgreSQL, so concurrent attempts count one after another. */
  get(tx: Tx, key: string): Promise<Throttle | null>;
  put(tx: Tx, t: Throttle): Promise<void>;
  clear(tx: Tx, key: string): Promise<void>;
  /** Drop counters whose window started before `before` and that hold no lock any more. */
  purge(tx: Tx, before: number, now: number): Promise<number>;
}

export interface SessionRepo {
  insert(tx: Tx, s: Session): Promise<void>;
  /** `forUpdate` locks the row on PostgreSQL (read-modify-write of its MFA list). */
  get(tx: Tx, id: string, forUpdate?: boolean): Promise<Session | null>;
  touch(tx: Tx, id: string, at: number): Promise<void>;
  setMfa(tx: Tx, id: string, mfa: MfaEvidence[]): Promise<void>;
  revoke(tx: Tx, id: string, at: number): Promise<void>;
  /** Revoke every live session of a principal (but `exceptId`); returns how many. */
  revokeAll(tx: Tx, principalId: string, at: number, exceptId?: string | null): Promise<number>;
  /** Delete sessions that ended (expired or revoked) before `before`. */
  purge(tx: Tx, before: number): Promise<number>;
}

export interface TotpFactor {
  principalId: string;
  secretSealed: string;
  confirmedAt: number | null;
  /** The last accepted RFC 6238 time step: a code for this step or an earlier one is a replay. */
  lastStep: number;
  createdAt: number;
}

export interface WebauthnCredential {
  id: string;
  principalId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface MfaRepo {
  totp(tx: Tx, principalId: string): Promise<TotpFactor | null>;
  putTotp(tx: Tx, f: TotpFactor): Promise<void>;
  deleteTotp(tx: Tx, principalId: string): Promise<void>;
  webauthnCredentials(tx: Tx, principalId: string): Promise<WebauthnCredential[]>;
  webauthnCredential(tx: Tx, id: string): Promise<WebauthnCredential | null>;
  insertWebauthn(tx: Tx, c: WebauthnCredential): Promise<void>;
  updateWebauthn(tx: Tx, id: string, counter: number, lastUsedAt: number): Promise<void>;
  deleteWebauthn(tx: Tx, id: string): Promise<void>;
  /** Replace every recovery code of a principal. */
  replaceRecoveryCodes(tx: Tx, principalId: string, hashes: string[], at: number): Promise<void>;
  /** Mark a code used; false when it does not exist or was used already. */
  useRecoveryCode(tx: Tx, principalId: string, hash: string, at: number): Promise<boolean>;
  unusedRecoveryCodes(tx: Tx, principalId: string): Promise<number>;
}

export interface Challenge {
  id: string;
  kind: string;
  principalId: string | null;
  data: Record<string, unknown>;
  expiresAt: number;
}

/** Short-lived server-side state, shared by every node (WebAuthn challenges, OIDC state, step-up codes). */
export interface ChallengeRepo {
  put(tx: Tx, c: Challenge): Promise<void>;
  /** Read without consuming; null when missing, of another kind, or expired. */
  get(tx: Tx, id: string, kind: string, now: number): Promise<Challenge | null>;
  /** Read and delete (single use); null when missing, of another kind, or expired. */
  take(tx: Tx, id: string, kind: string, now: number): Promise<Challenge | null>;
  purgeExpired(tx: Tx, now: number): Promise<number>;
}

export interface OutboxItem {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

/** Effects that leave Elevate after commit: written in the transaction that causes them, sent later. */
export interface OutboxRepo {
  enqueue(tx: Tx, item: OutboxItem): Promise<void>;
  /** Undelivered items that are due (SKIP LOCKED on PostgreSQL). */
  leaseDue(tx: Tx, now: number, limit: number): Promise<OutboxItem[]>;
  update(tx: Tx, item: OutboxItem): Promise<void>;
  list(tx: Tx, f: { kind?: string; undeliveredOnly?: boolean; limit: number }): Promise<OutboxItem[]>;
}

export interface BreakglassReview {
  id: string;
  assignmentId: string;
  principalId: string;
  roleId: string;
  scope: string;
  justification: string;
  createdAt: number;
  status: 'open' | 'closed';
  closedBy: string | null;
  closedAt: number | null;
  note: string | null;
}

export interface BreakglassRepo {
  designate(tx: Tx, principalId: string, by: string, at: number): Promise<void>;
  undesignate(tx: Tx, principalId: string): Promise<void>;
  isDesignated(tx: Tx, principalId: string): Promise<boolean>;
  accounts(tx: Tx): Promise<{ principalId: string; createdBy: string; createdAt: number }[]>;
  insertReview(tx: Tx, r: BreakglassReview): Promise<void>;
  review(tx: Tx, id: string): Promise<BreakglassReview | null>;
  updateReview(tx: Tx, r: BreakglassReview): Promise<void>;
  reviews(tx: Tx, f: { status?: 'open' | 'closed'; limit: number }): Promise<BreakglassReview[]>;
}

/** Someone asks to keep an eligibility that ends soon; an admin (not them) approves or denies. */
export interface EligibilityRenewal {
  id: string;
  eligibilityId: string;
  principalId: string;
  roleId: string;
  scope: string;
  justification: string;
  status: 'pending' | 'approved' | 'denied' | 'cancelled';
  createdAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
}

export interface RenewalRepo {
  /** Throws Conflict(`renewal_pending`) when the eligibility already has a pending renewal. */
  insert(tx: Tx, r: EligibilityRenewal): Promise<void>;
  /** `forUpdate` locks the row on PostgreSQL (a decision reads, then writes it). */
  get(tx: Tx, id: string, forUpdate?: boolean): Promise<EligibilityRenewal | null>;
  update(tx: Tx, r: EligibilityRenewal): Promise<void>;
  list(tx: Tx, f: { status?: EligibilityRenewal['status']; principalId?: string; eligibilityId?: string; limit: number; after?: string }): Promise<EligibilityRenewal[]>;
}

export interface ScimToken {
  id: string;
  name: string;
  hash: string;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ScimTokenRepo {
  insert(tx: Tx, t: ScimToken): Promise<void>;
  byHash(tx: Tx, hash: string): Promise<ScimToken | null>;
  list(tx: Tx): Promise<ScimToken[]>;
  revoke(tx: Tx, id: string, at: number): Promise<void>;
}

/** Read-only facts for the dashboard (app/stats.ts): the period's events, final approvals, and assignments live in [from, to). */
export interface StatsRepo {
  facts(tx: Tx, from: number, to: number): Promise<StatsFacts>;
}

/** A change the decision index on every node must see. `origin` names the node that made it. */
export type IndexChange = { origin?: string } & (
  | { kind: 'principal'; id: string }
  | { kind: 'role'; id: string }
  | { kind: 'members'; id: string }
  | { kind: 'eligibility'; id: string }
  | { kind: 'assignment'; id: string }
  | { kind: 'token'; id: string }
);

export interface ChangeFeed {
  /** Announce a change inside the transaction; other nodes hear it only if it commits. */
  publish(tx: Tx, change: IndexChange): Promise<void>;
}

export interface Store extends TransactionRunner {
  dialect: 'sqlite' | 'postgres';
  principals: PrincipalRepo;
  members: MembershipRepo;
  tokens: TokenRepo;
  roles: RoleRepo;
  eligibilities: EligibilityRepo;
  assignments: AssignmentRepo;
  requests: RequestRepo;
  approvals: ApprovalRepo;
  audit: AuditRepo;
  identities: IdentityRepo;
  localAccounts: LocalAccountRepo;
  throttles: ThrottleRepo;
  sessions: SessionRepo;
  mfa: MfaRepo;
  challenges: ChallengeRepo;
  outbox: OutboxRepo;
  breakglass: BreakglassRepo;
  renewals: RenewalRepo;
  scimTokens: ScimTokenRepo;
  stats: StatsRepo;
  reviews: ReviewRepo;
  alerts: AlertRepo;
  siem: SiemRepo;
  inventory: InventoryRepo;
  changes: ChangeFeed;
  /** Everything the decision index needs at start, streamed. */
  loadIndex(sink: IndexSink): Promise<void>;
  /**
   * Subscribe to changes published by other nodes (PostgreSQL LISTEN); a no-op on the embedded store.
   * `onResync` is called when the feed lost changes (a dropped connection): reload everything.
   */
  listen(onChange: (c: IndexChange) => void, onResync?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface IndexSink {
  principal(id: string, kind: PrincipalKind, status: Principal['status']): void;
  role(id: string): void;
  members(groupId: string, members: string[]): void;
  eligibility(e: Eligibility): void;
  assignment(a: Assignment): void;
}
