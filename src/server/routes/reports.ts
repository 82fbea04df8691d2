import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { evidenceCsv, evidenceHtml, type EvidenceReport } from '../../app/reports.js';
import { Invalid } from '../../core/errors.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const Nullable = <X extends Parameters<typeof T.Union>[0][number]>(s: X) => T.Union([s, T.Null()]);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const Tier = T.Union([T.Literal('low'), T.Literal('medium'), T.Literal('high'), T.Literal('critical')]);

const EvidenceQuery = T.Object(
  {
    from: T.String({ format: 'date-time' }),
    to: T.String({ format: 'date-time' }),
    format: T.Optional(T.Union([T.Literal('json'), T.Literal('csv'), T.Literal('html')])),
    roleId: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
    minTier: T.Optional(Tier),
  },
  { additionalProperties: false },
);
const EvidenceOut = T.Object({
  from: T.String(), to: T.String(), generatedAt: T.String(), auditHead: T.Object({ seq: T.Integer(), hash: T.String() }),
  items: T.Array(
    T.Object({
      assignmentId: T.String(), principalId: T.String(), principalName: T.String(), roleId: T.String(), roleName: T.String(), riskTier: T.String(), scope: T.String(),
      source: T.String(), startsAt: T.String(), endsAt: S.NullableTime, endedAt: S.NullableTime, status: T.String(), requestId: Nullable(T.String()),
      justification: T.String(), ticket: Nullable(T.String()),
      approvals: T.Array(T.Object({ approverId: T.String(), approverName: T.String(), decision: T.String(), reason: T.String(), at: T.String() })),
    }),
  ),
});

const present = (r: EvidenceReport) => ({
  from: iso(r.from)!, to: iso(r.to)!, generatedAt: iso(r.generatedAt)!, auditHead: r.auditHead,
  items: r.items.map((i) => ({ ...i, startsAt: iso(i.startsAt)!, endsAt: iso(i.endsAt), endedAt: iso(i.endedAt), approvals: i.approvals.map((a) => ({ ...a, at: iso(a.at)! })) })),
});

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Evidence for auditors: who held which role when, on whose approval (admins; an audited read). */
export function reportsRoutes(app: FastifyInstance, uc: UseCases): void {
  app.get<{ Querystring: Static<typeof EvidenceQuery> }>(
    '/reports/evidence',
    {
      schema: {
        tags: ['reports'],
        summary:
          'Admin: every assignment held during [from, to) (any source; roleId / minTier filter) with names, risk tier, scope, window, status, the request\'s justification and ticket, and the approvals. format=json (default), csv (attachment) or html (a printable page). Carries the audit head at generation (the report.generated event itself). Audited report.generated.',
        querystring: EvidenceQuery,
        response: { 200: EvidenceOut, ...err },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const from = Date.parse(q.from);
      const to = Date.parse(q.to);
      if (!Number.isFinite(from)) throw new Invalid('invalid_request', 'from is an ISO 8601 date-time', { field: 'from' });
      if (!Number.isFinite(to)) throw new Invalid('invalid_request', 'to is an ISO 8601 date-time', { field: 'to' });
      const format = q.format ?? 'json';
      const r = await uc.reports.evidence(actorOf(req), { from, to, roleId: q.roleId, minTier: q.minTier, format });
      if (format === 'json') return present(r);
      const name = `elevate-evidence-${day(r.from)}-${day(r.to)}`;
      reply.header('x-elevate-audit-head', `${r.auditHead.seq}:${r.auditHead.hash}`);
      reply.header('cache-control', 'no-store');
      if (format === 'csv') {
        reply.header('content-disposition', `attachment; filename="${name}.csv"`);
        return reply.type('text/csv; charset=utf-8').send(evidenceCsv(r));
      }
      reply.header('content-disposition', `inline; filename="${name}.html"`);
      reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
      return reply.type('text/html; charset=utf-8').send(evidenceHtml(r));
    },
  );
}
