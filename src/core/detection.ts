import type { AuditEvent } from './audit.js';
import { Invalid } from './errors.js';
import type { MfaStrength } from './identity.js';
import type { AssignmentSource, PrincipalKind, PrincipalStatus } from './model.js';
import { RISK_TIERS, type RiskTier } from './settings.js';

/**
 * Detection rules (issue 5 part 3), pure: a batch of new audit events, the recent history the
 * windows need, and (every few minutes) a snapshot of state go in; findings come out. The use case
 * (app/alerts.ts) turns findings into de-duplicated alerts. Nothing here reads a clock: windows are
 * measured between event times, and state rules against the `now` they are given.
 *
 * What counts as an "activation": an accepted activation request (`request.created` that was not
 * denied): granted at once or waiting for approval. Its time is when the person asked, which is
 * what their habits (hours, frequency) are made of.
 */

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export type DetectionEvent = Pick<AuditEvent, 'seq' | 'id' | 'ts' | 'type' | 'outcome' | 'actorId' | 'principalId' | 'roleId' | 'scope' | 'requestId' | 'reasons' | 'data'>;

export interface Finding {
  rule: RuleName;
  severity: Severity;
  /** With `rule`, identifies "the same thing": while an alert for it is open, findings add to it. */
  dedupeKey: string;
  title: string;
  summary: string;
  principals: string[];
  roleId: string | null;
  scope: string | null;
  /** Ids of the audit events that triggered it (empty for state findings). */
  events: string[];
  details: Record<string, unknown>;
}

// ------------------------------------------------------------------ settings

const H = 3_600_000;
const DAY = 24 * H;
const MIN = 60_000;

/**
 * Every rule, its default severity and thresholds. Each rule also has `enabled` (default true).
 * The comments are the documentation the settings API points to.
 */
export const DEFAULT_RULES = {
  /** A direct (standing) assignment made by an administrator: outside the eligible → activate process. `critical` for high/critical tier roles. */
  direct_assignment: { enabled: true, severity: 'high' as Severity },
  /** More than `maxHolders` principals (users and services, groups expanded) eligible for or holding a role of tier ≥ `minTier`, or more than `maxShare` of the active users (when there are at least `minUsersForShare`). */
  too_many_holders: { enabled: true, severity: 'high' as Severity, minTier: 'critical' as RiskTier, maxHolders: 5, maxShare: 0.1, minUsersForShare: 20 },
  /** An eligibility that is at least `days` old and was not used (no accepted activation request) for `days`. */
  unused_eligibility: { enabled: true, severity: 'low' as Severity, days: 90 },
  /** An active user or service that holds an eligibility or a live assignment but has not been seen (sign-in, session, API token or activation request) for `days`. */
  inactive_account: { enabled: true, severity: 'medium' as Severity, days: 90 },
  /** More than `max` activations by one principal within `windowHours`. */
  frequent_activations: { enabled: true, severity: 'medium' as Severity, max: 10, windowHours: 24 },
  /** An activation at a UTC hour more than `toleranceHours` away from every hour of the principal's own activations in the previous `baselineDays` (needs `minHistory` of them). */
  off_hours_activation: { enabled: true, severity: 'medium' as Severity, baselineDays: 30, minHistory: 10, toleranceHours: 1 },
  /** At least `minActivations` activations in 24 hours and more than `factor` × the principal's daily average over the `baselineDays` before (which needs `minBaseline` activations). */
  activation_spike: { enabled: true, severity: 'medium' as Severity, baselineDays: 14, factor: 3, minActivations: 5, minBaseline: 5 },
  /** An approver who is also eligible (directly or through a group) for the role whose request they approved. */
  approver_eligible: { enabled: true, severity: 'medium' as Severity },
  /** A approved B's request and B approved A's, within `windowHours` of each other. */
  collusion: { enabled: true, severity: 'high' as Severity, windowHours: 48 },
  /** An activation of a high/critical tier role by a principal who activated a low/medium tier role within `windowMinutes` before. */
  escalation_chain: { enabled: true, severity: 'high' as Severity, windowMinutes: 60 },
  /** At least `failures` MFA failures (failed verifications, activations refused for MFA, approvals refused for the approver's MFA) by one principal within `windowMinutes`. */
  mfa_failures: { enabled: true, severity: 'high' as Severity, failures: 5, windowMinutes: 15 },
  /** A high/critical tier role whose settings do not require MFA at activation. */
  high_risk_without_mfa: { enabled: true, severity: 'high' as Severity },
  /** Any break-glass activation. */
  breakglass_used: { enabled: true, severity: 'critical' as Severity },
  /** A service principal holding a live direct (standing) assignment of a high/critical tier role. */
  service_standing_privilege: { enabled: true, severity: 'high' as Severity },
  /** One approver deciding at least `decisions` requests within `windowMinutes`, or at least `fastDecisions` requests each within `fastSeconds` of their creation within `fastWindowMinutes`. */
  approval_fatigue: { enabled: true, severity: 'medium' as Severity, decisions: 10, windowMinutes: 15, fastSeconds: 10, fastDecisions: 3, fastWindowMinutes: 60 },
};

export type RuleName = keyof typeof DEFAULT_RULES;
export type DetectionSettings = { rules: { [K in RuleName]: (typeof DEFAULT_RULES)[K] } };
export const RULE_NAMES = Object.keys(DEFAULT_RULES) as RuleName[];

/** Rules over state (run every few minutes), the rest over new events. */
export const STATE_RULES: ReadonlySet<RuleName> = new Set(['too_many_holders', 'unused_eligibility', 'inactive_account', 'high_risk_without_mfa', 'service_standing_privilege']);

export function defaultDetectionSettings(): DetectionSettings {
  return structuredClone({ rules: DEFAULT_RULES });
}

/** Bounds of each numeric threshold: [min, max, integer?]. */
const BOUNDS: Record<string, [number, number, boolean]> = {
  maxHolders: [1, 100_000, true],
  maxShare: [0, 1, false],
  minUsersForShare: [1, 1_000_000, true],
  days: [1, 3650, true],
  max: [1, 100_000, true],
  windowHours: [1, 24 * 90, true],
  baselineDays: [1, 365, true],
  minHistory: [1, 10_000, true],
  toleranceHours: [0, 11, true],
  factor: [1, 1000, false],
  minActivations: [1, 100_000, true],
  minBaseline: [1, 100_000, true],
  windowMinutes: [1, 24 * 60 * 30, true],
  failures: [1, 10_000, true],
  decisions: [1, 10_000, true],
  fastSeconds: [1, 3600, true],
  fastDecisions: [1, 10_000, true],
  fastWindowMinutes: [1, 24 * 60 * 30, true],
};

/**
 * Validate a whole settings document (PUT replaces it). Rules and fields left out keep their
 * defaults; an unknown rule or field, or a bad value, is refused naming the field.
 */
export function validateDetectionSettings(input: unknown): DetectionSettings {
  const bad = (field: string, message: string): never => {
    throw new Invalid('invalid_settings', `${field}: ${message}`, { field });
  };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('rules', 'settings must be an object {"rules":{…}}');
  const top = input as Record<string, unknown>;
  for (const k of Object.keys(top)) if (k !== 'rules') bad(k, 'unknown field');
  const rules = top.rules ?? {};
  if (rules === null || typeof rules !== 'object' || Array.isArray(rules)) bad('rules', 'must be an object keyed by rule name');
  const out = defaultDetectionSettings();
  for (const [name, value] of Object.entries(rules as Record<string, unknown>)) {
    const field = `rules.${name}`;
    if (!Object.hasOwn(DEFAULT_RULES, name)) bad(field, `unknown rule (known: ${RULE_NAMES.join(', ')})`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'must be an object');
    const target = out.rules[name as RuleName] as Record<string, unknown>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const f = `${field}.${k}`;
      if (!Object.hasOwn(target, k)) bad(f, 'unknown field for this rule');
      if (k === 'enabled') {
        if (typeof v !== 'boolean') bad(f, 'must be true or false');
      } else if (k === 'severity') {
        if (!SEVERITIES.includes(v as Severity)) bad(f, `must be one of ${SEVERITIES.join(', ')}`);
      } else if (k === 'minTier') {
        if (!RISK_TIERS.includes(v as RiskTier)) bad(f, `must be one of ${RISK_TIERS.join(', ')}`);
      } else {
        const [lo, hi, int] = BOUNDS[k]!;
        if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < lo || v > hi) bad(f, `must be ${int ? 'an integer' : 'a number'} from ${lo} to ${hi}`);
      }
      target[k] = v;
    }
  }
  return out;
}

/** How far back the event rules look before the first new event, so windows and baselines are whole. */
export function historyWindowMs(s: DetectionSettings): number {
  const r = s.rules;
  return Math.max(
    r.frequent_activations.windowHours * H,
    r.off_hours_activation.baselineDays * DAY,
    (r.activation_spike.baselineDays + 1) * DAY,
    r.collusion.windowHours * H,
    r.escalation_chain.windowMinutes * MIN,
    r.mfa_failures.windowMinutes * MIN,
    r.approval_fatigue.windowMinutes * MIN,
    r.approval_fatigue.fastWindowMinutes * MIN,
  );
}

/** The event types the rules read (the scanner loads history of these only). */
export const HISTORY_TYPES: readonly string[] = ['request.created', 'approval.granted', 'approval.denied', 'mfa.failed', 'request.decision_refused'];

// ------------------------------------------------------------------ inputs

export interface RoleFacts {
  id: string;
  name: string;
  riskTier: RiskTier;
  /** The MFA the role's settings require at activation. */
  mfa: MfaStrength;
}

export interface StateFacts {
  principals: { id: string; kind: PrincipalKind; status: PrincipalStatus; createdAt: number; lastSignInAt: number | null }[];
  /** Live (active or scheduled, not ended) assignments of every source. */
  assignments: { id: string; principalId: string; roleId: string; scope: string; source: AssignmentSource; startsAt: number; endsAt: number | null }[];
  /** Live eligibilities, with the time of their last accepted activation request. */
  eligibilities: { id: string; principalId: string; roleId: string; scope: string; startsAt: number; endsAt: number | null; createdAt: number; lastUsedAt: number | null }[];
  /** Group → its active user and service members, nested groups expanded. */
  groupMembers: Record<string, string[]>;
}

export interface DetectionInput {
  now: number;
  settings: DetectionSettings;
  /** New events, in seq order. Event rules only report patterns that include one of these. */
  events: DetectionEvent[];
  /** Earlier events of HISTORY_TYPES within historyWindowMs, for windows and baselines. */
  history: DetectionEvent[];
  roles: RoleFacts[];
  /** Creation time of the requests decided in `events` (approval fatigue). */
  requestCreatedAt: Record<string, number>;
  /** Eligibilities of the approvers in `events`, held directly or through a group. */
  approverEligibilities: Record<string, { roleId: string; scope: string; eligibilityId: string; via: string }[]>;
  /** Present when the state rules are due. */
  state: StateFacts | null;
}

// ------------------------------------------------------------------ helpers

const HIGH: ReadonlySet<RiskTier> = new Set(['high', 'critical']);
const tierRank = (t: RiskTier) => RISK_TIERS.indexOf(t);
const iso = (ms: number) => new Date(ms).toISOString();

const isActivation = (e: DetectionEvent) => e.type === 'request.created' && e.outcome !== 'denied' && e.principalId !== null;
const isDecision = (e: DetectionEvent) => e.type === 'approval.granted' || e.type === 'approval.denied';
const approverOf = (e: DetectionEvent): string | null => (typeof e.data.approverId === 'string' ? e.data.approverId : e.actorId);
/**
 * A wrong, replayed or rate-limited code, not a missing one: `mfa_required` / `mfa_too_weak`
 * refusals are the normal step-up flow (refused, verify, retry) and would make the rule fire on
 * every busy on-call shift.
 */
const MFA_REASONS = new Set(['mfa_invalid_code', 'invalid_code', 'mfa_code_replayed', 'mfa_rate_limited', 'mfa_locked', 'mfa_counter_regressed']);

/** Whose MFA failed, if this event is an MFA failure at all. */
function mfaFailureOf(e: DetectionEvent): string | null {
  if (e.type === 'mfa.failed') return e.principalId ?? e.actorId;
  if (e.type === 'request.created' && e.outcome === 'denied' && e.reasons.some((r) => MFA_REASONS.has(r))) return e.principalId;
  if (e.type === 'request.decision_refused' && e.reasons.some((r) => MFA_REASONS.has(r))) return e.actorId;
  return null;
}

/** Events of one key, in time order, for sliding windows. */
function groupBy(events: DetectionEvent[], key: (e: DetectionEvent) => string | null): Map<string, DetectionEvent[]> {
  const m = new Map<string, DetectionEvent[]>();
  for (const e of events) {
    const k = key(e);
    if (k === null) continue;
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(e);
  }
  return m;
}

/** Events in (to - ms, to] up to and including `e` itself (same-time events earlier in seq count). */
const windowBefore = (list: DetectionEvent[], e: DetectionEvent, ms: number) => list.filter((x) => x.ts > e.ts - ms && (x.ts < e.ts || (x.ts === e.ts && x.seq <= e.seq)));

/** Circular distance between two hours of the day. */
const hourDistance = (a: number, b: number) => Math.min(Math.abs(a - b), 24 - Math.abs(a - b));

// ------------------------------------------------------------------ the rules

export function detect(input: DetectionInput): Finding[] {
  const { settings: { rules: R }, roles } = input;
  const roleById = new Map(roles.map((r) => [r.id, r]));
  const tierOf = (roleId: string | null) => (roleId ? roleById.get(roleId)?.riskTier ?? null : null);
  const fresh = new Set(input.events.map((e) => e.id));
  const all = [...input.history.filter((e) => !fresh.has(e.id)), ...input.events].filter((e) => !e.type.startsWith('alert.') && !e.type.startsWith('detection.')).sort((a, b) => a.seq - b.seq);
  const news = all.filter((e) => fresh.has(e.id));
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'severity'> & { severity?: Severity }) => out.push({ severity: R[f.rule].severity, ...f } as Finding);

  // ---- direct assignments and break-glass: one finding per event
  if (R.direct_assignment.enabled) {
    for (const e of news) {
      // The bootstrap's first administrator is the one direct assignment the system makes itself.
      if (e.type !== 'assignment.direct_created' || e.actorId === 'system' || !e.principalId) continue;
      const tier = tierOf(e.roleId);
      const assignmentId = typeof e.data.assignmentId === 'string' ? e.data.assignmentId : e.id;
      add({
        rule: 'direct_assignment', severity: tier && HIGH.has(tier) ? 'critical' : R.direct_assignment.severity, dedupeKey: `assignment:${assignmentId}`,
        title: `Direct assignment of ${e.roleId} to ${e.principalId}`,
        summary: `${e.actorId ?? 'someone'} assigned ${e.roleId}${tier ? ` (${tier} tier)` : ''} at ${e.scope} directly to ${e.principalId}, outside the eligible → activate process${e.data.endsAt == null ? ', with no end' : ''}.`,
        principals: [e.principalId], roleId: e.roleId, scope: e.scope, events: [e.id], details: { assignmentId, by: e.actorId, riskTier: tier, endsAt: e.data.endsAt ?? null },
      });
    }
  }
  if (R.breakglass_used.enabled) {
    for (const e of news) {
      if (e.type !== 'breakglass.activated' || !e.principalId) continue;
      const assignmentId = typeof e.data.assignmentId === 'string' ? e.data.assignmentId : e.id;
      add({
        rule: 'breakglass_used', dedupeKey: `assignment:${assignmentId}`, title: `Break-glass used by ${e.principalId}`,
        summary: `${e.principalId} activated ${e.roleId} at ${e.scope} through break-glass (no approval). Review it.`,
        principals: [e.principalId], roleId: e.roleId, scope: e.scope, events: [e.id], details: { assignmentId, reviewId: e.data.reviewId ?? null, justification: e.data.justification ?? null },
      });
    }
  }

  // ---- activation habits
  const activations = groupBy(all.filter(isActivation), (e) => e.principalId);
  for (const [pid, list] of activations) {
    for (const e of list) {
      if (!fresh.has(e.id)) continue;
      if (R.frequent_activations.enabled) {
        const w = windowBefore(list, e, R.frequent_activations.windowHours * H);
        if (w.length > R.frequent_activations.max) {
          add({
            rule: 'frequent_activations', dedupeKey: `principal:${pid}`, title: `${pid} activated ${w.length} times in ${R.frequent_activations.windowHours} h`,
            summary: `${pid} made ${w.length} activation requests within ${R.frequent_activations.windowHours} hours (threshold: more than ${R.frequent_activations.max}).`,
            principals: [pid], roleId: e.roleId, scope: e.scope, events: w.map((x) => x.id), details: { count: w.length, windowHours: R.frequent_activations.windowHours },
          });
        }
      }
      if (R.off_hours_activation.enabled) {
        const c = R.off_hours_activation;
        const prior = list.filter((x) => x.seq < e.seq && x.ts >= e.ts - c.baselineDays * DAY && x.ts <= e.ts);
        if (prior.length >= c.minHistory) {
          const hours = [...new Set(prior.map((x) => new Date(x.ts).getUTCHours()))].sort((a, b) => a - b);
          const h = new Date(e.ts).getUTCHours();
          if (!hours.some((u) => hourDistance(u, h) <= c.toleranceHours)) {
            add({
              rule: 'off_hours_activation', dedupeKey: `principal:${pid}`, title: `${pid} activated ${e.roleId} at an unusual hour (${String(h).padStart(2, '0')}:00 UTC)`,
              summary: `${pid} activated ${e.roleId} at ${iso(e.ts)}; their ${prior.length} activations of the previous ${c.baselineDays} days were at ${hours.map((x) => `${String(x).padStart(2, '0')}h`).join(', ')} UTC.`,
              principals: [pid], roleId: e.roleId, scope: e.scope, events: [e.id], details: { hourUtc: h, usualHoursUtc: hours, history: prior.length },
            });
          }
        }
      }
      if (R.activation_spike.enabled) {
        const c = R.activation_spike;
        const recent = windowBefore(list, e, DAY);
        const from = e.ts - DAY - c.baselineDays * DAY;
        const baseline = list.filter((x) => x.ts > from && x.ts <= e.ts - DAY);
        const average = baseline.length / c.baselineDays;
        if (baseline.length >= c.minBaseline && recent.length >= c.minActivations && recent.length > c.factor * average) {
          add({
            rule: 'activation_spike', dedupeKey: `principal:${pid}`, title: `Activation spike for ${pid}: ${recent.length} in 24 h`,
            summary: `${pid} made ${recent.length} activation requests in 24 hours against a daily average of ${average.toFixed(2)} over the previous ${c.baselineDays} days (factor ${c.factor}).`,
            principals: [pid], roleId: e.roleId, scope: e.scope, events: recent.map((x) => x.id), details: { count: recent.length, dailyAverage: Number(average.toFixed(3)), baselineDays: c.baselineDays },
          });
        }
      }
      if (R.escalation_chain.enabled) {
        const tier = tierOf(e.roleId);
        if (tier && HIGH.has(tier)) {
          const before = windowBefore(list, e, R.escalation_chain.windowMinutes * MIN).filter((x) => x.id !== e.id && (() => { const t = tierOf(x.roleId); return t !== null && !HIGH.has(t); })());
          if (before.length > 0) {
            const first = before[0]!;
            add({
              rule: 'escalation_chain', dedupeKey: `principal:${pid}`, title: `Escalation chain by ${pid}: ${first.roleId} then ${e.roleId}`,
              summary: `${pid} activated ${before.map((x) => `${x.roleId} (${tierOf(x.roleId)})`).join(', ')} and then ${e.roleId} (${tier}) within ${R.escalation_chain.windowMinutes} minutes.`,
              principals: [pid], roleId: e.roleId, scope: e.scope, events: [...before, e].map((x) => x.id), details: { chain: [...before, e].map((x) => ({ roleId: x.roleId, tier: tierOf(x.roleId), at: iso(x.ts) })) },
            });
          }
        }
      }
    }
  }

  // ---- MFA failures
  if (R.mfa_failures.enabled) {
    for (const [pid, list] of groupBy(all, mfaFailureOf)) {
      for (const e of list) {
        if (!fresh.has(e.id)) continue;
        const w = windowBefore(list, e, R.mfa_failures.windowMinutes * MIN);
        if (w.length >= R.mfa_failures.failures) {
          add({
            rule: 'mfa_failures', dedupeKey: `principal:${pid}`, title: `${w.length} MFA failures for ${pid} in ${R.mfa_failures.windowMinutes} min`,
            summary: `${pid} failed MFA ${w.length} times within ${R.mfa_failures.windowMinutes} minutes (failed verifications, or activations and approvals refused for MFA).`,
            principals: [pid], roleId: null, scope: null, events: w.map((x) => x.id), details: { count: w.length, types: [...new Set(w.map((x) => x.type))] },
          });
        }
      }
    }
  }

  // ---- approvals
  const approvals = all.filter((e) => e.type === 'approval.granted' && approverOf(e) !== null && e.principalId !== null);
  for (const e of approvals) {
    if (!fresh.has(e.id)) continue;
    const approver = approverOf(e)!;
    const requester = e.principalId!;
    if (R.approver_eligible.enabled && e.roleId) {
      const held = (input.approverEligibilities[approver] ?? []).filter((x) => x.roleId === e.roleId);
      if (held.length > 0) {
        add({
          rule: 'approver_eligible', dedupeKey: `approver:${approver}:role:${e.roleId}`, title: `${approver} approved ${e.roleId} and is eligible for it`,
          summary: `${approver} approved ${requester}'s request for ${e.roleId} at ${e.scope} while being eligible for ${e.roleId} themselves (${held.map((x) => `${x.scope}${x.via !== approver ? ` via ${x.via}` : ''}`).join(', ')}).`,
          principals: [approver, requester], roleId: e.roleId, scope: e.scope, events: [e.id], details: { approver, requester, requestId: e.requestId, eligibilities: held },
        });
      }
    }
    if (R.collusion.enabled && approver !== requester) {
      const ms = R.collusion.windowHours * H;
      const back = approvals.filter((x) => approverOf(x) === requester && x.principalId === approver && Math.abs(x.ts - e.ts) <= ms && x.seq < e.seq);
      if (back.length > 0) {
        const pair = [approver, requester].sort();
        add({
          rule: 'collusion', dedupeKey: `pair:${pair.join(':')}`, title: `${pair[0]} and ${pair[1]} approved each other's requests`,
          summary: `${requester} approved ${approver}'s request (${back.map((x) => x.roleId).join(', ')}) and ${approver} approved ${requester}'s (${e.roleId}) within ${R.collusion.windowHours} hours.`,
          principals: pair, roleId: e.roleId, scope: e.scope, events: [...back, e].map((x) => x.id), details: { requests: [...back, e].map((x) => ({ requestId: x.requestId, approver: approverOf(x), requester: x.principalId, roleId: x.roleId, at: iso(x.ts) })) },
        });
      }
    }
  }

  if (R.approval_fatigue.enabled) {
    const c = R.approval_fatigue;
    for (const [approver, list] of groupBy(all.filter(isDecision), approverOf)) {
      for (const e of list) {
        if (!fresh.has(e.id)) continue;
        const w = windowBefore(list, e, c.windowMinutes * MIN);
        const speed = (x: DetectionEvent) => (x.requestId && input.requestCreatedAt[x.requestId] !== undefined ? x.ts - input.requestCreatedAt[x.requestId]! : null);
        const fast = windowBefore(list, e, c.fastWindowMinutes * MIN).filter((x) => { const s = speed(x); return s !== null && s < c.fastSeconds * 1000; });
        const many = w.length >= c.decisions;
        const quick = fast.length >= c.fastDecisions;
        if (!many && !quick) continue;
        const trig = many ? w : fast;
        add({
          rule: 'approval_fatigue', dedupeKey: `approver:${approver}`,
          title: many ? `${approver} decided ${w.length} requests in ${c.windowMinutes} min` : `${approver} decided ${fast.length} requests in seconds each`,
          summary: many
            ? `${approver} decided ${w.length} requests within ${c.windowMinutes} minutes (threshold ${c.decisions}): decisions this fast may be rubber-stamped.`
            : `${approver} decided ${fast.length} requests each less than ${c.fastSeconds} seconds after it was made, within ${c.fastWindowMinutes} minutes.`,
          principals: [approver], roleId: null, scope: null, events: trig.map((x) => x.id),
          details: { decisions: w.length, fastDecisions: fast.length, secondsToDecide: fast.map((x) => Math.round(speed(x)! / 1000)) },
        });
      }
    }
  }

  // ---- state
  if (input.state) out.push(...detectState(input.state, input.settings, roles, input.now));
  return merge(out);
}

function detectState(state: StateFacts, settings: DetectionSettings, roles: RoleFacts[], now: number): Finding[] {
  const R = settings.rules;
  const out: Finding[] = [];
  const roleById = new Map(roles.map((r) => [r.id, r]));
  const principal = new Map(state.principals.map((p) => [p.id, p]));
  const expand = (id: string) => (principal.get(id)?.kind === 'group' ? state.groupMembers[id] ?? [] : [id]);

  if (R.high_risk_without_mfa.enabled) {
    for (const r of roles) {
      if (!HIGH.has(r.riskTier) || r.mfa !== 'none') continue;
      out.push({
        rule: 'high_risk_without_mfa', severity: R.high_risk_without_mfa.severity, dedupeKey: `role:${r.id}`, title: `${r.name} (${r.riskTier} tier) does not require MFA`,
        summary: `Role ${r.id} is ${r.riskTier} tier but its settings let it be activated without MFA: set settings.mfa to "any" or "phishing_resistant".`,
        principals: [], roleId: r.id, scope: null, events: [], details: { riskTier: r.riskTier, mfa: r.mfa },
      });
    }
  }

  if (R.too_many_holders.enabled) {
    const c = R.too_many_holders;
    const activeUsers = state.principals.filter((p) => p.kind === 'user' && p.status === 'active').length;
    for (const r of roles) {
      if (tierRank(r.riskTier) < tierRank(c.minTier)) continue;
      const holders = new Set<string>();
      for (const x of [...state.eligibilities, ...state.assignments]) if (x.roleId === r.id) for (const m of expand(x.principalId)) if (principal.get(m)?.status !== 'suspended') holders.add(m);
      const share = activeUsers > 0 ? holders.size / activeUsers : 0;
      const byCount = holders.size > c.maxHolders;
      const byShare = activeUsers >= c.minUsersForShare && share > c.maxShare;
      if (!byCount && !byShare) continue;
      const list = [...holders].sort();
      out.push({
        rule: 'too_many_holders', severity: c.severity, dedupeKey: `role:${r.id}`, title: `${holders.size} principals hold ${r.name} (${r.riskTier} tier)`,
        summary: `${holders.size} principals are eligible for or hold ${r.id}${byCount ? ` (more than ${c.maxHolders})` : ''}${byShare ? `, ${(share * 100).toFixed(1)}% of ${activeUsers} active users (more than ${(c.maxShare * 100).toFixed(1)}%)` : ''}.`,
        principals: list.slice(0, 100), roleId: r.id, scope: null, events: [], details: { holders: holders.size, activeUsers, share: Number(share.toFixed(4)) },
      });
    }
  }

  if (R.unused_eligibility.enabled) {
    const ms = R.unused_eligibility.days * DAY;
    for (const e of state.eligibilities) {
      if (e.startsAt > now - ms) continue;
      if (e.lastUsedAt !== null && e.lastUsedAt > now - ms) continue;
      out.push({
        rule: 'unused_eligibility', severity: R.unused_eligibility.severity, dedupeKey: `eligibility:${e.id}`, title: `${e.principalId}'s eligibility for ${e.roleId} unused for ${R.unused_eligibility.days}+ days`,
        summary: `${e.principalId} is eligible for ${e.roleId} at ${e.scope} since ${iso(e.startsAt)} and ${e.lastUsedAt === null ? 'never used it' : `last used it at ${iso(e.lastUsedAt)}`}: consider removing it.`,
        principals: [e.principalId], roleId: e.roleId, scope: e.scope, events: [], details: { eligibilityId: e.id, lastUsedAt: e.lastUsedAt === null ? null : iso(e.lastUsedAt), days: R.unused_eligibility.days },
      });
    }
  }

  if (R.inactive_account.enabled) {
    const ms = R.inactive_account.days * DAY;
    const holding = new Map<string, Set<string>>();
    for (const x of [...state.eligibilities, ...state.assignments]) {
      for (const m of expand(x.principalId)) {
        let s = holding.get(m);
        if (!s) holding.set(m, (s = new Set()));
        s.add(x.roleId);
      }
    }
    for (const p of state.principals) {
      if (p.kind === 'group' || p.status !== 'active' || !holding.has(p.id)) continue;
      const seen = p.lastSignInAt ?? p.createdAt;
      if (seen > now - ms) continue;
      const held = [...holding.get(p.id)!].sort();
      out.push({
        rule: 'inactive_account', severity: R.inactive_account.severity, dedupeKey: `principal:${p.id}`, title: `${p.id} has not been seen for ${R.inactive_account.days}+ days`,
        summary: `${p.kind} ${p.id} ${p.lastSignInAt === null ? 'was never seen (no sign-in, session, token use or request)' : `was last seen at ${iso(p.lastSignInAt)}`} but still holds ${held.join(', ')}.`,
        principals: [p.id], roleId: held.length === 1 ? held[0]! : null, scope: null, events: [], details: { lastSignInAt: p.lastSignInAt === null ? null : iso(p.lastSignInAt), roles: held, days: R.inactive_account.days },
      });
    }
  }

  if (R.service_standing_privilege.enabled) {
    for (const a of state.assignments) {
      const r = roleById.get(a.roleId);
      if (a.source !== 'direct' || !r || !HIGH.has(r.riskTier) || principal.get(a.principalId)?.kind !== 'service') continue;
      out.push({
        rule: 'service_standing_privilege', severity: R.service_standing_privilege.severity, dedupeKey: `assignment:${a.id}`, title: `Service ${a.principalId} holds ${r.name} standing`,
        summary: `Service principal ${a.principalId} holds a direct assignment of ${a.roleId} (${r.riskTier} tier) at ${a.scope}${a.endsAt === null ? ' with no end' : ` until ${iso(a.endsAt)}`}: make it eligible and activate it when needed.`,
        principals: [a.principalId], roleId: a.roleId, scope: a.scope, events: [], details: { assignmentId: a.id, since: iso(a.startsAt), endsAt: a.endsAt === null ? null : iso(a.endsAt) },
      });
    }
  }
  return out;
}

/** One finding per rule + key: events united (in order), the last finding's words. */
function merge(findings: Finding[]): Finding[] {
  const m = new Map<string, Finding>();
  for (const f of findings) {
    const k = `${f.rule}\u0000${f.dedupeKey}`;
    const prior = m.get(k);
    if (!prior) {
      m.set(k, f);
      continue;
    }
    const events = [...new Set([...prior.events, ...f.events])];
    const principals = [...new Set([...prior.principals, ...f.principals])];
    const rank = (s: Severity) => SEVERITIES.indexOf(s);
    m.set(k, { ...f, events, principals, severity: rank(prior.severity) > rank(f.severity) ? prior.severity : f.severity });
  }
  return [...m.values()];
}
