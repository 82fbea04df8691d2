import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { parseDuration } from '../../core/duration.js';
import { Invalid } from '../../core/errors.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';
import { formatDuration } from '../../core/duration.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };

function idempotencyKey(h: string | string[] | undefined): string | null {
  if (h === undefined) return null;
  if (Array.isArray(h) || h.length === 0 || h.length > 200) throw new Invalid('invalid_request', 'Idempotency-Key must be one value of 1-200 characters', { field: 'Idempotency-Key' });
  return h;
}

export function accessRoutes(app: FastifyInstance, uc: UseCases): void {
  // ------------------------------------------------------------ eligibilities
  app.post<{ Body: Static<typeof S.EligibilityBody> }>('/eligibilities', { schema: { tags: ['eligibilities'], body: S.EligibilityBody, response: { 201: S.EligibilityOut, ...err } } }, async (req, reply) => {
    const b = req.body;
    const e = await uc.eligibilities.create(actorOf(req), { ...b, startsAt: S.parseTime(b.startsAt, 'startsAt'), endsAt: S.parseTime(b.endsAt, 'endsAt') });
    reply.status(201);
    return S.present.eligibility(e);
  });
  app.get<{ Querystring: Static<typeof S.ListQuery> }>('/eligibilities', { schema: { tags: ['eligibilities'], querystring: S.ListQuery, response: { 200: S.Items(S.EligibilityOut), ...err } } }, async (req) => {
    const q = req.query;
    const items = await uc.eligibilities.list(actorOf(req), { mine: q.mine, principalId: q.principal, roleId: q.role, limit: q.limit ?? 100, after: q.after });
    return { items: items.map(S.present.eligibility) };
  });
  app.delete<{ Params: Static<typeof S.IdParams> }>('/eligibilities/:id', { schema: { tags: ['eligibilities'], params: S.IdParams, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.eligibilities.remove(actorOf(req), req.params.id);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------ requests
  app.post<{ Body: Static<typeof S.RequestBody> }>(
    '/requests',
    {
      schema: {
        tags: ['requests'],
        summary: 'Activate an eligible role at a scope. 201 with the request (active, scheduled or pending_approval); 403 with reason codes when denied (audited).',
        headers: T.Object({ 'idempotency-key': T.Optional(T.String({ minLength: 1, maxLength: 200 })) }),
        body: S.RequestBody,
        response: { 200: S.RequestOut, 201: S.RequestOut, ...err },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { request, replayed, expiresAt } = await uc.requests.activate(
        actorOf(req),
        { roleId: b.roleId, scope: b.scope, durationMs: parseDuration(b.duration), justification: b.justification ?? '', ticket: b.ticket ?? null, startAt: S.parseTime(b.startAt, 'startAt') },
        idempotencyKey(req.headers['idempotency-key']),
      );
      reply.status(replayed ? 200 : 201);
      return S.present.request(request, { expiresAt });
    },
  );
  app.get<{ Querystring: Static<typeof S.ListQuery> }>('/requests', { schema: { tags: ['requests'], querystring: S.ListQuery, response: { 200: S.Items(S.RequestOut), ...err } } }, async (req) => {
    const q = req.query;
    const items = await uc.requests.list(actorOf(req), { mine: q.mine, approvable: q.approvable, status: q.status, roleId: q.role, principalId: q.principal, limit: q.limit ?? 100, after: q.after });
    return { items: items.map((r) => S.present.request(r)) };
  });
  app.get<{ Params: Static<typeof S.IdParams> }>('/requests/:id', { schema: { tags: ['requests'], params: S.IdParams, response: { 200: S.RequestOut, ...err } } }, async (req) => {
    const { request, approvals, expiresAt, approvalsRequired, context } = await uc.requests.get(actorOf(req), req.params.id);
    return {
      ...S.present.request(request, { approvals, expiresAt }),
      approvalsRequired,
      context: context && {
        otherApprovers: context.otherApprovers,
        recentRequests: context.recentRequests.map((x) => ({ id: x.id, roleId: x.roleId, scope: x.scope, status: x.status, duration: formatDuration(x.durationMs), createdAt: new Date(x.createdAt).toISOString() })),
      },
    };
  });
  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.ReasonBody> }>(
      `/requests/:id/${decision}`,
      { schema: { tags: ['requests'], params: S.IdParams, body: S.ReasonBody, response: { 200: S.RequestOut, ...err } } },
      async (req) => S.present.request(await uc.requests.decide(actorOf(req), req.params.id, decision, req.body.reason)),
    );
  }
  app.post<{ Params: Static<typeof S.IdParams> }>('/requests/:id/cancel', { schema: { tags: ['requests'], params: S.IdParams, response: { 200: S.RequestOut, ...err } } }, async (req) =>
    S.present.request(await uc.requests.cancel(actorOf(req), req.params.id)),
  );

  // ------------------------------------------------------------ assignments
  app.post<{ Body: Static<typeof S.AssignmentBody> }>(
    '/assignments',
    { schema: { tags: ['assignments'], summary: 'Direct (standing) assignment, where the role allows it', body: S.AssignmentBody, response: { 201: S.AssignmentOut, ...err } } },
    async (req, reply) => {
      const b = req.body;
      const a = await uc.assignments.createDirect(actorOf(req), { ...b, startsAt: S.parseTime(b.startsAt, 'startsAt'), endsAt: S.parseTime(b.endsAt, 'endsAt') });
      reply.status(201);
      return S.present.assignment(a);
    },
  );
  app.get<{ Querystring: Static<typeof S.ListQuery> }>('/assignments', { schema: { tags: ['assignments'], querystring: S.ListQuery, response: { 200: S.Items(S.AssignmentOut), ...err } } }, async (req) => {
    const q = req.query;
    const items = await uc.assignments.list(actorOf(req), { mine: q.mine, principalId: q.principal, roleId: q.role, live: q.live, source: q.source, limit: q.limit ?? 100, after: q.after });
    return { items: items.map(S.present.assignment) };
  });
  app.get<{ Params: Static<typeof S.IdParams> }>('/assignments/:id', { schema: { tags: ['assignments'], params: S.IdParams, response: { 200: S.AssignmentOut, ...err } } }, async (req) =>
    S.present.assignment(await uc.assignments.get(actorOf(req), req.params.id)),
  );
  app.post<{ Params: Static<typeof S.IdParams> }>('/assignments/:id/deactivate', { schema: { tags: ['assignments'], params: S.IdParams, response: { 200: S.AssignmentOut, ...err } } }, async (req) =>
    S.present.assignment(await uc.assignments.deactivate(actorOf(req), req.params.id)),
  );
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.ReasonBody> }>(
    '/assignments/:id/revoke',
    { schema: { tags: ['assignments'], params: S.IdParams, body: S.ReasonBody, response: { 200: S.AssignmentOut, ...err } } },
    async (req) => S.present.assignment(await uc.assignments.revoke(actorOf(req), req.params.id, req.body.reason)),
  );
  app.post<{ Params: Static<typeof S.IdParams> }>(
    '/assignments/:id/convert-to-eligible',
    {
      schema: {
        tags: ['assignments'],
        summary:
          'Admin: end a direct (standing) assignment and make its holder eligible for the same role at the same scope, in one transaction (permanent if the role allows it, else for its longest eligibility). 409 for a grant that is not direct or has ended, and for the last standing elevate-admin.',
        params: S.IdParams,
        response: { 200: S.ConvertedOut, ...err },
      },
    },
    async (req) => {
      const r = await uc.assignments.convertToEligible(actorOf(req), req.params.id);
      return { assignment: S.present.assignment(r.assignment), eligibility: S.present.eligibility(r.eligibility), eligibilityCreated: r.created };
    },
  );
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.ExtendBody> }>(
    '/assignments/:id/extend',
    { schema: { tags: ['assignments'], summary: 'Request an extension (a new request under the same rules)', params: S.IdParams, body: S.ExtendBody, response: { 200: S.RequestOut, 201: S.RequestOut, ...err } } },
    async (req, reply) => {
      const b = req.body;
      const { request, replayed, expiresAt } = await uc.requests.extend(
        actorOf(req),
        req.params.id,
        { durationMs: parseDuration(b.duration), justification: b.justification ?? '', ticket: b.ticket ?? null },
        idempotencyKey(req.headers['idempotency-key']),
      );
      reply.status(replayed ? 200 : 201);
      return S.present.request(request, { expiresAt });
    },
  );

  // ------------------------------------------------------------ decision point
  app.get<{ Querystring: Static<typeof S.CheckQuery> }>(
    '/check',
    { schema: { tags: ['check'], summary: 'Does principal hold role at scope right now?', querystring: S.CheckQuery, response: { 200: S.DecisionOut, ...err } } },
    async (req) => {
      const q = req.query;
      const d = uc.check.checkOne(actorOf(req), q.principal, q.role, q.scope);
      if (d) return S.present.decision(d);
      const [slow] = await uc.check.check(actorOf(req), [q]); // audits the refusal and throws
      return S.present.decision(slow!);
    },
  );
  app.post<{ Body: Static<typeof S.CheckBatchBody> }>(
    '/check',
    { schema: { tags: ['check'], summary: 'Batch check: answers in the order asked', body: S.CheckBatchBody, response: { 200: T.Object({ results: T.Array(S.DecisionOut) }), ...err } } },
    async (req) => ({ results: (await uc.check.check(actorOf(req), req.body.checks)).map(S.present.decision) }),
  );
}
