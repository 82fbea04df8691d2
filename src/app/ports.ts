import type { AuditEvent, Checkpoint } from '../core/audit.js';
import type { ActivationRequest, ApiToken, Approval, Assignment, Eligibility, Principal, PrincipalKind, Role } from '../core/model.js';

/**
 * The narrow ports use cases depend on. Storage implements them for SQLite and PostgreSQL; every
 * method takes the transaction it runs in, so nothing can write outside one by accident.
 */

/** An open transaction. Effects that must wait for commit (index updates, outbox wake-ups) register here. */
export interface Tx {
  afterCommit(fn: () => void): void;
}

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
