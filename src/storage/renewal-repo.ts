import type { Selectable } from 'kysely';
import type { EligibilityRenewal, RenewalRepo } from '../app/ports.js';
import { Conflict } from '../core/errors.js';
import type { Dialect, EligibilityRenewalsTable } from './schema.js';
import { insertUnique, q } from './tx.js';

const toRenewal = (r: Selectable<EligibilityRenewalsTable>): EligibilityRenewal => ({
  id: r.id,
  eligibilityId: r.eligibility_id,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  justification: r.justification,
  status: r.status,
  createdAt: Number(r.created_at),
  decidedBy: r.decided_by,
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  reason: r.reason,
});

export function renewalRepo(dialect: Dialect): RenewalRepo {
  return {
    async insert(tx, r) {
      try {
        await insertUnique('renewal', r.id, () =>
          q(tx)
            .insertInto('eligibility_renewals')
            .values({
              id: r.id,
              eligibility_id: r.eligibilityId,
              principal_id: r.principalId,
              role_id: r.roleId,
              scope: r.scope,
              justification: r.justification,
              status: r.status,
              created_at: r.createdAt,
              decided_by: r.decidedBy,
              decided_at: r.decidedAt,
              reason: r.reason,
            })
            .execute(),
        );
      } catch (e) {
        // The partial unique index (one pending renewal per eligibility) caught a race.
        if (e instanceof Conflict && e.code === 'already_exists') throw new Conflict('renewal_pending', 'a renewal of this eligibility is already waiting for a decision', { eligibilityId: r.eligibilityId });
        throw e;
      }
    },
    async get(tx, id, forUpdate = false) {
      const r = await q(tx)
        .selectFrom('eligibility_renewals')
        .selectAll()
        .where('id', '=', id)
        .$if(forUpdate && dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toRenewal(r) : null;
    },
    async update(tx, r) {
      await q(tx)
        .updateTable('eligibility_renewals')
        .set({ status: r.status, decided_by: r.decidedBy, decided_at: r.decidedAt, reason: r.reason })
        .where('id', '=', r.id)
        .execute();
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('eligibility_renewals')
        .selectAll()
        .$if(f.status !== undefined, (qb) => qb.where('status', '=', f.status!))
        .$if(f.principalId !== undefined, (qb) => qb.where('principal_id', '=', f.principalId!))
        .$if(f.eligibilityId !== undefined, (qb) => qb.where('eligibility_id', '=', f.eligibilityId!))
        .$if(f.after !== undefined, (qb) => qb.where('id', '>', f.after!))
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toRenewal);
    },
  };
}
