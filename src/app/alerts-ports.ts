import type { AuditEvent } from '../core/audit.js';
import type { DetectionEvent, Severity, StateFacts } from '../core/detection.js';
import type { Tx } from './tx-port.js';

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: string;
  rule: string;
  severity: Severity;
  status: AlertStatus;
  dedupeKey: string;
  title: string;
  summary: string;
  principals: string[];
  roleId: string | null;
  scope: string | null;
  /** Audit event ids that triggered it (at most 100). */
  events: string[];
  details: Record<string, unknown>;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  note: string | null;
}

export interface DetectionCursor {
  seq: number;
  stateRunAt: number | null;
}

/** Storage for detection alerts, the detection cursor and thresholds. */
export interface AlertRepo {
  /** Throws Conflict(`already_exists`) when an unresolved alert with this rule + dedupeKey exists (a race). */
  insert(tx: Tx, a: Alert): Promise<void>;
  update(tx: Tx, a: Alert): Promise<void>;
  /** `forUpdate` locks the row on PostgreSQL. */
  get(tx: Tx, id: string, forUpdate?: boolean): Promise<Alert | null>;
  /** The open or acknowledged alert for rule + dedupeKey (locked on PostgreSQL). */
  unresolved(tx: Tx, rule: string, dedupeKey: string): Promise<Alert | null>;
  /** Newest first (by last seen). */
  list(tx: Tx, f: { status?: AlertStatus; severity?: Severity; rule?: string; limit: number }): Promise<Alert[]>;
  /** Unresolved (open or acknowledged) alerts by severity. */
  countOpenBySeverity(tx: Tx): Promise<Record<Severity, number>>;
  /**
   * Lock the cursor row for this scan. On PostgreSQL FOR UPDATE SKIP LOCKED: null when another node
   * is scanning right now (skip this tick). SQLite has one writer.
   */
  lockCursor(tx: Tx): Promise<DetectionCursor | null>;
  saveCursor(tx: Tx, c: DetectionCursor, at: number): Promise<void>;
  /** The stored settings document (null = never set: defaults). */
  settings(tx: Tx): Promise<unknown>;
  putSettings(tx: Tx, settings: unknown, by: string, at: number): Promise<void>;
  /** Earlier events of `types` with seq ≤ `maxSeq` and ts ≥ `from`, whose principal or actor is one of `principals` (newest `limit`, returned in seq order). */
  history(tx: Tx, f: { types: readonly string[]; principals: string[]; from: number; maxSeq: number; limit: number }): Promise<DetectionEvent[]>;
  /** Audit events by id, in seq order (those that exist). */
  auditEvents(tx: Tx, ids: string[]): Promise<AuditEvent[]>;
  /** When each request was created. */
  requestTimes(tx: Tx, requestIds: string[]): Promise<Record<string, number>>;
  /** The state the state rules read (groupMembers is left empty: the caller expands groups). */
  stateFacts(tx: Tx, now: number): Promise<Omit<StateFacts, 'groupMembers'>>;
}
