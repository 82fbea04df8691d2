import type { Clock } from '../core/clock.js';
import type { DecisionIndex } from '../core/decision.js';
import type { AuthFacts, RequestContext } from '../core/model.js';
import type { CallerFacts } from '../core/requests.js';
import type { Store } from './ports.js';

/** Who is acting, and how they proved it. Every use case takes one. */
export interface Actor {
  principalId: string;
  auth: AuthFacts;
  sourceIp: string | null;
  userAgent: string | null;
}

export const systemActor = (now: number): Actor => ({
  principalId: 'system',
  auth: { method: 'system', tokenId: null, sessionId: null, signIn: null, mfa: [], authenticatedAt: now },
  sourceIp: null,
  userAgent: null,
});

export function requestContext(a: Actor): RequestContext {
  return { auth: a.auth, sourceIp: a.sourceIp, userAgent: a.userAgent };
}

/** What role conditions and MFA rules can see about an actor. Tokens carry no device or risk facts. */
export function callerFacts(a: Actor): CallerFacts {
  return {
    mfa: a.auth.mfa,
    deviceCompliant: a.auth.signIn?.deviceCompliant ?? null,
    signInRisk: a.auth.signIn?.signInRisk ?? null,
    sourceIp: a.sourceIp,
  };
}

export interface Limits {
  /** Shortest activation (ELEVATE_MIN_ACTIVATION, default PT5M). */
  minActivationMs: number;
  /** How far ahead an activation may be scheduled. */
  maxScheduleAheadMs: number;
}

/** Sign-in, session and MFA settings, from configuration. */
export interface IdentityOptions {
  /** The base URL people reach (ELEVATE_PUBLIC_URL); its origin is the only one trusted for cookies and WebAuthn. */
  publicUrl: string;
  /** WebAuthn relying party id: the host name of publicUrl. */
  rpId: string;
  rpName: string;
  /** Idle and absolute session timeouts. */
  sessionIdleMs: number;
  sessionMaxMs: number;
  /** Failed sign-ins (per user name, case and spacing ignored) before a lockout, and its length. */
  loginMaxFailures: number;
  loginLockoutMs: number;
  /** Failed MFA codes (per principal) before a lockout, and its length. */
  mfaMaxFailures: number;
  mfaLockoutMs: number;
}

export function defaultIdentityOptions(publicUrl = 'http://localhost:8080'): IdentityOptions {
  return {
    publicUrl,
    rpId: new URL(publicUrl).hostname,
    rpName: 'Elevate',
    sessionIdleMs: 30 * 60_000,
    sessionMaxMs: 12 * 3_600_000,
    loginMaxFailures: 5,
    loginLockoutMs: 15 * 60_000,
    mfaMaxFailures: 5,
    mfaLockoutMs: 5 * 60_000,
  };
}

/** Encrypts secrets kept at rest (TOTP seeds) with a key that is never in the database. */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** What every use case may use. Each module picks the narrow part it needs. */
export interface AppDeps {
  store: Store;
  index: DecisionIndex;
  clock: Clock;
  newId: () => string;
  limits: Limits;
  identity: IdentityOptions;
  sealer: Sealer;
}
