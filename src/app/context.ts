import type { Clock } from '../core/clock.js';
import type { DecisionIndex } from '../core/decision.js';
import type { AuthFacts, RequestContext } from '../core/model.js';
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
  auth: { method: 'system', tokenId: null, mfa: { strength: 'none', methods: [], at: null }, authenticatedAt: now },
  sourceIp: null,
  userAgent: null,
});

export function requestContext(a: Actor): RequestContext {
  return { auth: a.auth, sourceIp: a.sourceIp, userAgent: a.userAgent };
}

export interface Limits {
  /** Shortest activation (ELEVATE_MIN_ACTIVATION, default PT5M). */
  minActivationMs: number;
  /** How far ahead an activation may be scheduled. */
  maxScheduleAheadMs: number;
}

/** What every use case may use. Each module picks the narrow part it needs. */
export interface AppDeps {
  store: Store;
  index: DecisionIndex;
  clock: Clock;
  newId: () => string;
  limits: Limits;
}
