
/**
 * Who signed in and how: the facts a session carries, and the pure rules that read them at
 * activation and approval (MFA strength and freshness, device, sign-in risk, network).
 */

export type MfaStrength = 'none' | 'any' | 'phishing_resistant';
export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';
export type SignInRisk = 'none' | 'low' | 'medium' | 'high';
export const SIGN_IN_RISKS: readonly SignInRisk[] = ['none', 'low', 'medium', 'high'];

/** One MFA verification Elevate itself performed. Only these satisfy step-up; an IdP's `amr` is recorded, not trusted. */
export interface MfaEvidence {
  method: MfaMethod;
  at: number;
  /** WebAuthn credential id, for the audit trail. */
  credentialId?: string;
}

export const isPhishingResistant = (m: MfaMethod): boolean => m === 'webauthn';

/** How a session was signed in, and what the IdP said about it. */
export interface SignInFacts {
  signIn: 'oidc' | 'password';
  issuer: string | null;
  subject: string | null;
  groups: string[];
  amr: string[];
  acr: string | null;
  /** From the configured device claim; null when the IdP did not say. */
  deviceCompliant: boolean | null;
  /** From the configured risk claim; null when the IdP did not say. */
  signInRisk: SignInRisk | null;
}

export interface Session {
  /** SHA-256 of the cookie secret; the secret itself is never stored. */
  id: string;
  principalId: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end. The idle end is lastSeenAt + idle timeout. */
  expiresAt: number;
  revokedAt: number | null;
  facts: SignInFacts;
  mfa: MfaEvidence[];
}

/** The strongest MFA strength met by evidence fresher than `freshnessMs`, and the evidence that met it. */
export function freshMfa(evidence: readonly MfaEvidence[], now: number, freshnessMs: number): { strength: MfaStrength; by: MfaEvidence | null } {
  let best: MfaEvidence | null = null;
  for (const e of evidence) {
    if (e.at > now || now - e.at > freshnessMs) continue;
    if (!best || (isPhishingResistant(e.method) && !isPhishingResistant(best.method)) || (isPhishingResistant(e.method) === isPhishingResistant(best.method) && e.at > best.at)) best = e;
  }
  if (!best) return { strength: 'none', by: null };
  return { strength: isPhishingResistant(best.method) ? 'phishing_resistant' : 'any', by: best };
}

/** null when the requirement is met; otherwise the reason code. */
export function mfaReason(required: MfaStrength, evidence: readonly MfaEvidence[], now: number, freshnessMs: number): 'mfa_required' | 'mfa_too_weak' | null {
  if (required === 'none') return null;
  const { strength } = freshMfa(evidence, now, freshnessMs);
  if (strength === 'none') return 'mfa_required';
  if (required === 'phishing_resistant' && strength !== 'phishing_resistant') return 'mfa_too_weak';
  return null;
}

/** What a role's conditions can see about the caller. Missing facts are null, and deny. */
export interface ConditionFacts {
  deviceCompliant: boolean | null;
  signInRisk: SignInRisk | null;
  /** Whether the client address is in the role's allowed networks (computed by the caller); null when no address is known. */
  inAllowedNetwork: boolean | null;
}

export interface RoleConditions {
  deviceCompliant: boolean;
  maxSignInRisk: SignInRisk | null;
  networks: string[];
}

export const NO_CONDITIONS: RoleConditions = { deviceCompliant: false, maxSignInRisk: null, networks: [] };

/** Every failing condition, each its own reason code (deny by default when a fact is missing). */
export function conditionReasons(c: Pick<RoleConditions, 'deviceCompliant' | 'maxSignInRisk'> & { networks: readonly unknown[] }, f: ConditionFacts): string[] {
  const out: string[] = [];
  if (c.deviceCompliant) {
    if (f.deviceCompliant === null) out.push('device_compliance_unknown');
    else if (!f.deviceCompliant) out.push('device_not_compliant');
  }
  if (c.maxSignInRisk !== null) {
    if (f.signInRisk === null) out.push('sign_in_risk_unknown');
    else if (SIGN_IN_RISKS.indexOf(f.signInRisk) > SIGN_IN_RISKS.indexOf(c.maxSignInRisk)) out.push('sign_in_risk_too_high');
  }
  if (c.networks.length > 0 && f.inAllowedNetwork !== true) out.push('network_not_allowed');
  return out;
}
