import type { MfaEvidence, SignInFacts } from './identity.js';
import type { RiskTier, RoleSettings } from './settings.js';

export type PrincipalKind = 'user' | 'group' | 'service';
export type PrincipalStatus = 'active' | 'suspended';

export interface Principal {
  id: string;
  kind: PrincipalKind;
  name: string;
  email: string | null;
  managerId: string | null;
  adminUnit: string | null;
  attributes: Record<string, string>;
  status: PrincipalStatus;
  createdAt: number;
  updatedAt: number;
}

export interface ApiToken {
  id: string;
  principalId: string;
  name: string;
  /** SHA-256 of the secret; the secret itself is shown once and never stored. */
  hash: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  riskTier: RiskTier;
  settings: RoleSettings;
  /** Built-in roles administer Elevate itself and cannot be deleted. */
  builtin: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Eligibility {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  startsAt: number;
  /** null = permanent (where the role allows it). */
  endsAt: number | null;
  justification: string;
  createdBy: string;
  createdAt: number;
  removedAt: number | null;
}

export type AssignmentSource = 'activation' | 'direct' | 'breakglass';
export type AssignmentStatus = 'scheduled' | 'active' | 'expired' | 'deactivated' | 'revoked';

export interface Assignment {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  source: AssignmentSource;
  requestId: string | null;
  startsAt: number;
  /** null = permanent (direct assignments only, where the role allows it). */
  endsAt: number | null;
  status: AssignmentStatus;
  justification: string;
  createdBy: string;
  createdAt: number;
  endedAt: number | null;
}

export type RequestStatus =
  | 'pending_approval'
  | 'approved'
  | 'scheduled'
  | 'active'
  | 'expired'
  | 'deactivated'
  | 'revoked'
  | 'denied'
  | 'cancelled'
  | 'timed_out'
  | 'activation_failed';

export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set(['expired', 'deactivated', 'revoked', 'denied', 'cancelled', 'timed_out', 'activation_failed']);

export type { MfaStrength } from './identity.js';

/** The facts about how the actor authenticated: the channel, the sign-in, and the MFA Elevate verified. */
export interface AuthFacts {
  method: 'token' | 'bootstrap' | 'session' | 'system' | 'scim';
  tokenId: string | null;
  sessionId: string | null;
  /** How the session signed in and what the IdP said; null for tokens (they carry no sign-in facts). */
  signIn: SignInFacts | null;
  /** MFA verifications Elevate performed for this caller: the session's, a step-up's, or one sent with the request. */
  mfa: MfaEvidence[];
  authenticatedAt: number;
}

/** Context recorded with a request: how the requester authenticated, and from where. */
export interface RequestContext {
  auth: AuthFacts;
  sourceIp: string | null;
  userAgent: string | null;
}

export interface ActivationRequest {
  id: string;
  kind: 'activate' | 'extend';
  principalId: string;
  roleId: string;
  scope: string;
  durationMs: number;
  justification: string;
  ticket: string | null;
  /** Requested start; null = as soon as allowed. */
  startAt: number | null;
  status: RequestStatus;
  /** Approval stage being collected (0-based); equal to the stage count when all are done. */
  stage: number;
  /** When a pending request times out. */
  timeoutAt: number | null;
  /** For extensions: the assignment being extended. For activations: the assignment made. */
  assignmentId: string | null;
  eligibilityId: string | null;
  reasons: string[];
  context: RequestContext;
  createdAt: number;
  updatedAt: number;
}

export interface Approval {
  id: string;
  requestId: string;
  approverId: string;
  decision: 'approve' | 'deny';
  reason: string;
  stage: number;
  adminUnit: string | null;
  createdAt: number;
}

/** The roles that administer Elevate itself: held like any other role, so they can be just-in-time too. */
export const ADMIN_ROLE = 'elevate-admin';
export const CHECKER_ROLE = 'elevate-checker';
export const ROOT_SCOPE = '/';
