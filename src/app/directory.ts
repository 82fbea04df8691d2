import { hash, randomBytes } from 'node:crypto';
import { Conflict, Invalid, NotFound, Unauthenticated } from '../core/errors.js';
import { normalizeId, parseId } from '../core/ids.js';
import { type ApiToken, type Principal, type PrincipalKind, type PrincipalStatus } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { deny, isAdmin, requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import { endAssignment } from './grants.js';
import { assertAdminRemains, lockAdmins, membersInTx, reconcileGrants, subjectsInTx } from './holders.js';
import type { Tx } from './ports.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export interface PrincipalInput {
  id: string;
  kind: PrincipalKind;
  name?: string;
  email?: string | null;
  managerId?: string | null;
  adminUnit?: string | null;
  attributes?: Record<string, string>;
}

export type PrincipalPatch = Partial<Omit<PrincipalInput, 'id' | 'kind'>> & { status?: PrincipalStatus };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

const TOUCH_EVERY_MS = 60_000;

export function cleanEmail(e: string | null | undefined): string | null {
  if (e === undefined || e === null || e === '') return null;
  const v = e.normalize('NFKC').trim().toLowerCase();
  if (!EMAIL.test(v)) throw new Invalid('invalid_request', 'email is not an email address', { field: 'email' });
  return v;
}

function cleanAttributes(a: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a ?? {})) {
    if (typeof v !== 'string') throw new Invalid('invalid_request', `attributes.${k} must be a string`, { field: `attributes.${k}` });
    out[k] = v;
  }
  return out;
}

/** Extra audit data and reasons a caller (SCIM provisioning) attaches to the directory's own events. */
export interface WriteOptions {
  /** Merged into the data of the principal.* / group.* event written. */
  audit?: Record<string, unknown>;
  /** Reason recorded on pending requests cancelled by a suspension (default `principal_suspended`). */
  suspendReason?: string;
}

/**
 * The directory's writes, inside the caller's transaction and without the admin check: the admin
 * API wraps each in requireAdmin + one transaction; SCIM provisioning (authorized by its own token)
 * composes them in its transactions. One path for each change, so the rules (manager validation,
 * last-admin lockout, cycle checks, reconciling grants) hold whoever asks.
 */
export function directoryWrites(deps: Deps) {
  const { store, index } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  async function publishPrincipal(tx: Tx, p: Principal) {
    await store.changes.publish(tx, { kind: 'principal', id: p.id });
    tx.afterCommit(() => index.upsertPrincipal(p.id, p.kind, p.status));
  }

  async function validateManager(tx: Tx, managerId: string | null | undefined, self: string): Promise<string | null> {
    if (managerId === undefined || managerId === null || managerId === '') return null;
    const id = parseId(managerId, 'managerId');
    if (id === self) throw new Invalid('invalid_request', 'a principal cannot be its own manager', { field: 'managerId' });
    const m = await store.principals.get(tx, id);
    if (!m || m.kind !== 'user') throw new Invalid('unknown_manager', `managerId ${id} is not a known user`, { field: 'managerId' });
    return id;
  }

  return {
    /** `input.id` must already be parsed. `status` defaults to active. */
    async createPrincipal(tx: Tx, actor: Actor, input: PrincipalInput & { status?: PrincipalStatus }, now: number, o: WriteOptions = {}): Promise<Principal> {
      const id = input.id;
      if (await store.principals.get(tx, id)) throw new Conflict('already_exists', `principal ${id} already exists`);
      const p: Principal = {
        id,
        kind: input.kind,
        name: (input.name ?? id).trim() || id,
        email: cleanEmail(input.email),
        managerId: await validateManager(tx, input.managerId, id),
        adminUnit: input.adminUnit ? normalizeId(input.adminUnit) : null,
        attributes: cleanAttributes(input.attributes),
        status: input.status ?? 'active',
        createdAt: now,
        updatedAt: now,
      };
      await store.principals.insert(tx, p);
      await writeAudit(audit, tx, now, actor, { principalId: id }, [
        draft('principal.created', 'info', { kind: p.kind, name: p.name, email: p.email, managerId: p.managerId, adminUnit: p.adminUnit, ...(p.status !== 'active' ? { status: p.status } : {}), ...o.audit }),
      ]);
      await publishPrincipal(tx, p);
      return p;
    },

    async updatePrincipal(tx: Tx, actor: Actor, id: string, patch: PrincipalPatch, now: number, o: WriteOptions = {}): Promise<Principal> {
      const suspending = patch.status === 'suspended';
      if (suspending) await lockAdmins(store, tx);
      const p = await store.principals.get(tx, id);
      if (!p) throw new NotFound('not_found', `principal ${id} not found`);
      // A suspended group no longer carries eligibility: its members' activated grants are re-checked.
      const affected = suspending && p.kind === 'group' && p.status === 'active' ? await membersInTx(store, tx, id) : [];
      const next: Principal = {
        ...p,
        name: patch.name !== undefined ? patch.name.trim() || p.name : p.name,
        email: patch.email !== undefined ? cleanEmail(patch.email) : p.email,
        managerId: patch.managerId !== undefined ? await validateManager(tx, patch.managerId, id) : p.managerId,
        adminUnit: patch.adminUnit !== undefined ? (patch.adminUnit ? normalizeId(patch.adminUnit) : null) : p.adminUnit,
        attributes: patch.attributes !== undefined ? cleanAttributes(patch.attributes) : p.attributes,
        status: patch.status ?? p.status,
        updatedAt: now,
      };
      await store.principals.update(tx, next);
      if (suspending) {
        await assertAdminRemains(store, tx, now);
        await reconcileGrants(deps, tx, actor, affected, now, 'group_suspended');
        for (const r of await store.requests.list(tx, { principalId: id, status: 'pending_approval', limit: 10_000 })) {
          await store.requests.update(tx, { ...r, status: 'cancelled', reasons: [o.suspendReason ?? 'principal_suspended'], updatedAt: now });
        }
        // Suspension signs the person out everywhere: reactivating must not revive an old session.
        await store.sessions.revokeAll(tx, id, now);
      }
      const changed = Object.keys(patch);
      await writeAudit(audit, tx, now, actor, { principalId: id }, [
        draft(next.status !== p.status ? `principal.${next.status === 'suspended' ? 'suspended' : 'reactivated'}` : 'principal.updated', 'info', { changed, ...o.audit }),
      ]);
      await publishPrincipal(tx, next);
      return next;
    },

    /** Delete a principal: its grants end now, its eligibilities, memberships and tokens go. */
    async deletePrincipal(tx: Tx, actor: Actor, id: string, now: number, o: WriteOptions = {}): Promise<void> {
      await lockAdmins(store, tx);
      const p = await store.principals.get(tx, id);
      if (!p) throw new NotFound('not_found', `principal ${id} not found`);
      const formerMembers = p.kind === 'group' ? await membersInTx(store, tx, id) : [];
      const pendingRequests = await store.requests.list(tx, { principalId: id, status: 'pending_approval', limit: 10_000 });
      for (const r of pendingRequests) await store.requests.update(tx, { ...r, status: 'cancelled', reasons: ['principal_deleted'], updatedAt: now });
      const live = await store.assignments.list(tx, { principalId: id, live: true, limit: 100_000 });
      for (const a of live) await endAssignment(deps, tx, actor, a, 'revoked', now, 'principal_deleted');
      const eligs = await store.eligibilities.list(tx, { principalIds: [id], limit: 100_000 });
      for (const e of eligs) {
        await store.eligibilities.markRemoved(tx, e.id, now);
        await store.changes.publish(tx, { kind: 'eligibility', id: e.id });
      }
      for (const t of await store.tokens.listFor(tx, id)) if (!t.revokedAt) await store.tokens.revoke(tx, t.id, now);
      const groups = await store.members.removeEverywhere(tx, id);
      await store.principals.delete(tx, id);
      await assertAdminRemains(store, tx, now);
      await reconcileGrants(deps, tx, actor, formerMembers, now, 'group_deleted');
      await writeAudit(audit, tx, now, actor, { principalId: id }, [
        draft('principal.deleted', 'info', { revokedAssignments: live.map((a) => a.id), removedEligibilities: eligs.map((e) => e.id), groups, cancelledRequests: pendingRequests.map((r) => r.id), ...o.audit }),
      ]);
      await store.changes.publish(tx, { kind: 'principal', id });
      for (const g of groups) await store.changes.publish(tx, { kind: 'members', id: g });
      tx.afterCommit(() => {
        index.removePrincipal(id);
        for (const g of groups) index.setMembers(g, index.directMembers(g).filter((m) => m !== id));
      });
    },

    /** Replace a group's direct members (already parsed and deduplicated): unknown members and cycles are refused. */
    async setMembers(tx: Tx, actor: Actor, groupId: string, members: string[], now: number, o: WriteOptions = {}): Promise<string[]> {
      const g = await store.principals.get(tx, groupId);
      if (!g) throw new NotFound('not_found', `group ${groupId} not found`);
      if (g.kind !== 'group') throw new Invalid('not_a_group', `${groupId} is a ${g.kind}, not a group`);
      for (const m of members) {
        if (!(await store.principals.get(tx, m))) throw new Invalid('unknown_principal', `member ${m} is not a known principal`, { field: 'members', member: m });
        if (index.wouldCycle(groupId, m)) throw new Invalid('group_cycle', `adding ${m} to ${groupId} would make a membership cycle`, { field: 'members', member: m });
      }
      await lockAdmins(store, tx);
      // Eligibilities held by this group (and the groups above it) are locked, so an activation
      // under one of them either commits before this change or sees it.
      const above = await subjectsInTx(store, tx, groupId);
      const held = await store.eligibilities.list(tx, { principalIds: above, limit: 100_000 });
      await store.eligibilities.lock(tx, held.map((e) => e.id), 'update');
      const formerMembers = await membersInTx(store, tx, groupId);
      const before = await store.members.members(tx, groupId);
      await store.members.setMembers(tx, groupId, members);
      await assertAdminRemains(store, tx, now);
      const stillIn = new Set(await membersInTx(store, tx, groupId));
      await reconcileGrants(deps, tx, actor, formerMembers.filter((m) => !stillIn.has(m)), now, 'membership_ended');
      const added = members.filter((m) => !before.includes(m));
      const removed = before.filter((m) => !members.includes(m));
      await writeAudit(audit, tx, now, actor, { principalId: groupId }, [draft('group.members_set', 'info', { added, removed, count: members.length, ...o.audit })]);
      await store.changes.publish(tx, { kind: 'members', id: groupId });
      tx.afterCommit(() => index.setMembers(groupId, members));
      return members;
    },
  };
}

export function makeDirectory(deps: Deps) {
  const { store, clock } = deps;
  const w = directoryWrites(deps);

  return {
    async createPrincipal(actor: Actor, input: PrincipalInput): Promise<Principal> {
      const id = parseId(input.id);
      await requireAdmin(deps, actor, 'principal.create', { principalId: id });
      const now = clock.now();
      return store.transaction((tx) => w.createPrincipal(tx, actor, { ...input, id }, now));
    },

    async getPrincipal(actor: Actor, rawId: string): Promise<Principal> {
      const id = normalizeId(rawId);
      if (id !== actor.principalId && !isAdmin(deps, actor.principalId)) await deny(deps, actor, 'principal.read', { principalId: id }, 'not_admin', 'reading other principals needs the elevate-admin role');
      const p = await store.transaction((tx) => store.principals.get(tx, id));
      if (!p) throw new NotFound('not_found', `principal ${id} not found`);
      return p;
    },

    async listPrincipals(actor: Actor, f: { kind?: PrincipalKind; limit: number; after?: string }): Promise<Principal[]> {
      await requireAdmin(deps, actor, 'principal.list');
      return store.transaction((tx) => store.principals.list(tx, f));
    },

    async updatePrincipal(actor: Actor, rawId: string, patch: PrincipalPatch): Promise<Principal> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'principal.update', { principalId: id });
      const now = clock.now();
      return store.transaction((tx) => w.updatePrincipal(tx, actor, id, patch, now));
    },

    /** Delete a principal: its grants end now, its eligibilities, memberships and tokens go. */
    async deletePrincipal(actor: Actor, rawId: string): Promise<void> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'principal.delete', { principalId: id });
      const now = clock.now();
      await store.transaction((tx) => w.deletePrincipal(tx, actor, id, now));
    },

    async setMembers(actor: Actor, rawGroupId: string, rawMembers: string[]): Promise<string[]> {
      const groupId = normalizeId(rawGroupId);
      await requireAdmin(deps, actor, 'group.set_members', { principalId: groupId });
      const members = [...new Set(rawMembers.map((m, i) => parseId(m, `members[${i}]`)))];
      const now = clock.now();
      return store.transaction((tx) => w.setMembers(tx, actor, groupId, members, now));
    },

    async members(actor: Actor, rawGroupId: string): Promise<string[]> {
      const groupId = normalizeId(rawGroupId);
      await requireAdmin(deps, actor, 'group.read', { principalId: groupId });
      return store.transaction(async (tx) => {
        const g = await store.principals.get(tx, groupId);
        if (!g || g.kind !== 'group') throw new NotFound('not_found', `group ${groupId} not found`);
        return store.members.members(tx, groupId);
      });
    },
  };
}

// ------------------------------------------------------------------------------------ tokens

export const TOKEN_PREFIX = 'elv_';
const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000;
export const hashToken = (secret: string): string => hash('sha256', secret, 'hex');

export function makeTokens(deps: Deps) {
  const { store, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  /** Token lookups are cached briefly; a revocation clears this node's entry at once and other nodes' within the TTL. */
  const cache = new Map<string, { token: ApiToken | null; at: number }>();
  const TTL = 1000;

  return {
    onRemoteChange(tokenId: string) {
      for (const [k, v] of cache) if (v.token?.id === tokenId) cache.delete(k);
    },

    async create(actor: Actor, rawPrincipalId: string, input: { name?: string; expiresInMs?: number | null }): Promise<{ token: string; record: ApiToken }> {
      const principalId = normalizeId(rawPrincipalId);
      if (principalId !== actor.principalId) await requireAdmin(deps, actor, 'token.create', { principalId });
      const now = clock.now();
      return store.transaction(async (tx) => {
        const p = await store.principals.get(tx, principalId);
        if (!p) throw new NotFound('not_found', `principal ${principalId} not found`);
        if (p.kind === 'group') throw new Invalid('not_allowed_for_groups', 'groups cannot hold API tokens');
        if (input.expiresInMs !== null && input.expiresInMs !== undefined && input.expiresInMs > MAX_TOKEN_LIFETIME_MS) {
          throw new Invalid('invalid_duration', 'expiresIn must be at most P366D', { field: 'expiresIn' });
        }
        const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
        const record: ApiToken = {
          id: deps.newId(),
          principalId,
          name: (input.name ?? 'token').slice(0, 100),
          hash: hashToken(secret),
          createdAt: now,
          expiresAt: input.expiresInMs ? now + input.expiresInMs : null,
          revokedAt: null,
          lastUsedAt: null,
        };
        await store.tokens.insert(tx, record);
        await writeAudit(audit, tx, now, actor, { principalId }, [draft('token.created', 'info', { tokenId: record.id, name: record.name, expiresAt: record.expiresAt })]);
        return { token: secret, record };
      });
    },

    async list(actor: Actor, rawPrincipalId: string): Promise<ApiToken[]> {
      const principalId = normalizeId(rawPrincipalId);
      if (principalId !== actor.principalId) await requireAdmin(deps, actor, 'token.list', { principalId });
      return store.transaction((tx) => store.tokens.listFor(tx, principalId));
    },

    async revoke(actor: Actor, rawPrincipalId: string, tokenId: string): Promise<void> {
      const principalId = normalizeId(rawPrincipalId);
      if (principalId !== actor.principalId) await requireAdmin(deps, actor, 'token.revoke', { principalId });
      const now = clock.now();
      await store.transaction(async (tx) => {
        const t = await store.tokens.get(tx, tokenId);
        if (!t || t.principalId !== principalId) throw new NotFound('not_found', 'token not found');
        if (t.revokedAt) return;
        await store.tokens.revoke(tx, tokenId, now);
        await writeAudit(audit, tx, now, actor, { principalId }, [draft('token.revoked', 'info', { tokenId })]);
        await store.changes.publish(tx, { kind: 'token', id: tokenId });
        tx.afterCommit(() => {
          for (const [k, v] of cache) if (v.token?.id === tokenId) cache.delete(k);
        });
      });
    },

    /** Resolve a bearer secret to its principal; unknown, revoked or expired tokens are refused. */
    async authenticate(secret: string): Promise<{ token: ApiToken; principal: { id: string } }> {
      const now = clock.now();
      if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) throw new Unauthenticated('invalid_token', 'the token is not valid');
      const h = hashToken(secret);
      let hit = cache.get(h);
      if (!hit || now - hit.at > TTL) {
        const token = await store.transaction((tx) => store.tokens.byHash(tx, h));
        hit = { token, at: now };
        if (cache.size > 10_000) cache.clear();
        cache.set(h, hit);
      }
      const t = hit.token;
      if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= now)) throw new Unauthenticated('invalid_token', 'the token is not valid');
      // A suspended or deleted principal's tokens stop working at once.
      if (deps.index.principalInfo(t.principalId)?.status !== 'active') throw new Unauthenticated('invalid_token', 'the token is not valid');
      // Last use, for reviews and detection ("not seen in N days"): written at most once a minute
      // per token and node, after answering, never holding up the request.
      if (t.lastUsedAt === null || now - t.lastUsedAt >= TOUCH_EVERY_MS) {
        t.lastUsedAt = now;
        void store.transaction((tx) => store.tokens.touch(tx, t.id, now)).catch(() => {});
      }
      return { token: t, principal: { id: t.principalId } };
    },
  };
}
