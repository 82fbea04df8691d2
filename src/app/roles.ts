import { Conflict, Invalid, NotFound } from '../core/errors.js';
import { normalizeId, parseId } from '../core/ids.js';
import type { Role } from '../core/model.js';
import { RISK_TIERS, effectiveSettings, normalizeSettings, type EffectiveSettings, type RiskTier } from '../core/settings.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'limits'>;

export interface RoleInput {
  id: string;
  name?: string;
  description?: string;
  riskTier: RiskTier;
  settings?: unknown;
}

/** Parsed settings per role, reused until the role changes. */
const effectiveCache = new WeakMap<Role['settings'], EffectiveSettings>();
export function settingsOf(role: Role): EffectiveSettings {
  let e = effectiveCache.get(role.settings);
  if (!e) {
    e = effectiveSettings(role.settings);
    effectiveCache.set(role.settings, e);
  }
  return e;
}

export function makeRoles(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  function build(input: RoleInput, id: string, now: number, prev: Role | null): Role {
    if (!RISK_TIERS.includes(input.riskTier)) throw new Invalid('invalid_request', 'riskTier must be low, medium, high or critical', { field: 'riskTier' });
    const settings = normalizeSettings(input.settings ?? {}, input.riskTier, deps.limits.minActivationMs);
    return {
      id,
      name: (input.name ?? id).trim() || id,
      description: (input.description ?? '').trim(),
      riskTier: input.riskTier,
      settings,
      builtin: prev?.builtin ?? false,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
  }

  return {
    async create(actor: Actor, input: RoleInput): Promise<Role> {
      const id = parseId(input.id);
      await requireAdmin(deps, actor, 'role.create', { roleId: id });
      const now = clock.now();
      const role = build(input, id, now, null);
      return store.transaction(async (tx) => {
        if (await store.roles.get(tx, id)) throw new Conflict('already_exists', `role ${id} already exists`);
        await store.roles.insert(tx, role);
        await writeAudit(audit, tx, now, actor, { roleId: id }, [draft('role.created', 'info', { riskTier: role.riskTier, settings: role.settings })]);
        await store.changes.publish(tx, { kind: 'role', id });
        tx.afterCommit(() => index.upsertRole(id));
        return role;
      });
    },

    /**
     * A dry run of create/update for an editor that validates as you type: the settings as they
     * would be stored (safe defaults filled in), or the same 400 naming the offending field. Writes
     * nothing and audits nothing (a refused caller is audited as always).
     */
    async validate(actor: Actor, input: Omit<RoleInput, 'id'> & { id?: string }): Promise<Role> {
      await requireAdmin(deps, actor, 'role.validate');
      const id = input.id === undefined || input.id === '' ? 'draft' : parseId(input.id);
      return build({ ...input, id }, id, clock.now(), null);
    },

    async update(actor: Actor, rawId: string, input: Omit<RoleInput, 'id'>): Promise<Role> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'role.update', { roleId: id });
      const now = clock.now();
      return store.transaction(async (tx) => {
        const prev = await store.roles.get(tx, id);
        if (!prev) throw new NotFound('not_found', `role ${id} not found`);
        const role = build({ ...input, id }, id, now, prev);
        await store.roles.update(tx, role);
        await writeAudit(audit, tx, now, actor, { roleId: id }, [
          draft('role.updated', 'info', { riskTier: role.riskTier, settings: role.settings, previous: { riskTier: prev.riskTier, settings: prev.settings } }),
        ]);
        return role;
      });
    },

    async remove(actor: Actor, rawId: string): Promise<void> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'role.delete', { roleId: id });
      const now = clock.now();
      await store.transaction(async (tx) => {
        const prev = await store.roles.get(tx, id);
        if (!prev) throw new NotFound('not_found', `role ${id} not found`);
        if (prev.builtin) throw new Conflict('builtin_role', `${id} is built in and cannot be deleted`);
        const live = await store.assignments.list(tx, { roleId: id, live: true, limit: 1 });
        const eligs = await store.eligibilities.list(tx, { roleId: id, limit: 1 });
        if (live.length || eligs.length) throw new Conflict('role_in_use', `role ${id} still has eligibilities or active assignments; remove them first`);
        const pending = await store.requests.list(tx, { roleId: id, status: 'pending_approval', limit: 10_000 });
        for (const r of pending) await store.requests.update(tx, { ...r, status: 'cancelled', reasons: ['role_deleted'], updatedAt: now });
        await store.roles.delete(tx, id);
        await writeAudit(audit, tx, now, actor, { roleId: id }, [draft('role.deleted', 'info', { cancelledRequests: pending.map((r) => r.id) })]);
        await store.changes.publish(tx, { kind: 'role', id });
        tx.afterCommit(() => index.removeRole(id));
      });
    },

    async get(rawId: string): Promise<Role> {
      const id = normalizeId(rawId);
      const r = await store.transaction((tx) => store.roles.get(tx, id));
      if (!r) throw new NotFound('not_found', `role ${id} not found`);
      return r;
    },

    async list(): Promise<Role[]> {
      return store.transaction((tx) => store.roles.list(tx));
    },
  };
}
