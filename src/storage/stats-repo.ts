import type { StatsRepo } from '../app/ports.js';
import { STATS_EVENT_TYPES } from '../core/stats.js';
import { q } from './tx.js';

/**
 * The dashboard's reads (app/stats.ts runs them in one transaction; core/stats.ts computes the
 * figures). Only the columns the figures use are read, so a period with many events stays cheap.
 */
export function statsRepo(): StatsRepo {
  return {
    async facts(tx, from, to) {
      const db = q(tx);
      const events = await db
        .selectFrom('audit_events')
        .select(['ts', 'type', 'role_id', 'reasons'])
        .where('ts', '>=', from)
        .where('ts', '<', to)
        .where('type', 'in', STATS_EVENT_TYPES)
        .orderBy('seq')
        .execute();
      // A request's final approval is its `request.approved` event; its age then is the latency.
      const approvals = await db
        .selectFrom('audit_events as e')
        .innerJoin('requests as r', 'r.id', 'e.request_id')
        .select(['r.id as request_id', 'r.role_id as role_id', 'r.created_at as created_at', 'e.ts as ts'])
        .where('e.type', '=', 'request.approved')
        .where('e.ts', '>=', from)
        .where('e.ts', '<', to)
        .orderBy('e.seq')
        .execute();
      const assignments = await db
        .selectFrom('assignments')
        .select(['id', 'role_id', 'source', 'starts_at', 'ends_at'])
        .where('starts_at', '<', to)
        .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', from)]))
        .orderBy('id')
        .execute();
      return {
        events: events.map((e) => ({ ts: Number(e.ts), type: e.type, roleId: e.role_id, reasons: e.reasons === '[]' ? [] : (JSON.parse(e.reasons) as string[]) })),
        approvals: approvals.map((a) => ({ requestId: a.request_id, roleId: a.role_id, requestedAt: Number(a.created_at), approvedAt: Number(a.ts) })),
        assignments: assignments.map((a) => ({ id: a.id, roleId: a.role_id, source: a.source, startsAt: Number(a.starts_at), endsAt: a.ends_at === null ? null : Number(a.ends_at) })),
      };
    },
  };
}
