import type { Approval, Assignment, Role } from '../core/model.js';
import type { Tx } from './tx-port.js';

export type RolloutMode = 'none' | 'awareness' | 'enforced';

/** One row of standing access held outside Elevate, as imported. */
export interface ImportedStanding {
  id: string;
  system: string;
  /** CSV line (header = 1) or JSON item number (1-based). */
  line: number;
  principalId: string | null;
  principalName: string;
  privilege: string;
  scope: string;
  since: number | null;
  lastUsedAt: number | null;
  justification: string;
  roleId: string | null;
  importedAt: number;
  importedBy: string;
  convertedAt: number | null;
  eligibilityId: string | null;
}

export interface RoleRollout {
  roleId: string;
  mode: RolloutMode;
  changedAt: number;
  changedBy: string;
}

/** Uses of one standing grant on one UTC day (day = ms at 00:00Z). */
export interface StandingUseRow {
  assignmentId: string;
  day: number;
  roleId: string;
  principalId: string;
  uses: number;
  lastUsedAt: number;
}

/** Per-role facts the readiness figures are computed from. */
export interface ReadinessFacts {
  /** Activation requests created since `since` that were granted (status reached approved or later). */
  activations: { roleId: string; count: number }[];
  /** Requests created since `since` that were approved by people: created → last approving decision. */
  approvals: { roleId: string; requestedAt: number; approvedAt: number }[];
  fallbackUses: { roleId: string; uses: number }[];
  /** Distinct principals holding a live direct assignment, per role. */
  standingHolders: { roleId: string; count: number }[];
  /** Distinct principals holding a live eligibility, per role. */
  eligibleHolders: { roleId: string; count: number }[];
}

/** An assignment for the evidence report, with names and the request it came from. */
export interface EvidenceRow {
  assignment: Assignment;
  principalName: string | null;
  roleName: string | null;
  riskTier: Role['riskTier'] | null;
  justification: string;
  ticket: string | null;
  /** The request that made it first, then any later requests tied to it (merged activations, extensions). */
  requestIds: string[];
}

/** Storage for the standing-access inventory (imports), per-role rollout mode and fallback-use counts. */
export interface InventoryRepo {
  /** Delete every row of `system` and insert `rows` (re-importing a system replaces what it said before). Returns rows deleted. */
  replaceImports(tx: Tx, system: string, rows: ImportedStanding[]): Promise<number>;
  imports(tx: Tx, f: { ids?: string[]; roleId?: string; includeConverted?: boolean; forUpdate?: boolean }): Promise<ImportedStanding[]>;
  markConverted(tx: Tx, id: string, eligibilityId: string, at: number): Promise<void>;
  /** Live (active or scheduled) direct assignments, optionally for one role. */
  standingAssignments(tx: Tx, f: { roleId?: string; ids?: string[] }): Promise<Assignment[]>;
  /** Principals whose id or email (case-insensitive) is one of `keys`. */
  principalsByKey(tx: Tx, keys: string[]): Promise<{ id: string; name: string; email: string | null }[]>;
  principalNames(tx: Tx, ids: string[]): Promise<Map<string, string>>;
  rollouts(tx: Tx): Promise<RoleRollout[]>;
  rollout(tx: Tx, roleId: string): Promise<RoleRollout | null>;
  putRollout(tx: Tx, r: RoleRollout): Promise<void>;
  /** Add counts (uses summed, last use kept as the latest) per assignment and day. */
  addUse(tx: Tx, rows: StandingUseRow[]): Promise<void>;
  /** Latest recorded use per assignment. */
  lastUse(tx: Tx, assignmentIds: string[]): Promise<Map<string, number>>;
  readiness(tx: Tx, since: number, now: number): Promise<ReadinessFacts>;
  /** Assignments whose held period [startsAt, min(endsAt, endedAt)) overlaps [from, to), with names and request. */
  evidence(tx: Tx, from: number, to: number, f: { roleId?: string; tiers?: Role['riskTier'][]; limit: number }): Promise<EvidenceRow[]>;
  approvalsFor(tx: Tx, requestIds: string[]): Promise<Approval[]>;
}
