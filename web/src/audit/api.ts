// The administrators' read-only views (audit explorer, dashboard): GET calls through the typed client
// the CLI uses, over the session cookie. Reads need no CSRF header. The server decides who may read.
import { ElevateClient, type AuditEventView, type VerifyResult } from '../../../src/cli/client.js';

export type { AuditEventView, VerifyResult };

const client = () => new ElevateClient({ baseUrl: location.origin, userAgent: 'elevate-portal' });

export type AuditFilters = {
  principal?: string;
  actor?: string;
  role?: string;
  /** At this scope or below it. */
  scope?: string;
  type?: string;
  outcome?: string;
  /** ISO 8601 */
  from?: string;
  /** ISO 8601 */
  to?: string;
};

export const PAGE_SIZE = 50;

/** One page of events matching the filters, oldest first, after `afterSeq`. */
export async function auditPage(f: AuditFilters, afterSeq?: number): Promise<AuditEventView[]> {
  return (await client().auditList({ ...f, afterSeq, limit: PAGE_SIZE })).items;
}

/** Verify the whole chain and its signed checkpoints (reads every event: run on demand). */
export const verifyChain = (): Promise<VerifyResult> => client().auditVerify();

export interface LatestCheckpoint {
  seq: number;
  hash: string;
  keyId: string;
  at: string;
}

export async function latestCheckpoint(): Promise<LatestCheckpoint | null> {
  return (await client().call<{ checkpoint: LatestCheckpoint | null }>('GET', '/api/v1/audit/checkpoints/latest')).checkpoint;
}

// ---- the dashboard -----------------------------------------------------------------------------

export interface LiveShare {
  count: number;
  hours: number;
}

export interface StatsDay {
  date: string;
  activations: number;
  breakglass: number;
  denials: number;
  standing: LiveShare;
  justInTime: LiveShare;
  breakglassAccess: LiveShare;
}

export interface Stats {
  from: string;
  to: string;
  generatedAt: string;
  timeZone: 'UTC';
  days: StatsDay[];
  totals: { activations: number; breakglass: number; denials: number; approvals: number; standingHours: number; justInTimeHours: number; breakglassHours: number };
  approvalLatency: { count: number; p50Ms: number | null; p90Ms: number | null; maxMs: number | null };
  denialsByReason: { reason: string; count: number }[];
  topRoles: { roleId: string; activations: number }[];
}

/** The dashboard's figures for [from, to) (ISO 8601); the server's default is the last 30 UTC days. */
export const stats = (period: { from?: string; to?: string } = {}): Promise<Stats> => client().call<Stats>('GET', '/api/v1/stats', { query: period });
