// What a role's settings mean, in plain words, for the administrator editing them: the rules a person
// meets when activating (rules.ts, the same sentences the activate dialog shows) plus what only an
// administrator deals with: how long eligibilities and standing assignments may last, break-glass.
import type { Role } from '../api.js';
import { describeRules } from '../rules.js';
import { durationWords } from '../time.js';

interface AdminSettings {
  eligibility?: { allowPermanent?: boolean; maxDuration?: string | null };
  activeAssignment?: { allowPermanent?: boolean; maxDuration?: string | null };
  breakGlass?: boolean;
}

export interface Meaning {
  activation: string[];
  administration: string[];
}

const TIERS: Record<string, string> = {
  low: 'Low risk.',
  medium: 'Medium risk.',
  high: 'High risk: approvers and reviewers see it flagged.',
  critical: 'Critical risk: it must always require approval.',
};

/** Sentences for a role as the server normalized it (so defaults are spelled out, not guessed). */
export function meaningOf(role: Role): Meaning {
  const s = (role.settings ?? {}) as AdminSettings;
  const administration: string[] = [TIERS[role.riskTier] ?? `${role.riskTier} risk.`];
  const e = s.eligibility;
  if (e?.allowPermanent !== false) administration.push('Eligibility may be permanent (no end date).');
  else administration.push(`Eligibility lasts at most ${durationWords(e.maxDuration ?? '')}; it must be renewed after that.`);
  const a = s.activeAssignment;
  if (a?.allowPermanent) administration.push('Standing (direct) assignments are allowed with no end date: prefer eligibility.');
  else administration.push(`Standing (direct) assignments last at most ${durationWords(a?.maxDuration ?? 'P30D')}.`);
  if (s.breakGlass) administration.push('Break-glass accounts may activate it without the identity provider and without approval (each use is reviewed).');
  return { activation: describeRules(role), administration };
}
