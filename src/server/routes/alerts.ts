import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import type { Alert } from '../../app/alerts-ports.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };

const Severity = T.Union([T.Literal('low'), T.Literal('medium'), T.Literal('high'), T.Literal('critical')]);
const Status = T.Union([T.Literal('open'), T.Literal('acknowledged'), T.Literal('resolved')]);
const AlertQuery = T.Object(
  { status: T.Optional(Status), severity: T.Optional(Severity), rule: T.Optional(T.String({ minLength: 1, maxLength: 64 })), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })) },
  { additionalProperties: false },
);
const Nullable = <X extends Parameters<typeof T.Union>[0][number]>(s: X) => T.Union([s, T.Null()]);
const AlertOut = T.Object({
  id: T.String(), rule: T.String(), severity: Severity, status: Status, title: T.String(), summary: T.String(),
  principals: T.Array(T.String()), roleId: Nullable(T.String()), scope: Nullable(T.String()),
  events: T.Array(T.String(), { description: 'ids of the audit events that triggered it (at most 100)' }),
  details: T.Record(T.String(), T.Unknown()), count: T.Integer(), firstSeenAt: T.String({ format: 'date-time' }), lastSeenAt: T.String({ format: 'date-time' }),
  acknowledgedBy: Nullable(T.String()), acknowledgedAt: S.NullableTime, resolvedBy: Nullable(T.String()), resolvedAt: S.NullableTime, note: Nullable(T.String()),
});
const AlertDetailOut = T.Composite([AlertOut, T.Object({ eventRecords: T.Array(S.AuditEventOut) })]);
const AckBody = T.Union([T.Object({ note: T.Optional(T.String({ maxLength: 2000 })) }, { additionalProperties: false }), T.Null()]);
const ResolveBody = T.Object({ note: T.String({ maxLength: 2000 }) }, { additionalProperties: false });
const SettingsDoc = T.Object(
  { rules: T.Record(T.String(), T.Record(T.String(), T.Unknown())) },
  { description: 'every rule: { enabled, severity, …thresholds }; rules and fields left out of a PUT take their defaults' },
);
const SettingsBody = T.Object({ rules: T.Optional(T.Unknown()) }, { additionalProperties: T.Unknown() });

const tn = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const present = (a: Alert) => ({
  id: a.id, rule: a.rule, severity: a.severity, status: a.status, title: a.title, summary: a.summary, principals: a.principals, roleId: a.roleId, scope: a.scope,
  events: a.events, details: a.details, count: a.count, firstSeenAt: new Date(a.firstSeenAt).toISOString(), lastSeenAt: new Date(a.lastSeenAt).toISOString(),
  acknowledgedBy: a.acknowledgedBy, acknowledgedAt: tn(a.acknowledgedAt), resolvedBy: a.resolvedBy, resolvedAt: tn(a.resolvedAt), note: a.note,
});

/** Detection alerts and the detection settings (admins). */
export function alertsRoutes(app: FastifyInstance, uc: UseCases): void {
  const tags = ['alerts'];
  app.get<{ Querystring: Static<typeof AlertQuery> }>(
    '/alerts',
    { schema: { tags, summary: 'Alerts raised by the detection rules, most recently seen first (admin)', querystring: AlertQuery, response: { 200: S.Items(AlertOut), ...err } } },
    async (req) => {
      const q = req.query;
      return { items: (await uc.alerts.list(actorOf(req), { status: q.status, severity: q.severity, rule: q.rule, limit: q.limit ?? 100 })).map(present) };
    },
  );
  app.get<{ Params: Static<typeof S.IdParams> }>(
    '/alerts/:id',
    { schema: { tags, summary: 'An alert with the audit events that triggered it (admin)', params: S.IdParams, response: { 200: AlertDetailOut, ...err } } },
    async (req) => {
      const { alert, eventRecords } = await uc.alerts.get(actorOf(req), req.params.id);
      return { ...present(alert), eventRecords: eventRecords.map(S.present.event) };
    },
  );
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof AckBody> }>(
    '/alerts/:id/acknowledge',
    { schema: { tags, summary: 'Acknowledge an open alert (admin; audited). 409 alert_acknowledged, alert_resolved.', params: S.IdParams, body: AckBody, response: { 200: AlertOut, ...err } } },
    async (req) => present(await uc.alerts.acknowledge(actorOf(req), req.params.id, req.body?.note ?? null)),
  );
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof ResolveBody> }>(
    '/alerts/:id/resolve',
    { schema: { tags, summary: 'Resolve an alert with a note (admin; audited). 400 note_required; 409 alert_resolved. A later finding opens a new alert.', params: S.IdParams, body: ResolveBody, response: { 200: AlertOut, ...err } } },
    async (req) => present(await uc.alerts.resolve(actorOf(req), req.params.id, req.body.note)),
  );
  app.get(
    '/detection/settings',
    { schema: { tags, summary: 'Detection rules: enabled, severity and thresholds of each (admin)', response: { 200: SettingsDoc, ...err } } },
    async (req) => uc.alerts.getSettings(actorOf(req)),
  );
  app.put<{ Body: Static<typeof SettingsBody> }>(
    '/detection/settings',
    {
      schema: {
        tags,
        summary: 'Replace the detection settings, validated as a whole (admin; audited as detection.settings_updated). 400 invalid_settings with details.field.',
        body: SettingsBody,
        response: { 200: SettingsDoc, ...err },
      },
    },
    async (req) => uc.alerts.putSettings(actorOf(req), req.body),
  );
}
