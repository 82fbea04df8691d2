// The administration pages' calls, through the same typed client as the rest of the portal (and the
// CLI), over the session cookie with the CSRF header. Every one of them is admin-only on the server;
// the portal only offers them to someone the server says holds elevate-admin.
import type { Query } from '../../../src/cli/client.js';
import { client, type Assignment, type Eligibility, type Principal, type Renewal, type Role } from '../api.js';

export type { Assignment, Eligibility, Principal, Renewal, Role };

const API = '/api/v1';
const enc = encodeURIComponent;

/** Every item of a list, page by page (lists are ordered by id; `after` is the last id seen). */
async function all<T extends { id: string }>(path: string, query: Query = {}, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const { items } = await client().call<{ items: T[] }>('GET', `${API}${path}`, { query: { ...query, limit: 1000, after } });
    out.push(...items);
    if (items.length < 1000) break;
    after = items[items.length - 1]!.id;
  }
  return out;
}

// ---- principals and groups -------------------------------------------------------------------

export const principals = () => all<Principal>('/principals');
export const createPrincipal = (body: { id: string; kind: string; name?: string; email?: string | null; managerId?: string | null; adminUnit?: string | null }) => client().createPrincipal(body);
export const setPrincipalStatus = (id: string, status: 'active' | 'suspended') => client().call<Principal>('PATCH', `${API}/principals/${enc(id)}`, { body: { status } });
export const groupMembers = async (id: string) => (await client().call<{ members: string[] }>('GET', `${API}/groups/${enc(id)}/members`)).members;
export const setGroupMembers = async (id: string, members: string[]) => ((await client().setGroupMembers(id, members)) as { members: string[] }).members;

// ---- roles -------------------------------------------------------------------------------------

export interface RoleDraft {
  id?: string;
  name?: string;
  description?: string;
  riskTier: string;
  settings: Record<string, unknown>;
}

export const roles = async () => (await client().listRoles()).items;
/** The server's dry run: the role as it would be stored, or the 400 naming the offending field. */
export const validateRole = (draft: RoleDraft) => client().call<Role>('POST', `${API}/roles/validate`, { body: draft });
export const createRole = (draft: RoleDraft & { id: string }) => client().createRole({ ...draft });
export const updateRole = (id: string, d: RoleDraft) =>
  client().call<Role>('PUT', `${API}/roles/${enc(id)}`, { body: { name: d.name, description: d.description, riskTier: d.riskTier, settings: d.settings } });

// ---- eligibilities and assignments ---------------------------------------------------------------

export const eligibilities = () => all<Eligibility>('/eligibilities');
export const liveAssignments = () => all<Assignment>('/assignments', { live: true });
export const createEligibility = (body: { principalId: string; roleId: string; scope: string; endsAt: string | null; justification: string }) => client().createEligibility(body);
export const removeEligibility = (id: string) => client().call<void>('DELETE', `${API}/eligibilities/${enc(id)}`);
export interface Converted {
  assignment: Assignment;
  eligibility: Eligibility;
  eligibilityCreated: boolean;
}
/** End a standing assignment and make its holder eligible instead, in one transaction on the server. */
export const convertToEligible = (id: string) => client().call<Converted>('POST', `${API}/assignments/${enc(id)}/convert-to-eligible`);

// ---- renewals of eligibilities that end soon ------------------------------------------------------

export const pendingRenewals = () => all<Renewal>('/eligibilities/renewals', { status: 'pending' });
/** Approve (the eligibility's end moves on) or deny; never one's own (403 self_approval). */
export const decideRenewal = (id: string, decision: 'approve' | 'deny', reason: string) =>
  client().call<{ renewal: Renewal; eligibility: Eligibility }>('POST', `${API}/eligibilities/renewals/${enc(id)}/${decision}`, { body: { reason } });
