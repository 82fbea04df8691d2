import { Forbidden } from '../core/errors.js';
import { ADMIN_ROLE, CHECKER_ROLE, ROOT_SCOPE } from '../core/model.js';
import { draft, writeAudit, type Subject } from './audit-log.js';
import type { Actor, AppDeps } from './context.js';

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

/** Administering Elevate is itself a role (elevate-admin at /): held, checked and expired like any other. */
export function isAdmin(deps: Pick<AppDeps, 'index' | 'clock'>, principalId: string): boolean {
  return deps.index.check(principalId, ADMIN_ROLE, ROOT_SCOPE, deps.clock.now()).allowed;
}

export function isChecker(deps: Pick<AppDeps, 'index' | 'clock'>, principalId: string): boolean {
  const now = deps.clock.now();
  return deps.index.check(principalId, CHECKER_ROLE, ROOT_SCOPE, now).allowed || deps.index.check(principalId, ADMIN_ROLE, ROOT_SCOPE, now).allowed;
}

/** Refuse, and audit the refusal in its own transaction (a denial changes nothing else). */
export async function deny(deps: Deps, actor: Actor, action: string, subject: Subject, code: string, message: string): Promise<never> {
  const now = deps.clock.now();
  await deps.store.transaction((tx) => writeAudit({ audit: deps.store.audit, newId: deps.newId }, tx, now, actor, subject, [draft('authz.denied', 'denied', { action }, [code])]));
  throw new Forbidden(code, message, { reasons: [code] });
}

export async function requireAdmin(deps: Deps, actor: Actor, action: string, subject: Subject = {}): Promise<void> {
  if (!isAdmin(deps, actor.principalId)) await deny(deps, actor, action, subject, 'not_admin', `${action} needs the ${ADMIN_ROLE} role`);
}
