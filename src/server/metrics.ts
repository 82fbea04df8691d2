import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UseCases } from '../app/index.js';
import type { AuditRepo, Store, Tx } from '../app/ports.js';
import type { AuditEvent } from '../core/audit.js';
import type { DecisionIndex } from '../core/decision.js';
import type { Clock } from '../core/clock.js';

export interface MetricsOptions {
  store: Store;
  index: DecisionIndex;
  clock: Clock;
  uc: UseCases;
  /** ELEVATE_METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`. */
  token: string | null;
}

/**
 * Prometheus metrics at GET /metrics (issue 5 part 5), on a registry of this server's own (several
 * servers can run in one process). What is counted, and how:
 *
 * - Counters come from audit events THIS node committed: `store.audit.append` is tapped, and the
 *   events are counted in `tx.afterCommit` (a rolled-back transaction counts nothing). Sum over
 *   nodes in PromQL. Counters restart at zero with the process, as Prometheus expects.
 * - elevate_approval_latency_seconds: request created → the approval that completed it
 *   (`request.approved`), read inside the approving transaction.
 * - elevate_time_to_revoke_seconds{how}: from when a grant should end to when this node's decision
 *   point stops honouring it. With the exact index a scheduled end needs no job: `how="expired"`
 *   measures the expiry bookkeeping (targets cleaned up, request closed) after the end time, while
 *   checks denied from the end time on. `how="revoked"|"deactivated"`: the revocation's own time →
 *   this node's index dropping the grant after commit (other nodes add the change-feed delay,
 *   under a second; not measured here).
 * - Gauges computed at scrape: grants in force by source from the decision index
 *   (elevate_grants_active, elevate_standing_share = direct / (direct + activation)), open
 *   (unresolved) alerts by severity, SIEM lag per sink, the self-audit's counts.
 */
export async function metricsRoutes(app: FastifyInstance, o: MetricsOptions): Promise<void> {
  const { store, index, clock, uc } = o;
  const register = new Registry();
  collectDefaultMetrics({ register });
  // prom-client's gauges named *_total break the naming convention promtool checks; their per-type
  // twins (nodejs_active_handles{type}, …) carry the same information.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) register.removeSingleMetric(name);

  const auditEvents = new Counter({ name: 'elevate_audit_events_total', help: 'Audit events committed by this node, by outcome', labelNames: ['outcome'], registers: [register] });
  const activations = new Counter({ name: 'elevate_activations_total', help: 'Just-in-time activations that took effect (a request granted active, or a scheduled one started), by role', labelNames: ['role'], registers: [register] });
  const denials = new Counter({ name: 'elevate_denials_total', help: 'Denied attempts recorded in the audit log, by event type and reason code (one per reason)', labelNames: ['type', 'reason'], registers: [register] });
  const approvalLatency = new Histogram({
    name: 'elevate_approval_latency_seconds',
    help: 'Request created to final approval',
    buckets: [5, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86_400, 3 * 86_400],
    registers: [register],
  });
  const timeToRevoke = new Histogram({
    name: 'elevate_time_to_revoke_seconds',
    help: 'A grant\'s end to access gone at this node: expiry bookkeeping lag after the end time (how="expired"; checks are denied from the end time itself), or revocation to index update (revoked, deactivated)',
    labelNames: ['how'],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [register],
  });
  const grantsActive = new Gauge({ name: 'elevate_grants_active', help: 'Grants in force now in the decision index, by source (direct = standing)', labelNames: ['source'], registers: [register] });
  const standingShare = new Gauge({ name: 'elevate_standing_share', help: 'Share of grants in force held as standing (direct) rather than just in time (activation); 0 when none', registers: [register] });
  const alertsOpen = new Gauge({ name: 'elevate_alerts_open', help: 'Unresolved (open or acknowledged) alerts by severity', labelNames: ['severity'], registers: [register] });
  const siemLag = new Gauge({ name: 'elevate_siem_lag_events', help: 'Audit events not yet delivered to a SIEM output (head seq - delivered seq)', labelNames: ['sink'], registers: [register] });
  const siemDead = new Gauge({ name: 'elevate_siem_dead_letters', help: 'Batches a SIEM output refused too often, not replayed yet', labelNames: ['sink'], registers: [register] });
  const siemAttempts = new Gauge({ name: 'elevate_siem_failed_attempts', help: 'Failed attempts at the batch a SIEM output is retrying (0 when healthy)', labelNames: ['sink'], registers: [register] });
  const saSampled = new Counter({ name: 'elevate_selfaudit_sampled_total', help: 'Check answers this node re-derived from the grant history', registers: [register] });
  const saDisagreements = new Counter({ name: 'elevate_selfaudit_disagreements_total', help: 'Re-derived check answers the grant history disagrees with (false allows and false denials)', registers: [register] });
  const saFalseAllows = new Counter({ name: 'elevate_false_allows_total', help: 'Allowed check answers the grant history does not support (goal: 0; each raises a critical alert)', registers: [register] });
  const falseAllowRate = new Gauge({ name: 'elevate_false_allow_rate', help: 'False allows / allowed answers re-derived by this node since it started (0 when none)', registers: [register] });

  for (const s of ['low', 'medium', 'high', 'critical']) alertsOpen.set({ severity: s }, 0);
  for (const s of ['activation', 'direct', 'breakglass']) grantsActive.set({ source: s }, 0);

  const seen = { sampled: 0, disagreements: 0, falseAllows: 0 };

  const untap = tapAudit(store, async (tx, events) => {
    const approvals: { ts: number; createdAt: number }[] = [];
    for (const e of events) {
      if (e.type === 'request.approved' && e.outcome === 'allowed' && e.requestId) {
        const r = await store.requests.get(tx, e.requestId);
        if (r) approvals.push({ ts: e.ts, createdAt: r.createdAt });
      }
    }
    tx.afterCommit(() => {
      const at = clock.now();
      for (const e of events) count(e, at);
      for (const a of approvals) approvalLatency.observe(Math.max(0, a.ts - a.createdAt) / 1000);
    });
  });
  app.addHook('onClose', async () => untap());

  function count(e: AuditEvent, at: number): void {
    auditEvents.inc({ outcome: e.outcome });
    if (e.outcome === 'denied') for (const reason of e.reasons.length ? e.reasons : ['unspecified']) denials.inc({ type: e.type, reason });
    switch (e.type) {
      case 'assignment.activated':
      case 'assignment.started':
        // Just-in-time only: a scheduled direct (standing) assignment starting is not an activation.
        if (e.data.source !== 'direct') activations.inc({ role: e.roleId ?? 'unknown' });
        break;
      case 'assignment.expired': {
        const endsAt = typeof e.data.endsAt === 'number' ? e.data.endsAt : null;
        if (endsAt !== null) timeToRevoke.observe({ how: 'expired' }, Math.max(0, e.ts - endsAt) / 1000);
        break;
      }
      case 'assignment.revoked':
      case 'assignment.deactivated':
        timeToRevoke.observe({ how: e.type.slice('assignment.'.length) }, Math.max(0, at - e.ts) / 1000);
        break;
    }
  }

  async function refresh(): Promise<void> {
    const g = index.grantCounts(clock.now());
    for (const [source, n] of Object.entries(g)) grantsActive.set({ source }, n);
    standingShare.set(g.direct + g.activation > 0 ? g.direct / (g.direct + g.activation) : 0);

    const open = await store.transaction((tx) => store.alerts.countOpenBySeverity(tx));
    for (const [severity, n] of Object.entries(open)) alertsOpen.set({ severity }, n);

    for (const s of await uc.siem.statusRows()) {
      siemLag.set({ sink: s.name }, s.lag);
      siemDead.set({ sink: s.name }, s.deadLetters);
      siemAttempts.set({ sink: s.name }, s.attempts);
    }

    const t = uc.selfAudit.totals();
    if (t.sampled > seen.sampled) saSampled.inc(t.sampled - seen.sampled);
    if (t.disagreements > seen.disagreements) saDisagreements.inc(t.disagreements - seen.disagreements);
    if (t.falseAllows > seen.falseAllows) saFalseAllows.inc(t.falseAllows - seen.falseAllows);
    Object.assign(seen, { sampled: t.sampled, disagreements: t.disagreements, falseAllows: t.falseAllows });
    falseAllowRate.set(t.sampledAllows > 0 ? t.falseAllows / t.sampledAllows : 0);
  }

  const expected = o.token ? digest(o.token) : null;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (expected) {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
        reply.status(401).header('www-authenticate', 'Bearer realm="metrics"');
        return { error: { code: 'unauthenticated', message: 'GET /metrics needs Authorization: Bearer <ELEVATE_METRICS_TOKEN>', details: {} } };
      }
    }
    await refresh();
    reply.header('content-type', register.contentType);
    reply.header('cache-control', 'no-store');
    return register.metrics();
  });
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

type AuditTap = (tx: Tx, events: AuditEvent[]) => Promise<void>;
const TAPS = Symbol.for('elevate.metrics.auditTaps');

/** Observe every batch of audit events appended through this store (inside its transaction). Returns the unsubscribe. */
function tapAudit(store: Store, tap: AuditTap): () => void {
  const audit = store.audit as AuditRepo & { [TAPS]?: Set<AuditTap> };
  let taps = audit[TAPS];
  if (!taps) {
    const set = new Set<AuditTap>();
    const append = audit.append.bind(audit);
    audit.append = async (tx, drafts) => {
      const events = await append(tx, drafts);
      for (const t of set) await t(tx, events);
      return events;
    };
    audit[TAPS] = taps = set;
  }
  taps.add(tap);
  return () => void audit[TAPS]!.delete(tap);
}
