// A role's settings (as GET /roles returns them) read for the person about to activate it. The
// server applies them; these sentences only explain them before the request is sent.
import type { Role } from './api.js';
import { durationWords, parseDuration } from './time.js';

interface Approver {
  principal?: string;
  group?: string;
  manager?: boolean;
}
interface Stage {
  approvers?: Approver[];
  minApprovals?: number;
  distinctAdminUnits?: boolean;
}
interface Window {
  days?: string[];
  from?: string;
  to?: string;
  timeZone?: string;
}
export interface Settings {
  maxActivation?: string;
  justification?: { required?: boolean; minLength?: number };
  ticket?: { required?: boolean; pattern?: string | null };
  approval?: Stage & { required?: boolean; stages?: Stage[] | null; timeout?: string };
  windows?: Window[];
  mfa?: 'none' | 'any' | 'phishing_resistant';
  mfaFreshness?: string;
  conditions?: { deviceCompliant?: boolean; maxSignInRisk?: string | null; networks?: string[] };
}

export const settingsOf = (role: Role | undefined): Settings => (role?.settings ?? {}) as Settings;

export const maxActivationMs = (s: Settings): number => parseDuration(s.maxActivation) ?? 3_600_000;
export const needsApproval = (s: Settings): boolean => s.approval?.required === true;
export const wantsTicket = (s: Settings): boolean => s.ticket?.required === true || !!s.ticket?.pattern;
export const mfaStrength = (s: Settings): 'none' | 'any' | 'phishing_resistant' => s.mfa ?? 'none';

function approverWords(a: Approver): string {
  if (a.manager) return 'your manager';
  if (a.group) return `a member of ${a.group}`;
  if (a.principal) return a.principal;
  return 'an approver';
}

function stageWords(st: Stage): string {
  const n = st.minApprovals ?? 1;
  const who = (st.approvers ?? []).map(approverWords);
  const list = who.length <= 1 ? (who[0] ?? 'an approver') : `${who.slice(0, -1).join(', ')} or ${who[who.length - 1]}`;
  const count = n === 1 ? `one approval from ${list}` : `${n} approvals from ${list}`;
  return st.distinctAdminUnits && n > 1 ? `${count}, each from a different administrative unit` : count;
}

/** One sentence per rule, in the order a person meets them. */
export function describeRules(role: Role): string[] {
  const s = settingsOf(role);
  const out: string[] = [];
  out.push(`Longest activation: ${durationWords(s.maxActivation ?? 'PT1H')}.`);
  const j = s.justification;
  if (j?.required === false) out.push('A justification is optional.');
  else out.push(`A justification is required: at least ${j?.minLength ?? 10} characters saying why.`);
  if (s.ticket?.required) out.push(s.ticket.pattern ? `A ticket is required, matching ${s.ticket.pattern}.` : 'A ticket is required.');
  else if (s.ticket?.pattern) out.push(`A ticket is optional; when given it must match ${s.ticket.pattern}.`);
  const a = s.approval;
  if (a?.required) {
    const stages = a.stages && a.stages.length > 0 ? a.stages : [a];
    const timeout = a.timeout ? ` It must be decided within ${durationWords(a.timeout)}.` : '';
    if (stages.length === 1) out.push(`Needs ${stageWords(stages[0]!)} before it starts.${timeout}`);
    else out.push(`Needs approval in ${stages.length} stages: ${stages.map((st, i) => `${i + 1}) ${stageWords(st)}`).join('; ')}.${timeout}`);
  } else {
    out.push('No approval needed: access starts as soon as you activate.');
  }
  const fresh = s.mfaFreshness ? ` verified in the last ${durationWords(s.mfaFreshness)}` : '';
  if (s.mfa === 'phishing_resistant') out.push(`Needs a passkey or security key${fresh}.`);
  else if (s.mfa === 'any') out.push(`Needs multi-factor verification (passkey or authenticator code)${fresh}.`);
  const c = s.conditions;
  if (c?.deviceCompliant) out.push('Only from a compliant (managed) device.');
  if (c?.maxSignInRisk) out.push(`Only when your sign-in risk is at most ${c.maxSignInRisk}.`);
  if (c?.networks && c.networks.length > 0) out.push(`Only from these networks: ${c.networks.join(', ')}.`);
  if (s.windows && s.windows.length > 0) {
    const w = s.windows.map((x) => `${(x.days ?? []).join(', ')} ${x.from ?? ''}–${x.to ?? ''}${x.timeZone ? ` (${x.timeZone})` : ''}`.trim());
    out.push(`Only during: ${w.join('; ')}.`);
  }
  return out;
}

/** A short line for the role list: "up to 4 hours · needs approval · passkey". */
export function summary(role: Role): string {
  const s = settingsOf(role);
  const parts = [`up to ${durationWords(s.maxActivation ?? 'PT1H')}`];
  if (needsApproval(s)) parts.push('needs approval');
  if (s.mfa === 'phishing_resistant') parts.push('passkey');
  else if (s.mfa === 'any') parts.push('MFA');
  if (s.ticket?.required) parts.push('ticket');
  return parts.join(' · ');
}
