import type { Selectable } from 'kysely';
import type {
  ApprovalRepo,
  AssignmentRepo,
  EligibilityRepo,
  MembershipRepo,
  PrincipalRepo,
  RequestRepo,
  RoleRepo,
  TokenRepo,
} from '../app/ports.js';
import { TERMINAL_STATUSES, type ActivationRequest, type ApiToken, type Approval, type Assignment, type Eligibility, type Principal, type Role } from '../core/model.js';
import type { ApiTokensTable, AssignmentsTable, Dialect, EligibilitiesTable, PrincipalsTable, RequestsTable, RolesTable } from './schema.js';
import { chunks, insertUnique, q } from './tx.js';

// ---- row <-> domain mapping ------------------------------------------------------------------

export const toPrincipal = (r: Selectable<PrincipalsTable>): Principal => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  email: r.email,
  managerId: r.manager_id,
  adminUnit: r.admin_unit,
  attributes: JSON.parse(r.attributes) as Record<string, string>,
  status: r.status,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const principalRow = (p: Principal): PrincipalsTable => ({
  id: p.id,
  kind: p.kind,
  name: p.name,
  email: p.email,
  manager_id: p.managerId,
  admin_unit: p.adminUnit,
  attributes: JSON.stringify(p.attributes),
  status: p.status,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

const toToken = (r: Selectable<ApiTokensTable>): ApiToken => ({
  id: r.id,
  principalId: r.principal_id,
  name: r.name,
  hash: r.hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

const toRole = (r: Selectable<RolesTable>): Role => ({
  id: r.id,
  name: r.name,
  description: r.description,
  riskTier: r.risk_tier,
  settings: JSON.parse(r.settings) as Role['settings'],
  builtin: r.builtin === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const roleRow = (r: Role): RolesTable => ({
  id: r.id,
  name: r.name,
  description: r.description,
  risk_tier: r.riskTier,
  settings: JSON.stringify(r.settings),
  builtin: r.builtin ? 1 : 0,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

export const toEligibility = (r: Selectable<EligibilitiesTable>): Eligibility => ({
  id: r.id,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  justification: r.justification,
  createdBy: r.created_by,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

const eligibilityRow = (e: Eligibility): EligibilitiesTable => ({
  id: e.id,
  principal_id: e.principalId,
  role_id: e.roleId,
  scope: e.scope,
  starts_at: e.startsAt,
  ends_at: e.endsAt,
  justification: e.justification,
  created_by: e.createdBy,
  created_at: e.createdAt,
  removed_at: e.removedAt,
});

export const toAssignment = (r: Selectable<AssignmentsTable>): Assignment => ({
  id: r.id,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  source: r.source,
  requestId: r.request_id,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  status: r.status,
  justification: r.justification,
  createdBy: r.created_by,
  createdAt: r.created_at,
  endedAt: r.ended_at,
});

const assignmentRow = (a: Assignment): AssignmentsTable => ({
  id: a.id,
  principal_id: a.principalId,
  role_id: a.roleId,
  scope: a.scope,
  source: a.source,
  request_id: a.requestId,
  starts_at: a.startsAt,
  ends_at: a.endsAt,
  status: a.status,
  justification: a.justification,
  created_by: a.createdBy,
  created_at: a.createdAt,
  ended_at: a.endedAt,
});

const toRequest = (r: Selectable<RequestsTable>): ActivationRequest => ({
  id: r.id,
  kind: r.kind,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  durationMs: r.duration_ms,
  justification: r.justification,
  ticket: r.ticket,
  startAt: r.start_at,
  status: r.status,
  stage: r.stage,
  timeoutAt: r.timeout_at,
  assignmentId: r.assignment_id,
  eligibilityId: r.eligibility_id,
  reasons: JSON.parse(r.reasons) as string[],
  context: JSON.parse(r.context) as ActivationRequest['context'],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Every column a request update may change (not the id, nor the idempotency key it was created with). */
const requestChanges = (r: ActivationRequest) => ({
  kind: r.kind,
  principal_id: r.principalId,
  role_id: r.roleId,
  scope: r.scope,
  duration_ms: r.durationMs,
  justification: r.justification,
  ticket: r.ticket,
  start_at: r.startAt,
  status: r.status,
  stage: r.stage,
  timeout_at: r.timeoutAt,
  assignment_id: r.assignmentId,
  eligibility_id: r.eligibilityId,
  reasons: JSON.stringify(r.reasons),
  context: JSON.stringify(r.context),
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

const LIVE_ASSIGNMENT = ['active', 'scheduled'] as const;
const TERMINAL = [...TERMINAL_STATUSES];

// ---- repositories -----------------------------------------------------------------------------

export function principalRepo(): PrincipalRepo {
  return {
    async get(tx, id) {
      const r = await q(tx).selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toPrincipal(r) : null;
    },
    async insert(tx, p) {
      await insertUnique('principal', p.id, () => q(tx).insertInto('principals').values(principalRow(p)).execute());
    },
    async update(tx, p) {
      const { id: _id, ...changes } = principalRow(p);
      await q(tx).updateTable('principals').set(changes).where('id', '=', p.id).execute();
    },
    async delete(tx, id) {
      await q(tx).deleteFrom('principals').where('id', '=', id).execute();
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('principals')
        .selectAll()
        .$if(f.kind !== undefined, (qb) => qb.where('kind', '=', f.kind!))
        .$if(f.after !== undefined, (qb) => qb.where('id', '>', f.after!))
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toPrincipal);
    },
    async count(tx) {
      const r = await q(tx).selectFrom('principals').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

export function membershipRepo(dialect: Dialect): MembershipRepo {
  return {
    async setMembers(tx, groupId, members) {
      const db = q(tx);
      await db.deleteFrom('group_members').where('group_id', '=', groupId).execute();
      const unique = [...new Set(members)];
      for (const part of chunks(unique, 2, dialect)) {
        await db
          .insertInto('group_members')
          .values(part.map((m) => ({ group_id: groupId, member_id: m })))
          .execute();
      }
    },
    async members(tx, groupId) {
      const rows = await q(tx).selectFrom('group_members').select('member_id').where('group_id', '=', groupId).orderBy('member_id').execute();
      return rows.map((r) => r.member_id);
    },
    async groupsOf(tx, memberId) {
      const rows = await q(tx).selectFrom('group_members').select('group_id').where('member_id', '=', memberId).orderBy('group_id').execute();
      return rows.map((r) => r.group_id);
    },
    /** Returns the groups the principal was removed from (not the principal itself when it is a group). */
    async removeEverywhere(tx, principalId) {
      const db = q(tx);
      const groups = await db.selectFrom('group_members').select('group_id').where('member_id', '=', principalId).orderBy('group_id').execute();
      await db.deleteFrom('group_members').where((eb) => eb.or([eb('member_id', '=', principalId), eb('group_id', '=', principalId)])).execute();
      return groups.map((g) => g.group_id);
    },
  };
}

export function tokenRepo(): TokenRepo {
  return {
    async insert(tx, t) {
      await insertUnique('token', t.id, () =>
        q(tx)
          .insertInto('api_tokens')
          .values({
            id: t.id,
            principal_id: t.principalId,
            name: t.name,
            hash: t.hash,
            created_at: t.createdAt,
            expires_at: t.expiresAt,
            revoked_at: t.revokedAt,
            last_used_at: t.lastUsedAt,
          })
          .execute(),
      );
    },
    async byHash(tx, hash) {
      const r = await q(tx).selectFrom('api_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return r ? toToken(r) : null;
    },
    async get(tx, id) {
      const r = await q(tx).selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toToken(r) : null;
    },
    async listFor(tx, principalId) {
      const rows = await q(tx).selectFrom('api_tokens').selectAll().where('principal_id', '=', principalId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toToken);
    },
    async revoke(tx, id, at) {
      await q(tx).updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async touch(tx, id, at) {
      await q(tx).updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },
  };
}

export function roleRepo(dialect: Dialect): RoleRepo {
  return {
    async lock(tx, id) {
      if (dialect === 'postgres') await q(tx).selectFrom('roles').select('id').where('id', '=', id).forUpdate().execute();
    },
    async get(tx, id) {
      const r = await q(tx).selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toRole(r) : null;
    },
    async insert(tx, r) {
      await insertUnique('role', r.id, () => q(tx).insertInto('roles').values(roleRow(r)).execute());
    },
    async update(tx, r) {
      const { id: _id, ...changes } = roleRow(r);
      await q(tx).updateTable('roles').set(changes).where('id', '=', r.id).execute();
    },
    async delete(tx, id) {
      await q(tx).deleteFrom('roles').where('id', '=', id).execute();
    },
    async list(tx) {
      return (await q(tx).selectFrom('roles').selectAll().orderBy('id').execute()).map(toRole);
    },
  };
}

export function eligibilityRepo(dialect: Dialect): EligibilityRepo {
  return {
    async get(tx, id) {
      const r = await q(tx).selectFrom('eligibilities').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toEligibility(r) : null;
    },
    async insert(tx, e) {
      await insertUnique('eligibility', e.id, () => q(tx).insertInto('eligibilities').values(eligibilityRow(e)).execute());
    },
    async lock(tx, ids, mode) {
      if (ids.length === 0) return [];
      const rows = await q(tx)
        .selectFrom('eligibilities')
        .selectAll()
        .where('id', 'in', ids)
        .orderBy('id')
        .$if(dialect === 'postgres', (qb) => (mode === 'update' ? qb.forUpdate() : qb.forShare()))
        .execute();
      return rows.map(toEligibility);
    },
    async markRemoved(tx, id, at) {
      await q(tx).updateTable('eligibilities').set({ removed_at: at }).where('id', '=', id).where('removed_at', 'is', null).execute();
    },
    async setEndsAt(tx, id, endsAt) {
      await q(tx).updateTable('eligibilities').set({ ends_at: endsAt }).where('id', '=', id).where('removed_at', 'is', null).execute();
    },
    async list(tx, f) {
      if (f.principalIds && f.principalIds.length === 0) return [];
      const rows = await q(tx)
        .selectFrom('eligibilities')
        .selectAll()
        .$if(f.principalIds !== undefined, (qb) => qb.where('principal_id', 'in', f.principalIds!))
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(!f.includeRemoved, (qb) => qb.where('removed_at', 'is', null))
        .$if(f.after !== undefined, (qb) => qb.where('id', '>', f.after!))
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toEligibility);
    },
    async insertMany(tx, es) {
      const db = q(tx);
      for (const part of chunks(es, 10, dialect)) await db.insertInto('eligibilities').values(part.map(eligibilityRow)).execute();
    },
  };
}

export function assignmentRepo(dialect: Dialect): AssignmentRepo {
  const pg = dialect === 'postgres';
  return {
    async get(tx, id) {
      const r = await q(tx).selectFrom('assignments').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toAssignment(r) : null;
    },
    async insert(tx, a) {
      await insertUnique('assignment', a.id, () => q(tx).insertInto('assignments').values(assignmentRow(a)).execute());
    },
    async update(tx, a) {
      const { id: _id, ...changes } = assignmentRow(a);
      await q(tx).updateTable('assignments').set(changes).where('id', '=', a.id).execute();
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('assignments')
        .selectAll()
        .$if(f.principalId !== undefined, (qb) => qb.where('principal_id', '=', f.principalId!))
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(f.source !== undefined, (qb) => qb.where('source', '=', f.source!))
        .$if(f.live === true, (qb) => qb.where('status', 'in', LIVE_ASSIGNMENT))
        .$if(f.live === false, (qb) => qb.where('status', 'not in', LIVE_ASSIGNMENT))
        .$if(f.after !== undefined, (qb) => qb.where('id', '>', f.after!))
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toAssignment);
    },
    async leaseDue(tx, what, now, limit) {
      const base = q(tx).selectFrom('assignments').selectAll();
      const due =
        what === 'expire'
          ? base.where('status', 'in', LIVE_ASSIGNMENT).where('ends_at', 'is not', null).where('ends_at', '<=', now).orderBy('ends_at')
          : base.where('status', '=', 'scheduled').where('starts_at', '<=', now).orderBy('starts_at');
      const rows = await due
        .orderBy('id')
        .limit(limit)
        .$if(pg, (qb) => qb.forUpdate().skipLocked())
        .execute();
      return rows.map(toAssignment);
    },
    async insertMany(tx, as) {
      const db = q(tx);
      for (const part of chunks(as, 13, dialect)) await db.insertInto('assignments').values(part.map(assignmentRow)).execute();
    },
  };
}

export function requestRepo(dialect: Dialect): RequestRepo {
  const pg = dialect === 'postgres';
  return {
    async get(tx, id) {
      const r = await q(tx).selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toRequest(r) : null;
    },
    async getForUpdate(tx, id) {
      const r = await q(tx)
        .selectFrom('requests')
        .selectAll()
        .where('id', '=', id)
        .$if(pg, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toRequest(r) : null;
    },
    async insert(tx, r, idempotency) {
      await insertUnique('request', r.id, () =>
        q(tx)
          .insertInto('requests')
          .values({ id: r.id, ...requestChanges(r), idempotency_key: idempotency?.key ?? null, fingerprint: idempotency?.fingerprint ?? null })
          .execute(),
      );
    },
    async update(tx, r) {
      await q(tx).updateTable('requests').set(requestChanges(r)).where('id', '=', r.id).execute();
    },
    async byIdempotencyKey(tx, principalId, key) {
      const r = await q(tx).selectFrom('requests').selectAll().where('principal_id', '=', principalId).where('idempotency_key', '=', key).executeTakeFirst();
      return r ? { request: toRequest(r), fingerprint: r.fingerprint ?? '' } : null;
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('requests')
        .selectAll()
        .$if(f.principalId !== undefined, (qb) => qb.where('principal_id', '=', f.principalId!))
        .$if(f.status !== undefined, (qb) => qb.where('status', '=', f.status as ActivationRequest['status']))
        .$if(f.roleId !== undefined, (qb) => qb.where('role_id', '=', f.roleId!))
        .$if(f.after !== undefined, (qb) => qb.where('id', '>', f.after!))
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toRequest);
    },
    async byAssignment(tx, assignmentId) {
      const rows = await q(tx).selectFrom('requests').selectAll().where('assignment_id', '=', assignmentId).where('status', 'not in', TERMINAL).orderBy('id').execute();
      return rows.map(toRequest);
    },
    async leaseTimedOut(tx, now, limit) {
      const rows = await q(tx)
        .selectFrom('requests')
        .selectAll()
        .where('status', '=', 'pending_approval')
        .where('timeout_at', '<=', now)
        .orderBy('timeout_at')
        .orderBy('id')
        .limit(limit)
        .$if(pg, (qb) => qb.forUpdate().skipLocked())
        .execute();
      return rows.map(toRequest);
    },
    async pending(tx, limit) {
      const rows = await q(tx).selectFrom('requests').selectAll().where('status', '=', 'pending_approval').orderBy('created_at').orderBy('id').limit(limit).execute();
      return rows.map(toRequest);
    },
  };
}

export function approvalRepo(): ApprovalRepo {
  return {
    async insert(tx, a) {
      await insertUnique('approval', a.id, () =>
        q(tx)
          .insertInto('approvals')
          .values({
            id: a.id,
            request_id: a.requestId,
            approver_id: a.approverId,
            decision: a.decision,
            reason: a.reason,
            stage: a.stage,
            admin_unit: a.adminUnit,
            created_at: a.createdAt,
          })
          .execute(),
      );
    },
    async forRequest(tx, requestId) {
      const rows = await q(tx).selectFrom('approvals').selectAll().where('request_id', '=', requestId).orderBy('created_at').orderBy('id').execute();
      return rows.map(
        (r): Approval => ({
          id: r.id,
          requestId: r.request_id,
          approverId: r.approver_id,
          decision: r.decision,
          reason: r.reason,
          stage: r.stage,
          adminUnit: r.admin_unit,
          createdAt: r.created_at,
        }),
      );
    },
  };
}
