// The portal's only way to the server: the same typed client the CLI uses (src/cli/client.ts), over
// the browser's session cookie. State-changing calls carry the x-csrf-token header. The portal
// shows what the server answers; it decides nothing itself.
import { ApiError, ElevateClient, type ActivationRequest, type Assignment, type Eligibility, type Me, type Principal, type Role } from '../../src/cli/client.js';
import { syncClock } from './time.js';

export { ApiError };
export type { ActivationRequest, Assignment, Eligibility, Principal, Role };

export interface PortalMe extends Me {
  csrfToken?: string;
  serverTime?: string;
}

let csrfToken = '';

function csrfFromCookie(): string {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'elevate_csrf') return decodeURIComponent(v.join('='));
  }
  return '';
}

export function client(): ElevateClient {
  const csrf = csrfToken || csrfFromCookie();
  return new ElevateClient({ baseUrl: location.origin, userAgent: 'elevate-portal', headers: csrf ? { 'x-csrf-token': csrf } : {} });
}

/** A random Idempotency-Key (works on plain http too, where crypto.randomUUID is missing). */
export function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- sign-in -------------------------------------------------------------------------------

export const authConfig = () => client().call<{ oidc: boolean }>('GET', '/auth/config');

export async function signIn(username: string, password: string): Promise<void> {
  const r = await client().call<{ csrfToken: string }>('POST', '/auth/login', { body: { username, password } });
  csrfToken = r.csrfToken;
}

export async function signOut(): Promise<void> {
  try {
    await client().call('POST', '/auth/logout');
  } finally {
    csrfToken = '';
  }
}

export async function me(): Promise<PortalMe> {
  const m = (await client().me()) as PortalMe;
  if (m.csrfToken) csrfToken = m.csrfToken;
  if (m.serverTime) syncClock(m.serverTime);
  return m;
}

// ---- what the signed-in person may do ------------------------------------------------------

let rolesCache: { at: number; roles: Map<string, Role> } | null = null;

/** Every role (readable by any signed-in principal), by id; kept for a minute. */
export async function roles(): Promise<Map<string, Role>> {
  if (rolesCache && Date.now() - rolesCache.at < 60_000) return rolesCache.roles;
  const { items } = await client().listRoles();
  rolesCache = { at: Date.now(), roles: new Map(items.map((r) => [r.id, r])) };
  return rolesCache.roles;
}

export const myEligibilities = async () => (await client().listEligibilities({ mine: true, limit: 1000 })).items;
export const myGrants = async () => (await client().listAssignments({ mine: true, live: true, limit: 1000 })).items;

/** A request to keep an eligibility that ends soon; an administrator other than the requester decides. */
export interface Renewal {
  id: string;
  eligibilityId: string;
  principalId: string;
  roleId: string;
  scope: string;
  justification: string;
  status: 'pending' | 'approved' | 'denied' | 'cancelled';
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

/** How close to its end an eligibility may be renewed (the server says no earlier: 409 not_expiring). */
export const RENEWAL_WINDOW_MS = 14 * 86_400_000;

export const myRenewals = async () => (await client().call<{ items: Renewal[] }>('GET', '/api/v1/eligibilities/renewals', { query: { mine: true, limit: 1000 } })).items;
export const requestRenewal = (eligibilityId: string, justification: string) =>
  client().call<Renewal>('POST', `/api/v1/eligibilities/${encodeURIComponent(eligibilityId)}/renewals`, { body: { justification } });

const newestFirst = (a: ActivationRequest, b: ActivationRequest) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? ''));
export const myRequests = async () => (await client().listRequests({ mine: true, limit: 1000 })).items.sort(newestFirst);
/** The approvals inbox: pending requests the server says this person may decide (never their own). */
export const approvable = async () => (await client().listRequests({ status: 'pending_approval', approvable: true, limit: 200 })).items;

export const activate = (body: { roleId: string; scope: string; duration: string; justification: string; ticket?: string }) => client().createRequest(body, newKey());
export const cancelRequest = (id: string) => client().cancel(id);
export const approve = (id: string, reason: string) => client().approve(id, reason);
export const deny = (id: string, reason: string) => client().deny(id, reason);

/** Does the signed-in person hold elevate-admin at / right now? The decision point, asked about oneself. */
export const holdsAdmin = async (principalId: string): Promise<boolean> => (await client().check(principalId, 'elevate-admin', '/')).allowed;

// ---- MFA step-up -----------------------------------------------------------------------------

export const verifyTotp = (code: string) => client().call('POST', '/api/v1/me/mfa/totp/verify', { body: { code } });
export const passkeyOptions = () => client().call<Record<string, unknown>>('POST', '/api/v1/me/mfa/webauthn/authenticate/options', { body: {} });
export const passkeyVerify = (response: unknown) => client().call('POST', '/api/v1/me/mfa/webauthn/verify', { body: { response } });
