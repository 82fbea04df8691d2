import { sql, type Selectable } from 'kysely';
import type { EvidenceRow, ImportedStanding, InventoryRepo, RoleRollout } from '../app/inventory-ports.js';
import type { Approval } from '../core/model.js';
import type { StandingImportsTable } from './inventory-schema.js';
import { toAssignment } from './repos.js';
import type { Dialect } from './schema.js';
import { chunks, q } from './tx.js';

const DAY = 86_400_000;
const n = (v: unknown): number => Number(v);
const nn = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const toImport = (r: Selectable<StandingImportsTable>): ImportedStanding => ({
  id: r.id,
  system: r.system,
  line: n(r.line),
  principalId: r.principal_id,
  principalName: r.principal_name,
  privilege: r.privilege,
  scope: r.scope,
  since: nn(r.since),
  lastUsedAt: nn(r.last_used_at),
  justification: r.justification,
  roleId: r.role_id,
  importedAt: n(r.imported_at),
  importedBy: r.imported_by,
  convertedAt: nn(r.converted_at),
  eligibilityId: r.eligibility_id,
});

const GRANTED = ['approved', 'scheduled', 'active', 'expired', 'deactivated', 'revoked'] as const;

export function inventoryRepo(dialect: Dialect): InventoryRepo {
  return {
    async replaceImports(tx, system, rows) {
      const db = q(tx);
      const gone = await db.deleteFrom('standing_imports').where('system', '=', system).executeTakeFirst();
      for (const part of chunks(rows, 16, dialect)) {
        await db
          .insertInto('standing_imports')
          .values(
            part.map((r) => ({
              id: r.id, system: r.system, line: r.line, principal_id: r.principalId, principal_name: r.principalName, privilege: r.privilege, scope: r.scope,
              since: r.since, last_used_at: r.lastUsedAt, justification: r.justification, role_id: r.roleId, imported_at: r.importedAt, imported_by: r.importedBy,
              converted_at: r.convertedAt, eligibility_id: r.eligibilityId,
            })),
          )
          .execute();
      }
      return Number(gone.numDeletedRows);
    },

    async imports(tx, f) {
      if (f.ids && f.ids.length === 0) return [];
      const rows = await q(tx)
        .selectFrom('standing_imports')
        .selectAll()
        .$if(f.ids !== undefined, (qb) => qb.where('id', 'in', f.ids!))
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(!f.includeConverted, (qb) => qb.where('converted_at', 'is', null))
        .$if(!!f.forUpdate && dialect === 'postgres', (qb) => qb.forUpdate())
        .orderBy('system')
        .orderBy('line')
        .orderBy('id')
        .execute();
      return rows.map(toImport);
    },

    async markConverted(tx, id, eligibilityId, at) {
      await q(tx).updateTable('standing_imports').set({ converted_at: at, eligibility_id: eligibilityId }).where('id', '=', id).execute();
    },

    async standingAssignments(tx, f) {
      if (f.ids && f.ids.length === 0) return [];
      const rows = await q(tx)
        .selectFrom('assignments')
        .selectAll()
        .where('source', '=', 'direct')
        .where('status', 'in', ['active', 'scheduled'])
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(f.ids !== undefined, (qb) => qb.where('id', 'in', f.ids!))
        .orderBy('starts_at')
        .orderBy('id')
        .execute();
      return rows.map(toAssignment);
    },

    async principalsByKey(tx, keys) {
      if (keys.length === 0) return [];
      const out: { id: string; name: string; email: string | null }[] = [];
      for (const part of chunks(keys, 2, dialect)) {
        const rows = await q(tx)
          .selectFrom('principals')
          .select(['id', 'name', 'email'])
          .where((eb) => eb.or([eb('id', 'in', part), eb(sql<string>`lower(email)`, 'in', part)]))
          .execute();
        out.push(...rows);
      }
      return out;
    },

    async principalNames(tx, ids) {
      const m = new Map<string, string>();
      for (const part of chunks([...new Set(ids)], 1, dialect)) {
        if (part.length === 0) continue;
        for (const r of await q(tx).selectFrom('principals').select(['id', 'name']).where('id', 'in', part).execute()) m.set(r.id, r.name);
      }
      return m;
    },

    async rollouts(tx) {
      const rows = await q(tx).selectFrom('role_rollout').selectAll().orderBy('role_id').execute();
      return rows.map((r): RoleRollout => ({ roleId: r.role_id, mode: r.mode, changedAt: n(r.changed_at), changedBy: r.changed_by }));
    },

    async rollout(tx, roleId) {
      const r = await q(tx).selectFrom('role_rollout').selectAll().where('role_id', '=', roleId).executeTakeFirst();
      return r ? { roleId: r.role_id, mode: r.mode, changedAt: n(r.changed_at), changedBy: r.changed_by } : null;
    },

    async putRollout(tx, r) {
      const row = { role_id: r.roleId, mode: r.mode, changed_at: r.changedAt, changed_by: r.changedBy };
      await q(tx)
        .insertInto('role_rollout')
        .values(row)
        .onConflict((oc) => oc.column('role_id').doUpdateSet({ mode: row.mode, changed_at: row.changed_at, changed_by: row.changed_by }))
        .execute();
    },

    async addUse(tx, rows) {
      for (const part of chunks(rows, 6, dialect)) {
        await q(tx)
          .insertInto('standing_use')
          .values(part.map((r) => ({ assignment_id: r.assignmentId, day: r.day, role_id: r.roleId, principal_id: r.principalId, uses: r.uses, last_used_at: r.lastUsedAt })))
          .onConflict((oc) =>
            oc.columns(['assignment_id', 'day']).doUpdateSet((eb) => ({
              uses: sql<number>`${eb.ref('standing_use.uses')} + ${eb.ref('excluded.uses')}`,
              last_used_at: sql<number>`CASE WHEN ${eb.ref('excluded.last_used_at')} > ${eb.ref('standing_use.last_used_at')} THEN ${eb.ref('excluded.last_used_at')} ELSE ${eb.ref('standing_use.last_used_at')} END`,
            })),
          )
          .execute();
      }
    },

    async lastUse(tx, assignmentIds) {
      const m = new Map<string, number>();
      for (const part of chunks([...new Set(assignmentIds)], 1, dialect)) {
        if (part.length === 0) continue;
        const rows = await q(tx)
          .selectFrom('standing_use')
          .select(['assignment_id', (eb) => eb.fn.max('last_used_at').as('last')])
          .where('assignment_id', 'in', part)
          .groupBy('assignment_id')
          .execute();
        for (const r of rows) m.set(r.assignment_id, n(r.last));
      }
      return m;
    },

    async readiness(tx, since, now) {
      const db = q(tx);
      const activations = await db
        .selectFrom('requests')
        .select(['role_id', (eb) => eb.fn.countAll().as('c')])
        .where('kind', '=', 'activate')
        .where('created_at', '>=', since)
        .where('status', 'in', [...GRANTED])
        .groupBy('role_id')
        .execute();
      const approvals = await db
        .selectFrom('requests as r')
        .innerJoin('approvals as a', 'a.request_id', 'r.id')
        .select(['r.id', 'r.role_id', 'r.created_at', (eb) => eb.fn.max('a.created_at').as('approved_at')])
        .where('r.kind', '=', 'activate')
        .where('r.created_at', '>=', since)
        .where('r.status', 'in', [...GRANTED])
        .where('a.decision', '=', 'approve')
        .groupBy(['r.id', 'r.role_id', 'r.created_at'])
        .execute();
      const uses = await db
        .selectFrom('standing_use')
        .select(['role_id', (eb) => eb.fn.sum('uses').as('u')])
        .where('day', '>=', Math.floor(since / DAY) * DAY)
        .groupBy('role_id')
        .execute();
      const standing = await db
        .selectFrom('assignments')
        .select(['role_id', (eb) => eb.fn.count('principal_id').distinct().as('c')])
        .where('source', '=', 'direct')
        .where('status', 'in', ['active', 'scheduled'])
        .groupBy('role_id')
        .execute();
      const eligible = await db
        .selectFrom('eligibilities')
        .select(['role_id', (eb) => eb.fn.count('principal_id').distinct().as('c')])
        .where('removed_at', 'is', null)
        .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
        .groupBy('role_id')
        .execute();
      return {
        activations: activations.map((r) => ({ roleId: r.role_id, count: n(r.c) })),
        approvals: approvals.map((r) => ({ roleId: r.role_id, requestedAt: n(r.created_at), approvedAt: n(r.approved_at) })),
        fallbackUses: uses.map((r) => ({ roleId: r.role_id, uses: n(r.u) })),
        standingHolders: standing.map((r) => ({ roleId: r.role_id, count: n(r.c) })),
        eligibleHolders: eligible.map((r) => ({ roleId: r.role_id, count: n(r.c) })),
      };
    },

    async evidence(tx, from, to, f) {
      const db = q(tx);
      const rows = await db
        .selectFrom('assignments as a')
        .leftJoin('principals as p', 'p.id', 'a.principal_id')
        .leftJoin('roles as r', 'r.id', 'a.role_id')
        .leftJoin('requests as q', 'q.id', 'a.request_id')
        .selectAll('a')
        .select(['p.name as principal_name', 'r.name as role_name', 'r.risk_tier as risk_tier', 'q.justification as request_justification', 'q.ticket as ticket'])
        .where('a.starts_at', '<', to)
        .where((eb) => eb.or([eb('a.ends_at', 'is', null), eb('a.ends_at', '>', from)]))
        .where((eb) => eb.or([eb('a.ended_at', 'is', null), eb('a.ended_at', '>', from)]))
        .$if(f.roleId !== undefined, (qb) => qb.where('a.role_id', '=', f.roleId!))
        .$if(f.tiers !== undefined, (qb) => qb.where('r.risk_tier', 'in', f.tiers!))
        .orderBy('a.starts_at')
        .orderBy('a.id')
        .limit(f.limit)
        .execute();
      const out: EvidenceRow[] = rows.map((r) => ({
        assignment: toAssignment({ ...r, starts_at: n(r.starts_at), ends_at: nn(r.ends_at), created_at: n(r.created_at), ended_at: nn(r.ended_at) }),
        principalName: r.principal_name,
        roleName: r.role_name,
        riskTier: r.risk_tier,
        justification: r.request_justification ?? r.justification,
        ticket: r.ticket,
        requestIds: r.request_id ? [r.request_id] : [],
      }));
      // Later requests tied to the same grant (a merged activation, an extension) are part of its evidence.
      const byId = new Map(out.map((e) => [e.assignment.id, e]));
      for (const part of chunks([...byId.keys()], 1, dialect)) {
        if (part.length === 0) continue;
        const linked = await db.selectFrom('requests').select(['id', 'assignment_id']).where('assignment_id', 'in', part).orderBy('created_at').orderBy('id').execute();
        for (const l of linked) {
          const e = byId.get(l.assignment_id!);
          if (e && !e.requestIds.includes(l.id)) e.requestIds.push(l.id);
        }
      }
      return out;
    },

    async approvalsFor(tx, requestIds) {
      const out: Approval[] = [];
      for (const part of chunks([...new Set(requestIds)], 1, dialect)) {
        if (part.length === 0) continue;
        const rows = await q(tx).selectFrom('approvals').selectAll().where('request_id', 'in', part).orderBy('created_at').orderBy('id').execute();
        for (const r of rows) {
          out.push({ id: r.id, requestId: r.request_id, approverId: r.approver_id, decision: r.decision, reason: r.reason, stage: r.stage, adminUnit: r.admin_unit, createdAt: n(r.created_at) });
        }
      }
      return out;
    },
  };
}
