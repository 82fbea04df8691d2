import type { AuditEvent } from '../core/audit.js';
import type { Tx } from './tx-port.js';

/**
 * A SIEM output (syslog over TCP/TLS, a signed HTTP webhook). It receives a batch of audit events
 * in seq order and resolves only when the whole batch was handed over; it throws to have the
 * batch retried. Delivery is at least once: a receiver may see a batch twice (dedupe on `seq`/`id`).
 */
export interface SiemSink {
  /** Where it delivers, safe to show (no secret, no credentials): `tcp://host:514`, `https://siem.example/in`. */
  readonly target: string;
  send(events: readonly AuditEvent[]): Promise<void>;
}

/** Per sink: the last audit seq it has been given, and the state of the batch being retried. */
export interface SiemCursor {
  sink: string;
  deliveredSeq: number;
  lastDeliveredAt: number | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** Set while a node is sending a batch (its own id); the completion only applies with the same lease. */
  leaseId: string | null;
}

/** A batch given up on after too many failed attempts: the cursor moved past it; an admin can replay it. */
export interface SiemDeadLetter {
  id: string;
  sink: string;
  fromSeq: number;
  toSeq: number;
  error: string;
  attempts: number;
  createdAt: number;
  replayedAt: number | null;
}

/** One run of the false-allow self-audit. */
export interface SelfAuditRun {
  id: string;
  at: number;
  /** Answers re-derived from the grant history. */
  sampled: number;
  /** Answers the history does not support (false allows + false denials). */
  disagreements: number;
  falseAllows: number;
  /** Answers that could not be re-derived (principal or membership changed since). */
  inconclusive: number;
}

/** Storage for SIEM export cursors and dead letters, and the self-audit's runs. */
export interface SiemRepo {
  /** Create the cursor row of a sink (starting at `deliveredSeq`) when it does not exist yet. */
  ensureCursor(tx: Tx, sink: string, deliveredSeq: number, now: number): Promise<void>;
  /** The cursor, locked: `lease` (FOR UPDATE SKIP LOCKED on PostgreSQL, null when another node holds it or it is not due), `update` (waits). */
  lockCursor(tx: Tx, sink: string, mode: 'lease' | 'update', now: number): Promise<SiemCursor | null>;
  putCursor(tx: Tx, c: SiemCursor): Promise<void>;
  cursors(tx: Tx): Promise<SiemCursor[]>;

  insertDeadLetter(tx: Tx, d: SiemDeadLetter): Promise<void>;
  /** `forUpdate` locks the row on PostgreSQL. */
  deadLetter(tx: Tx, id: string, forUpdate?: boolean): Promise<SiemDeadLetter | null>;
  updateDeadLetter(tx: Tx, d: SiemDeadLetter): Promise<void>;
  deadLetters(tx: Tx, f: { sink?: string; limit: number }): Promise<SiemDeadLetter[]>;
  /** Dead letters not replayed yet, per sink. */
  pendingDeadLetters(tx: Tx): Promise<Record<string, number>>;

  insertSelfAuditRun(tx: Tx, r: SelfAuditRun): Promise<void>;
  /** Newest first. */
  selfAuditRuns(tx: Tx, limit: number): Promise<SelfAuditRun[]>;
  falseAllowTotal(tx: Tx): Promise<number>;
}
