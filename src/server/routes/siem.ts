import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import type { SiemDeadLetter } from '../../app/siem-ports.js';
import type { SiemSinkStatus } from '../../app/siem.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Nullable = <X extends Parameters<typeof T.Union>[0][number]>(x: X) => T.Union([x, T.Null()]);

const SinkOut = T.Object({
  name: T.String(), target: T.String(), deliveredSeq: T.Integer(), headSeq: T.Integer(), lag: T.Integer(), lastDeliveredAt: S.NullableTime,
  attempts: T.Integer(), nextAttemptAt: S.NullableTime, lastError: Nullable(T.String()), deadLetters: T.Integer({ description: 'dead letters not replayed yet' }),
});
const DeadLetterOut = T.Object({
  id: T.String(), sink: T.String(), fromSeq: T.Integer(), toSeq: T.Integer(), error: T.String(), attempts: T.Integer(), createdAt: T.String({ format: 'date-time' }), replayedAt: S.NullableTime,
});
const DeadLetterQuery = T.Object({ sink: T.Optional(T.String({ maxLength: 64 })), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false });
const SelfAuditOut = T.Object({
  runs: T.Array(T.Object({ at: T.String({ format: 'date-time' }), sampled: T.Integer(), disagreements: T.Integer(), falseAllows: T.Integer(), inconclusive: T.Integer() })),
  falseAllowTotal: T.Integer(),
});

const presentSink = (s: SiemSinkStatus) => ({ ...s, lastDeliveredAt: iso(s.lastDeliveredAt), nextAttemptAt: iso(s.nextAttemptAt) });
const presentDl = (d: SiemDeadLetter) => ({ ...d, createdAt: new Date(d.createdAt).toISOString(), replayedAt: iso(d.replayedAt) });

/** SIEM export state, dead letters (and their replay), and the false-allow self-audit's runs. Admin only. */
export function siemRoutes(app: FastifyInstance, uc: UseCases): void {
  app.get(
    '/siem',
    {
      schema: {
        tags: ['governance'],
        summary: 'Admin: each SIEM output (ELEVATE_SYSLOG_URL, ELEVATE_SIEM_WEBHOOK_URL): last delivered audit seq, head, lag, retry state, dead letters waiting',
        response: { 200: T.Object({ sinks: T.Array(SinkOut) }), ...err },
      },
    },
    async (req) => ({ sinks: (await uc.siem.status(actorOf(req))).map(presentSink) }),
  );
  app.get<{ Querystring: Static<typeof DeadLetterQuery> }>(
    '/siem/dead-letters',
    {
      schema: {
        tags: ['governance'],
        summary: 'Admin: batches of audit events a SIEM output refused too many times (the export moved on); newest first',
        querystring: DeadLetterQuery,
        response: { 200: S.Items(DeadLetterOut), ...err },
      },
    },
    async (req) => ({ items: (await uc.siem.deadLetters(actorOf(req), { sink: req.query.sink, limit: req.query.limit ?? 100 })).map(presentDl) }),
  );
  app.post<{ Params: Static<typeof S.IdParams> }>(
    '/siem/dead-letters/:id/replay',
    {
      schema: {
        tags: ['governance'],
        summary: "Admin: send a dead letter's events to its output again now (audited). 409 replay_failed when the output refuses again, sink_not_configured",
        params: S.IdParams,
        response: { 200: DeadLetterOut, ...err },
      },
    },
    async (req) => presentDl(await uc.siem.replay(actorOf(req), req.params.id)),
  );
  app.get(
    '/self-audit',
    {
      schema: {
        tags: ['governance'],
        summary: 'Admin: the false-allow self-audit: recent runs (sampled check answers re-derived from the grant history, disagreements) and false allows ever found',
        response: { 200: SelfAuditOut, ...err },
      },
    },
    async (req) => {
      const r = await uc.selfAudit.runs(actorOf(req));
      return {
        runs: r.runs.map((x) => ({ at: new Date(x.at).toISOString(), sampled: x.sampled, disagreements: x.disagreements, falseAllows: x.falseAllows, inconclusive: x.inconclusive })),
        falseAllowTotal: r.falseAllowTotal,
      };
    },
  );
}
