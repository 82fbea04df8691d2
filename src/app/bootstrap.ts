import { randomBytes } from 'node:crypto';
import { Invalid } from '../core/errors.js';
import { ADMIN_ROLE, CHECKER_ROLE, ROOT_SCOPE, type Assignment, type Principal, type Role } from '../core/model.js';
import { normalizeSettings } from '../core/settings.js';
import { draft, writeAudit } from './audit-log.js';
import { systemActor, type AppDeps } from './context.js';
import { TOKEN_PREFIX, hashToken } from './directory.js';

export const BOOTSTRAP_ADMIN = 'admin';

/**
 * First start on an empty store: the built-in roles, one admin principal holding elevate-admin at /
 * (the one standing grant Elevate needs), and its API token. Returns the token only when it was
 * generated here, so the caller can hand it over (never log it).
 */
export async function bootstrap(deps: Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'limits'>, givenToken: string | null): Promise<{ created: boolean; token: string | null }> {
  const { store, clock, index } = deps;
  if (givenToken !== null && (!givenToken.startsWith(TOKEN_PREFIX) || givenToken.length < TOKEN_PREFIX.length + 32)) {
    throw new Invalid('invalid_bootstrap_token', `ELEVATE_BOOTSTRAP_TOKEN must start with ${TOKEN_PREFIX} and carry at least 32 random characters`);
  }
  const now = clock.now();
  const actor = systemActor(now);
  return store.transaction(async (tx) => {
    if ((await store.principals.count(tx)) > 0) return { created: false, token: null };
    const roles: Role[] = [
      {
        id: ADMIN_ROLE,
        name: 'Elevate administrator',
        description: 'Administers Elevate itself: principals, roles, eligibilities, assignments, audit.',
        riskTier: 'high',
        settings: normalizeSettings({ maxActivation: 'PT1H', activeAssignment: { allowPermanent: true } }, 'high', Math.min(deps.limits.minActivationMs, 300_000)),
        builtin: true,
        createdAt: now,
        updatedAt: now,
      },
      {
        id: CHECKER_ROLE,
        name: 'Decision point client',
        description: 'May ask the decision point about any principal (applications, gateways).',
        riskTier: 'medium',
        settings: normalizeSettings({ activeAssignment: { allowPermanent: true } }, 'medium', Math.min(deps.limits.minActivationMs, 300_000)),
        builtin: true,
        createdAt: now,
        updatedAt: now,
      },
    ];
    const admin: Principal = {
      id: BOOTSTRAP_ADMIN, kind: 'user', name: 'Bootstrap administrator', email: null, managerId: null, adminUnit: null,
      attributes: {}, status: 'active', createdAt: now, updatedAt: now,
    };
    const grant: Assignment = {
      id: deps.newId(), principalId: admin.id, roleId: ADMIN_ROLE, scope: ROOT_SCOPE, source: 'direct', requestId: null,
      startsAt: now, endsAt: null, status: 'active', justification: 'bootstrap: the first administrator', createdBy: 'system', createdAt: now, endedAt: null,
    };
    const token = givenToken ?? TOKEN_PREFIX + randomBytes(32).toString('base64url');
    for (const r of roles) await store.roles.insert(tx, r);
    await store.principals.insert(tx, admin);
    await store.assignments.insert(tx, grant);
    const tokenId = deps.newId();
    await store.tokens.insert(tx, { id: tokenId, principalId: admin.id, name: 'bootstrap', hash: hashToken(token), createdAt: now, expiresAt: null, revokedAt: null, lastUsedAt: null });
    await writeAudit({ audit: store.audit, newId: deps.newId }, tx, now, actor, { principalId: admin.id, roleId: ADMIN_ROLE, scope: ROOT_SCOPE }, [
      draft('system.bootstrapped', 'info', { roles: roles.map((r) => r.id), tokenId, tokenSource: givenToken ? 'ELEVATE_BOOTSTRAP_TOKEN' : 'generated' }),
      draft('assignment.direct_created', 'info', { assignmentId: grant.id, startsAt: now, endsAt: null, standing: true }),
    ]);
    tx.afterCommit(() => {
      for (const r of roles) index.upsertRole(r.id);
      index.upsertPrincipal(admin.id, admin.kind, admin.status);
      index.upsertAssignment(grant);
    });
    return { created: true, token: givenToken ? null : token };
  });
}
