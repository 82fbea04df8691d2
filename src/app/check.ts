import type { Decision } from '../core/decision.js';
import { Invalid } from '../core/errors.js';
import { normalizeId } from '../core/ids.js';
import { parseScope } from '../core/scope.js';
import { deny, isChecker } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import type { CheckTap } from './check-tap.js';

export interface CheckQuery {
  principal: string;
  role: string;
  scope: string;
}

/**
 * The decision point: answered from the in-memory index, compared with now. A principal may ask
 * about itself; asking about others needs the checker permission, so the decision point cannot be
 * used to map who holds power.
 */
export function makeCheck(deps: Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>, tap?: CheckTap) {
  const { index, clock } = deps;
  return {
    async check(actor: Actor, queries: CheckQuery[]): Promise<Decision[]> {
      if (queries.length === 0 || queries.length > 1000) throw new Invalid('invalid_request', 'give 1 to 1000 checks', { field: 'checks' });
      const parsed = queries.map((q) => ({ principal: normalizeId(q.principal), role: normalizeId(q.role), scope: parseScope(q.scope) }));
      if (parsed.some((q) => q.principal !== actor.principalId) && !isChecker(deps, actor.principalId)) {
        await deny(deps, actor, 'check.others', {}, 'not_checker', 'asking about other principals needs the elevate-checker role');
      }
      const now = clock.now();
      return parsed.map((q) => {
        const d = index.check(q.principal, q.role, q.scope, now);
        tap?.emit(q.principal, q.role, q.scope, now, d);
        return d;
      });
    },

    /** The hot path for one question, no allocation beyond the answer. */
    checkOne(actor: Actor, principal: string, role: string, scope: string): Decision | null {
      const p = normalizeId(principal);
      if (p !== actor.principalId && !isChecker(deps, actor.principalId)) return null;
      const r = normalizeId(role);
      const s = parseScope(scope);
      const now = clock.now();
      const d = index.check(p, r, s, now);
      tap?.emit(p, r, s, now, d);
      return d;
    },
  };
}
