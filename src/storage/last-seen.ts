import type { Tx } from '../app/ports.js';
import type { Dialect } from './schema.js';
import { chunks, q } from './tx.js';

/**
 * When each principal was last seen: the latest of a sign-in, a browser session in use, an API
 * token used, or an activation request. What reviews ("not seen in N days") and detection
 * (inactive accounts) both mean by activity. `principalIds` null: every principal.
 */
export async function lastSeen(tx: Tx, dialect: Dialect, principalIds: readonly string[] | null): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const bump = (id: string | null, at: number | string | null) => {
    if (id === null || at === null) return;
    const n = Number(at);
    if (!(out.get(id)! >= n)) out.set(id, n);
  };
  const db = q(tx);
  for (const part of principalIds === null ? [null] : chunks([...principalIds], 1, dialect)) {
    const signIns = db
      .selectFrom('audit_events')
      .select(['principal_id', (eb) => eb.fn.max('ts').as('at')])
      .where('type', '=', 'auth.login')
      .where('outcome', '=', 'allowed')
      .$if(part !== null, (qb) => qb.where('principal_id', 'in', part!));
    for (const r of await signIns.groupBy('principal_id').execute()) bump(r.principal_id, r.at);
    const sessions = db.selectFrom('sessions').select(['principal_id', (eb) => eb.fn.max('last_seen_at').as('at')]).$if(part !== null, (qb) => qb.where('principal_id', 'in', part!));
    for (const r of await sessions.groupBy('principal_id').execute()) bump(r.principal_id, r.at);
    const tokens = db.selectFrom('api_tokens').select(['principal_id', (eb) => eb.fn.max('last_used_at').as('at')]).$if(part !== null, (qb) => qb.where('principal_id', 'in', part!));
    for (const r of await tokens.groupBy('principal_id').execute()) bump(r.principal_id, r.at);
    const requests = db.selectFrom('requests').select(['principal_id', (eb) => eb.fn.max('created_at').as('at')]).$if(part !== null, (qb) => qb.where('principal_id', 'in', part!));
    for (const r of await requests.groupBy('principal_id').execute()) bump(r.principal_id, r.at);
  }
  return out;
}
