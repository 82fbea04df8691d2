import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import type { Stats } from '../../core/stats.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody };
const Time = T.String({ format: 'date-time' });
const Count = T.Integer({ minimum: 0 });
const Live = T.Object({
  count: T.Integer({ minimum: 0, description: 'assignments live at some moment of the day (up to now)' }),
  hours: T.Number({ minimum: 0, description: 'hours of access they gave that day (up to now)' }),
});
const NullableMs = T.Union([T.Integer({ minimum: 0 }), T.Null()]);

export const StatsQuery = T.Object(
  {
    from: T.Optional(T.String({ format: 'date-time', description: 'start (inclusive); default: 29 UTC days before the start of today' })),
    to: T.Optional(T.String({ format: 'date-time', description: 'end (exclusive); default: now' })),
  },
  { additionalProperties: false },
);

export const StatsOut = T.Object({
  from: Time,
  to: Time,
  generatedAt: Time,
  timeZone: T.Literal('UTC', { description: 'days are UTC days' }),
  days: T.Array(
    T.Object({
      date: T.String({ description: 'YYYY-MM-DD (UTC)' }),
      activations: Count,
      breakglass: Count,
      denials: Count,
      standing: Live,
      justInTime: Live,
      breakglassAccess: Live,
    }),
  ),
  totals: T.Object({
    activations: Count, breakglass: Count, denials: Count, approvals: Count,
    standingHours: T.Number({ minimum: 0 }), justInTimeHours: T.Number({ minimum: 0 }), breakglassHours: T.Number({ minimum: 0 }),
  }),
  approvalLatency: T.Object({ count: Count, p50Ms: NullableMs, p90Ms: NullableMs, maxMs: NullableMs }, { description: 'request created → finally approved; nearest-rank percentiles' }),
  denialsByReason: T.Array(T.Object({ reason: T.String(), count: Count })),
  topRoles: T.Array(T.Object({ roleId: T.String(), activations: Count })),
});

export const CheckpointOut = T.Object({
  checkpoint: T.Union([T.Object({ seq: T.Integer(), hash: T.String(), keyId: T.String(), at: Time }), T.Null()]),
});

const iso = (ms: number) => new Date(ms).toISOString();

function present(s: Stats): Static<typeof StatsOut> {
  return {
    from: iso(s.from),
    to: iso(s.to),
    generatedAt: iso(s.now),
    timeZone: 'UTC',
    days: s.days.map(({ start: _start, ...d }) => d),
    totals: s.totals,
    approvalLatency: s.approvalLatency,
    denialsByReason: s.denialsByReason,
    topRoles: s.topRoles,
  };
}

/** The dashboard's figures, and the newest signed checkpoint of the audit chain: administrators only. */
export function statsRoutes(app: FastifyInstance, uc: UseCases): void {
  app.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/stats',
    { schema: { tags: ['audit'], summary: 'Activations per day, approval latency, denials by reason, top roles, standing vs just-in-time access', querystring: StatsQuery, response: { 200: StatsOut, ...err } } },
    async (req) => present(await uc.stats.get(actorOf(req), { from: S.parseTime(req.query.from, 'from'), to: S.parseTime(req.query.to, 'to') })),
  );

  app.get(
    '/audit/checkpoints/latest',
    { schema: { tags: ['audit'], summary: 'The newest signed checkpoint (null before the first)', response: { 200: CheckpointOut, ...err } } },
    async (req) => {
      const c = await uc.stats.lastCheckpoint(actorOf(req));
      return { checkpoint: c ? { seq: c.seq, hash: c.hash, keyId: c.keyId, at: iso(c.ts) } : null };
    },
  );
}
