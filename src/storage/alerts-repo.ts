import type { Selectable } from 'kysely';
import type { Alert, AlertRepo } from '../app/alerts-ports.js';
import type { AuditEvent } from '../core/audit.js';
import type { DetectionEvent, Severity } from '../core/detection.js';
import type { AlertsTable } from './alerts-schema.js';
import type { Dialect } from './schema.js';
import { lastSeen } from './last-seen.js';
import { insertUnique, q } from './tx.js';

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toAlert = (r: Selectable<AlertsTable>): Alert => ({
  id: r.id,
  rule: r.rule,
  severity: r.severity,
  status: r.status,
  dedupeKey: r.dedupe_key,
  title: r.title,
  summary: r.summary,
  principals: JSON.parse(r.principals) as string[],
  roleId: r.role_id,
  scope: r.scope,
  events: JSON.parse(r.events) as string[],
  details: JSON.parse(r.details) as Record<string, unknown>,
  count: Number(r.count),
  firstSeenAt: Number(r.first_seen_at),
  lastSeenAt: Number(r.last_seen_at),
  acknowledgedBy: r.acknowledged_by,
  acknowledgedAt: num(r.acknowledged_at),
  resolvedBy: r.resolved_by,
  resolvedAt: num(r.resolved_at),
  note: r.note,
});

const row = (a: Alert): AlertsTable => ({
  id: a.id,
  rule: a.rule,
  severity: a.severity,
  status: a.status,
  dedupe_key: a.dedupeKey,
  title: a.title,
  summary: a.summary,
  principals: JSON.stringify(a.principals),
  role_id: a.roleId,
  scope: a.scope,
  events: JSON.stringify(a.events),
  details: JSON.stringify(a.details),
  count: a.count,
  first_seen_at: a.firstSeenAt,
  last_seen_at: a.lastSeenAt,
  acknowledged_by: a.acknowledgedBy,
  acknowledged_at: a.acknowledgedAt,
  resolved_by: a.resolvedBy,
  resolved_at: a.resolvedAt,
  note: a.note,
});

export function alertRepo(dialect: Dialect): AlertRepo {
  const pg = dialect === 'postgres';
  return {
    async insert(tx, a) {
      await insertUnique('alert', a.id, () => q(tx).insertInto('alerts').values(row(a)).execute());
    },
    async update(tx, a) {
      const { id: _id, ...rest } = row(a);
      await q(tx).updateTable('alerts').set(rest).where('id', '=', a.id).execute();
    },
    async get(tx, id, forUpdate = false) {
      const r = await q(tx).selectFrom('alerts').selectAll().where('id', '=', id).$if(forUpdate && pg, (qb) => qb.forUpdate()).executeTakeFirst();
      return r ? toAlert(r) : null;
    },
    async unresolved(tx, rule, dedupeKey) {
      const r = await q(tx)
        .selectFrom('alerts')
        .selectAll()
        .where('rule', '=', rule)
        .where('dedupe_key', '=', dedupeKey)
        .where('status', '<>', 'resolved')
        .$if(pg, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toAlert(r) : null;
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('alerts')
        .selectAll()
        .$if(f.status !== undefined, (qb) => qb.where('status', '=', f.status!))
        .$if(f.severity !== undefined, (qb) => qb.where('severity', '=', f.severity!))
        .$if(f.rule !== undefined, (qb) => qb.where('rule', '=', f.rule!))
        .orderBy('last_seen_at', 'desc')
        .orderBy('id', 'desc')
        .limit(f.limit)
        .execute();
      return rows.map(toAlert);
    },
    async countOpenBySeverity(tx) {
      const rows = await q(tx).selectFrom('alerts').select(['severity', (eb) => eb.fn.countAll<number | string>().as('n')]).where('status', '<>', 'resolved').groupBy('severity').execute();
      const out: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
      for (const r of rows) if (r.severity in out) out[r.severity] = Number(r.n);
      return out;
    },
    async lockCursor(tx) {
      const r = await q(tx)
        .selectFrom('detection_cursor')
        .selectAll()
        .where('id', '=', 'main')
        .$if(pg, (qb) => qb.forUpdate().skipLocked())
        .executeTakeFirst();
      return r ? { seq: Number(r.seq), stateRunAt: num(r.state_run_at) } : null;
    },
    async saveCursor(tx, c, at) {
      await q(tx).updateTable('detection_cursor').set({ seq: c.seq, state_run_at: c.stateRunAt, updated_at: at }).where('id', '=', 'main').execute();
    },
    async settings(tx) {
      const r = await q(tx).selectFrom('detection_settings').select('settings').where('id', '=', 'main').executeTakeFirst();
      return r ? (JSON.parse(r.settings) as unknown) : null;
    },
    async putSettings(tx, settings, by, at) {
      const values = { id: 'main', settings: JSON.stringify(settings), updated_by: by, updated_at: at };
      await q(tx)
        .insertInto('detection_settings')
        .values(values)
        .onConflict((oc) => oc.column('id').doUpdateSet({ settings: values.settings, updated_by: by, updated_at: at }))
        .execute();
    },
    async history(tx, f) {
      if (f.principals.length === 0 || f.types.length === 0) return [];
      const ids = [...new Set(f.principals)].slice(0, 5000);
      const rows = await q(tx)
        .selectFrom('audit_events')
        .select(['seq', 'id', 'ts', 'type', 'outcome', 'actor_id', 'principal_id', 'role_id', 'scope', 'request_id', 'reasons', 'data'])
        .where('type', 'in', [...f.types])
        .where('seq', '<=', f.maxSeq)
        .where('ts', '>=', f.from)
        .where((eb) => eb.or([eb('principal_id', 'in', ids), eb('actor_id', 'in', ids)]))
        .orderBy('seq', 'desc')
        .limit(f.limit)
        .execute();
      return rows.reverse().map(
        (r): DetectionEvent => ({
          seq: Number(r.seq), id: r.id, ts: Number(r.ts), type: r.type, outcome: r.outcome, actorId: r.actor_id, principalId: r.principal_id,
          roleId: r.role_id, scope: r.scope, requestId: r.request_id, reasons: JSON.parse(r.reasons) as string[], data: JSON.parse(r.data) as Record<string, unknown>,
        }),
      );
    },
    async auditEvents(tx, ids) {
      if (ids.length === 0) return [];
      const rows = await q(tx).selectFrom('audit_events').selectAll().where('id', 'in', [...new Set(ids)].slice(0, 1000)).orderBy('seq').execute();
      return rows.map(
        (r): AuditEvent => ({
          seq: Number(r.seq), id: r.id, ts: Number(r.ts), type: r.type, outcome: r.outcome, actorId: r.actor_id, principalId: r.principal_id, roleId: r.role_id, scope: r.scope,
          requestId: r.request_id, reasons: JSON.parse(r.reasons) as string[], data: JSON.parse(r.data) as Record<string, unknown>, prevHash: r.prev_hash, hash: r.hash,
        }),
      );
    },
    async requestTimes(tx, requestIds) {
      const out: Record<string, number> = {};
      const ids = [...new Set(requestIds)];
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await q(tx).selectFrom('requests').select(['id', 'created_at']).where('id', 'in', ids.slice(i, i + 500)).execute();
        for (const r of rows) out[r.id] = Number(r.created_at);
      }
      return out;
    },
    async stateFacts(tx, now) {
      const db = q(tx);
      const principals = await db.selectFrom('principals').select(['id', 'kind', 'status', 'created_at']).execute();
      // Seen: a sign-in, a session in use, an API token used or an activation request (as reviews count it).
      const seen = await lastSeen(tx, dialect, null);
      const assignments = await db
        .selectFrom('assignments')
        .select(['id', 'principal_id', 'role_id', 'scope', 'source', 'starts_at', 'ends_at'])
        .where('status', 'in', ['active', 'scheduled'])
        .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
        .execute();
      const lastUse = db
        .selectFrom('requests')
        .select(['eligibility_id', (eb) => eb.fn.max('created_at').as('last_used_at')])
        .where('status', '<>', 'denied')
        .where('kind', '=', 'activate')
        .where('eligibility_id', 'is not', null)
        .groupBy('eligibility_id')
        .as('u');
      const eligibilities = await db
        .selectFrom('eligibilities as e')
        .leftJoin(lastUse, 'u.eligibility_id', 'e.id')
        .select(['e.id', 'e.principal_id', 'e.role_id', 'e.scope', 'e.starts_at', 'e.ends_at', 'e.created_at', 'u.last_used_at'])
        .where('e.removed_at', 'is', null)
        .where((eb) => eb.or([eb('e.ends_at', 'is', null), eb('e.ends_at', '>', now)]))
        .execute();
      return {
        principals: principals.map((p) => ({ id: p.id, kind: p.kind, status: p.status, createdAt: Number(p.created_at), lastSignInAt: seen.get(p.id) ?? null })),
        assignments: assignments.map((a) => ({ id: a.id, principalId: a.principal_id, roleId: a.role_id, scope: a.scope, source: a.source, startsAt: Number(a.starts_at), endsAt: num(a.ends_at) })),
        eligibilities: eligibilities.map((e) => ({
          id: e.id, principalId: e.principal_id, roleId: e.role_id, scope: e.scope, startsAt: Number(e.starts_at), endsAt: num(e.ends_at), createdAt: Number(e.created_at),
          lastUsedAt: e.last_used_at === null || e.last_used_at === undefined ? null : Number(e.last_used_at),
        })),
      };
    },
  };
}
