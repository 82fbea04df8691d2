import { Invalid } from '../core/errors.js';
import { parseId } from '../core/ids.js';
import type { Principal, Role } from '../core/model.js';
import { parseScope } from '../core/scope.js';
import type { Store, Tx } from './ports.js';
import { settingsOf } from './roles.js';

/**
 * What eligibilities and direct assignments share: an admin names a principal, a role, a scope,
 * a window and a justification, and the role's settings say how long (or whether permanently).
 */
export interface AdminGrantInput {
  principalId: string;
  roleId: string;
  scope: string;
  startsAt?: number | null;
  endsAt: number | null;
  justification: string;
}

export function parseAdminGrant(input: AdminGrantInput, what: string) {
  const principalId = parseId(input.principalId, 'principalId');
  const roleId = parseId(input.roleId, 'roleId');
  const scope = parseScope(input.scope);
  const justification = (input.justification ?? '').trim();
  if (!justification) throw new Invalid('justification_required', `${what} needs a justification`, { field: 'justification' });
  return { principalId, roleId, scope, justification };
}

/** Load the principal and role and check the window against the role's `eligibility` or `activeAssignment` settings. */
export async function checkAdminGrant(
  store: Pick<Store, 'principals' | 'roles'>,
  tx: Tx,
  g: { principalId: string; roleId: string; startsAt: number; endsAt: number | null; now: number },
  kind: 'eligibility' | 'activeAssignment',
): Promise<{ principal: Principal; role: Role }> {
  const principal = await store.principals.get(tx, g.principalId);
  if (!principal) throw new Invalid('unknown_principal', `principal ${g.principalId} not found`, { field: 'principalId' });
  const role = await store.roles.get(tx, g.roleId);
  if (!role) throw new Invalid('unknown_role', `role ${g.roleId} not found`, { field: 'roleId' });
  const rule = settingsOf(role)[kind];
  const noun = kind === 'eligibility' ? 'eligibility' : 'active assignments';
  if (g.endsAt === null) {
    if (!rule.allowPermanent) throw new Invalid('permanent_not_allowed', `role ${g.roleId} does not allow permanent ${noun}; give endsAt`, { field: 'endsAt' });
  } else {
    if (g.endsAt <= g.startsAt || g.endsAt <= g.now) throw new Invalid('invalid_request', 'endsAt must be in the future and after startsAt', { field: 'endsAt' });
    if (rule.maxDurationMs !== null && g.endsAt - g.startsAt > rule.maxDurationMs) {
      throw new Invalid(kind === 'eligibility' ? 'eligibility_exceeds_max' : 'assignment_exceeds_max', `role ${g.roleId} allows ${noun} for at most ${role.settings[kind].maxDuration}`, {
        field: 'endsAt',
      });
    }
  }
  return { principal, role };
}
