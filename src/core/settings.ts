import { parseDuration } from './duration.js';
import { Invalid } from './errors.js';
import { normalizeId, ID_PATTERN } from './ids.js';
import { SIGN_IN_RISKS, type MfaStrength, type RoleConditions, type SignInRisk } from './identity.js';
import { normalizeCidr, parseCidrs, type Cidr } from './network.js';
import { validateWindow, type ActivationWindow } from './windows.js';

export type RiskTier = 'low' | 'medium' | 'high' | 'critical';
export const RISK_TIERS: readonly RiskTier[] = ['low', 'medium', 'high', 'critical'];

/** Who may approve: a named principal, every member of a group, or the requester's manager. */
export type ApproverSpec = { principal: string } | { group: string } | { manager: true };

export interface ApprovalStage {
  approvers: ApproverSpec[];
  /** Distinct people needed in this stage (N of M). */
  minApprovals: number;
  /** When set, the N approvers must come from N different administrative units. */
  distinctAdminUnits: boolean;
}

export interface RoleSettings {
  maxActivation: string;
  justification: { required: boolean; minLength: number };
  ticket: { required: boolean; pattern: string | null };
  approval: {
    required: boolean;
    approvers: ApproverSpec[];
    minApprovals: number;
    distinctAdminUnits: boolean;
    /** Sequential stages; when absent, one stage made of approvers/minApprovals. */
    stages: ApprovalStage[] | null;
    timeout: string;
  };
  eligibility: { allowPermanent: boolean; maxDuration: string | null };
  activeAssignment: { allowPermanent: boolean; maxDuration: string | null };
  windows: ActivationWindow[];
  /** MFA Elevate must have verified for the requester (and for each approver) within `mfaFreshness`. */
  mfa: MfaStrength;
  mfaFreshness: string;
  /** Facts about the caller that must hold; a missing fact denies. */
  conditions: RoleConditions;
  /** Designated break-glass accounts may activate this role without the IdP and without approval. */
  breakGlass: boolean;
  /** Who owns the role: principals or groups (expanded to members) that review access to it in `role_owners` access reviews. */
  owners: string[];
}

export const MFA_STRENGTHS: readonly MfaStrength[] = ['none', 'any', 'phishing_resistant'];

export const DEFAULT_SETTINGS: RoleSettings = {
  maxActivation: 'PT1H',
  justification: { required: true, minLength: 10 },
  ticket: { required: false, pattern: null },
  approval: { required: false, approvers: [], minApprovals: 1, distinctAdminUnits: false, stages: null, timeout: 'PT24H' },
  eligibility: { allowPermanent: true, maxDuration: null },
  activeAssignment: { allowPermanent: false, maxDuration: 'P30D' },
  windows: [],
  mfa: 'none',
  mfaFreshness: 'PT5M',
  conditions: { deviceCompliant: false, maxSignInRisk: null, networks: [] },
  breakGlass: false,
  owners: [],
};
const MAX_MFA_FRESHNESS_MS = 12 * 3_600_000;

export const MAX_ACTIVATION_CAP_MS = 7 * 86_400_000;
const MAX_APPROVAL_TIMEOUT_MS = 30 * 86_400_000;

type Partial2<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : Partial<T[K]> | null) : T[K] };
export type RoleSettingsInput = Partial2<RoleSettings>;

/** Parsed settings: durations in milliseconds, stages resolved. Computed once per role. */
export interface EffectiveSettings {
  maxActivationMs: number;
  justification: { required: boolean; minLength: number };
  ticket: { required: boolean; pattern: RegExp | null };
  approval: { required: boolean; stages: ApprovalStage[]; timeoutMs: number };
  eligibility: { allowPermanent: boolean; maxDurationMs: number | null };
  activeAssignment: { allowPermanent: boolean; maxDurationMs: number | null };
  windows: ActivationWindow[];
  mfa: { required: MfaStrength; freshnessMs: number };
  conditions: { deviceCompliant: boolean; maxSignInRisk: SignInRisk | null; networks: Cidr[]; raw: RoleConditions };
  breakGlass: boolean;
  owners: string[];
}

function bad(field: string, message: string): never {
  throw new Invalid('invalid_settings', `settings.${field}: ${message}`, { field: `settings.${field}` });
}

function normalizeApprover(a: unknown, field: string): ApproverSpec {
  if (a === null || typeof a !== 'object') bad(field, 'must be {"principal":id}, {"group":id} or {"manager":true}');
  const o = a as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) bad(field, 'must have exactly one of principal, group, manager');
  if ('manager' in o) {
    if (o.manager !== true) bad(field, 'manager must be true');
    return { manager: true };
  }
  const key = 'principal' in o ? 'principal' : 'group' in o ? 'group' : null;
  if (!key || typeof o[key] !== 'string') bad(field, 'must be {"principal":id}, {"group":id} or {"manager":true}');
  const id = normalizeId(o[key] as string);
  if (!ID_PATTERN.test(id)) bad(field, `${key} is not a valid identifier`);
  return key === 'principal' ? { principal: id } : { group: id };
}

function normalizeStage(s: { approvers?: unknown; minApprovals?: unknown; distinctAdminUnits?: unknown }, field: string): ApprovalStage {
  if (!Array.isArray(s.approvers) || s.approvers.length === 0) bad(`${field}.approvers`, 'an approval needs at least one approver');
  if (s.approvers.length > 50) bad(`${field}.approvers`, 'at most 50 approver entries');
  const approvers = s.approvers.map((a, i) => normalizeApprover(a, `${field}.approvers[${i}]`));
  const min = s.minApprovals ?? 1;
  if (typeof min !== 'number' || !Number.isInteger(min) || min < 1 || min > 20) bad(`${field}.minApprovals`, 'must be an integer from 1 to 20');
  const distinct = s.distinctAdminUnits ?? false;
  if (typeof distinct !== 'boolean') bad(`${field}.distinctAdminUnits`, 'must be a boolean');
  // With only named principals the quorum is countable now: a quorum larger than the list can never be met.
  if (approvers.every((a) => 'principal' in a)) {
    const distinctPeople = new Set(approvers.map((a) => (a as { principal: string }).principal)).size;
    if (min > distinctPeople) bad(`${field}.minApprovals`, `needs ${min} distinct approvers but only ${distinctPeople} are listed`);
  }
  if (approvers.every((a) => 'manager' in a) && min > 1) bad(`${field}.minApprovals`, 'a requester has one manager; minApprovals must be 1');
  return { approvers, minApprovals: min, distinctAdminUnits: distinct };
}

/**
 * Validate settings as a whole and fill in the safe defaults. Throws Invalid naming the first
 * offending field. Returns the normalized form that is stored.
 */
export function normalizeSettings(input: unknown, riskTier: RiskTier, minActivationMs: number): RoleSettings {
  const i = (input ?? {}) as Record<string, unknown>;
  if (typeof i !== 'object' || Array.isArray(i)) bad('', 'must be an object');
  const known = new Set(Object.keys(DEFAULT_SETTINGS));
  for (const k of Object.keys(i)) if (!known.has(k)) bad(k, 'is not a known setting');
  const obj = (k: string): Record<string, unknown> => {
    const v = i[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) bad(k, 'must be an object');
    return v as Record<string, unknown>;
  };
  const bool = (v: unknown, d: boolean, field: string): boolean => {
    if (v === undefined) return d;
    if (typeof v !== 'boolean') bad(field, 'must be a boolean');
    return v;
  };
  const dur = (v: unknown, field: string): number => {
    try {
      return parseDuration(v, field);
    } catch {
      return bad(field, 'must be an ISO 8601 duration such as PT4H');
    }
  };

  const maxActivation = (i.maxActivation as string | undefined) ?? DEFAULT_SETTINGS.maxActivation;
  const maxActivationMs = dur(maxActivation, 'maxActivation');
  if (maxActivationMs > MAX_ACTIVATION_CAP_MS) bad('maxActivation', 'must be at most P7D');
  if (maxActivationMs < minActivationMs) bad('maxActivation', `is shorter than the minimum activation (${minActivationMs / 1000}s)`);

  const j = obj('justification');
  const justification = {
    required: bool(j.required, DEFAULT_SETTINGS.justification.required, 'justification.required'),
    minLength: (j.minLength as number | undefined) ?? DEFAULT_SETTINGS.justification.minLength,
  };
  if (!Number.isInteger(justification.minLength) || justification.minLength < 1 || justification.minLength > 500) {
    bad('justification.minLength', 'must be an integer from 1 to 500');
  }

  const t = obj('ticket');
  const ticket = { required: bool(t.required, false, 'ticket.required'), pattern: (t.pattern as string | null | undefined) ?? null };
  if (ticket.pattern !== null) {
    if (typeof ticket.pattern !== 'string' || ticket.pattern.length === 0 || ticket.pattern.length > 200) bad('ticket.pattern', 'must be a regular expression of at most 200 characters');
    try {
      new RegExp(ticket.pattern, 'u');
    } catch {
      bad('ticket.pattern', 'is not a valid regular expression');
    }
  }

  const a = obj('approval');
  const approvalRequired = bool(a.required, false, 'approval.required');
  const timeout = (a.timeout as string | undefined) ?? DEFAULT_SETTINGS.approval.timeout;
  const timeoutMs = dur(timeout, 'approval.timeout');
  if (timeoutMs > MAX_APPROVAL_TIMEOUT_MS) bad('approval.timeout', 'must be at most P30D');
  let approvers: ApproverSpec[] = [];
  let stages: ApprovalStage[] | null = null;
  const minApprovals = (a.minApprovals as number | undefined) ?? 1;
  if (typeof minApprovals !== 'number' || !Number.isInteger(minApprovals) || minApprovals < 1 || minApprovals > 20) bad('approval.minApprovals', 'must be an integer from 1 to 20');
  const approversIn = a.approvers ?? undefined; // null reads as absent
  const distinctAdminUnits = bool(a.distinctAdminUnits, false, 'approval.distinctAdminUnits');
  if (a.stages !== undefined && a.stages !== null) {
    if (!Array.isArray(a.stages) || a.stages.length === 0 || a.stages.length > 5) bad('approval.stages', 'must be a list of 1 to 5 stages');
    if (approversIn !== undefined && (!Array.isArray(approversIn) || approversIn.length > 0)) bad('approval.approvers', 'give approvers either directly or in stages, not both');
    stages = (a.stages as unknown[]).map((s, idx) => {
      if (s === null || typeof s !== 'object') bad(`approval.stages[${idx}]`, 'must be an object');
      return normalizeStage(s as Record<string, unknown>, `approval.stages[${idx}]`);
    });
  } else if (approversIn !== undefined) {
    if (!Array.isArray(approversIn)) bad('approval.approvers', 'must be a list');
    if (approversIn.length > 0 || approvalRequired) {
      approvers = normalizeStage({ approvers: approversIn, minApprovals, distinctAdminUnits }, 'approval').approvers;
    }
  }
  if (approvalRequired && !stages && approvers.length === 0) bad('approval.approvers', 'approval is required but no approvers are named');
  if (!approvalRequired && stages) bad('approval.required', 'stages are given but approval is not required');
  if (riskTier === 'critical' && !approvalRequired) bad('approval.required', 'a critical role must require approval');

  const e = obj('eligibility');
  const eligibility = {
    allowPermanent: bool(e.allowPermanent, DEFAULT_SETTINGS.eligibility.allowPermanent, 'eligibility.allowPermanent'),
    maxDuration: (e.maxDuration as string | null | undefined) ?? null,
  };
  if (eligibility.maxDuration !== null) {
    dur(eligibility.maxDuration, 'eligibility.maxDuration');
    if (eligibility.allowPermanent) bad('eligibility.maxDuration', 'contradicts allowPermanent: true (a permanent eligibility has no maximum)');
  } else if (!eligibility.allowPermanent) {
    bad('eligibility.maxDuration', 'is required when permanent eligibility is not allowed');
  }

  const aa = obj('activeAssignment');
  const aaPermanent = bool(aa.allowPermanent, DEFAULT_SETTINGS.activeAssignment.allowPermanent, 'activeAssignment.allowPermanent');
  const activeAssignment = {
    allowPermanent: aaPermanent,
    maxDuration: aa.maxDuration === undefined ? (aaPermanent ? null : DEFAULT_SETTINGS.activeAssignment.maxDuration) : (aa.maxDuration as string | null),
  };
  if (activeAssignment.maxDuration !== null) {
    dur(activeAssignment.maxDuration, 'activeAssignment.maxDuration');
    if (activeAssignment.allowPermanent) bad('activeAssignment.maxDuration', 'contradicts allowPermanent: true');
  } else if (!activeAssignment.allowPermanent) {
    bad('activeAssignment.maxDuration', 'is required when permanent active assignments are not allowed');
  }

  const w = i.windows ?? [];
  if (!Array.isArray(w) || w.length > 14) bad('windows', 'must be a list of at most 14 windows');
  const windows = (w as ActivationWindow[]).map((win, idx) => {
    if (win === null || typeof win !== 'object') bad(`windows[${idx}]`, 'must be an object');
    const norm: ActivationWindow = { days: win.days, from: win.from, to: win.to, timeZone: win.timeZone };
    validateWindow(norm, `settings.windows[${idx}]`);
    return norm;
  });

  const mfa = (i.mfa as MfaStrength | undefined) ?? DEFAULT_SETTINGS.mfa;
  if (!MFA_STRENGTHS.includes(mfa)) bad('mfa', 'must be "none", "any" or "phishing_resistant"');
  const mfaFreshness = (i.mfaFreshness as string | undefined) ?? DEFAULT_SETTINGS.mfaFreshness;
  const freshMs = dur(mfaFreshness, 'mfaFreshness');
  if (freshMs < 30_000 || freshMs > MAX_MFA_FRESHNESS_MS) bad('mfaFreshness', 'must be from PT30S to PT12H');

  const c = obj('conditions');
  for (const k of Object.keys(c)) if (!['deviceCompliant', 'maxSignInRisk', 'networks'].includes(k)) bad(`conditions.${k}`, 'is not a known condition');
  const maxSignInRisk = (c.maxSignInRisk as SignInRisk | null | undefined) ?? null;
  if (maxSignInRisk !== null && !SIGN_IN_RISKS.includes(maxSignInRisk)) bad('conditions.maxSignInRisk', 'must be "none", "low", "medium" or "high"');
  const netsIn = c.networks ?? [];
  if (!Array.isArray(netsIn) || netsIn.length > 100) bad('conditions.networks', 'must be a list of at most 100 CIDR ranges');
  const networks = (netsIn as unknown[]).map((n, idx) => {
    if (typeof n !== 'string') bad(`conditions.networks[${idx}]`, 'must be a CIDR range such as 10.0.0.0/8');
    return normalizeCidr(n, `conditions.networks[${idx}]`);
  });
  const conditions: RoleConditions = { deviceCompliant: bool(c.deviceCompliant, false, 'conditions.deviceCompliant'), maxSignInRisk, networks };
  const breakGlass = bool(i.breakGlass, false, 'breakGlass');

  const ownersIn = i.owners ?? [];
  if (!Array.isArray(ownersIn) || ownersIn.length > 50) bad('owners', 'must be a list of at most 50 principal or group ids');
  const owners: string[] = [];
  (ownersIn as unknown[]).forEach((o, idx) => {
    if (typeof o !== 'string') bad(`owners[${idx}]`, 'must be a principal or group id');
    const id = normalizeId(o);
    if (!ID_PATTERN.test(id)) bad(`owners[${idx}]`, 'is not a valid identifier');
    if (!owners.includes(id)) owners.push(id);
  });

  return {
    maxActivation,
    justification,
    ticket,
    approval: { required: approvalRequired, approvers, minApprovals: stages ? 1 : minApprovals, distinctAdminUnits, stages, timeout },
    eligibility,
    activeAssignment,
    windows,
    mfa,
    mfaFreshness,
    conditions,
    breakGlass,
    owners,
  };
}

export function effectiveSettings(s: RoleSettings): EffectiveSettings {
  const stages: ApprovalStage[] = !s.approval.required
    ? []
    : (s.approval.stages ?? [{ approvers: s.approval.approvers, minApprovals: s.approval.minApprovals, distinctAdminUnits: s.approval.distinctAdminUnits }]);
  return {
    maxActivationMs: parseDuration(s.maxActivation),
    justification: s.justification,
    ticket: { required: s.ticket.required, pattern: s.ticket.pattern ? new RegExp(s.ticket.pattern, 'u') : null },
    approval: { required: s.approval.required, stages, timeoutMs: parseDuration(s.approval.timeout) },
    eligibility: { allowPermanent: s.eligibility.allowPermanent, maxDurationMs: s.eligibility.maxDuration ? parseDuration(s.eligibility.maxDuration) : null },
    activeAssignment: {
      allowPermanent: s.activeAssignment.allowPermanent,
      maxDurationMs: s.activeAssignment.maxDuration ? parseDuration(s.activeAssignment.maxDuration) : null,
    },
    windows: s.windows,
    // Settings stored before MFA and conditions existed read as the defaults.
    mfa: { required: s.mfa ?? 'none', freshnessMs: parseDuration(s.mfaFreshness ?? DEFAULT_SETTINGS.mfaFreshness) },
    conditions: conditionsOf(s.conditions ?? DEFAULT_SETTINGS.conditions),
    breakGlass: s.breakGlass ?? false,
    // Settings stored before role owners existed read as no owners.
    owners: s.owners ?? [],
  };
}

function conditionsOf(c: RoleConditions): EffectiveSettings['conditions'] {
  return { deviceCompliant: c.deviceCompliant, maxSignInRisk: c.maxSignInRisk, networks: parseCidrs(c.networks, 'conditions.networks'), raw: c };
}
