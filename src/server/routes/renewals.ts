import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import type { EligibilityRenewal } from '../../app/ports.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };

const Status = T.Union([T.Literal('pending'), T.Literal('approved'), T.Literal('denied'), T.Literal('cancelled')]);
const RenewalBody = T.Object({ justification: T.String({ maxLength: 1000 }) }, { additionalProperties: false });
const RenewalQuery = T.Object(
  {
    status: T.Optional(Status),
    mine: T.Optional(T.Boolean({ description: "the caller's own renewal requests (anyone); without it, every request (admins)" })),
    limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })),
    after: T.Optional(T.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
const RenewalOut = T.Object({
  id: T.String(), eligibilityId: T.String(), principalId: T.String(), roleId: T.String(), scope: T.String(), justification: T.String(),
  status: T.String(), createdAt: T.String({ format: 'date-time' }), decidedBy: T.Union([T.String(), T.Null()]), decidedAt: S.NullableTime, reason: T.Union([T.String(), T.Null()]),
});
const DecidedOut = T.Object({ renewal: RenewalOut, eligibility: S.EligibilityOut });

const present = (r: EligibilityRenewal) => ({ ...r, createdAt: new Date(r.createdAt).toISOString(), decidedAt: r.decidedAt === null ? null : new Date(r.decidedAt).toISOString() });

/** Renewal of eligibilities that end soon: the holder asks, another admin approves or denies. */
export function renewalRoutes(app: FastifyInstance, uc: UseCases): void {
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof RenewalBody> }>(
    '/eligibilities/:id/renewals',
    {
      schema: {
        tags: ['eligibilities'],
        summary:
          'Ask to renew your eligibility that ends within 14 days (audited; admins are notified through the outbox). 403 not_yours for one held through a group; 409 not_expiring (no end, ended, or more than 14 days left), renewal_pending.',
        params: S.IdParams,
        body: RenewalBody,
        response: { 201: RenewalOut, ...err },
      },
    },
    async (req, reply) => {
      const r = await uc.renewals.request(actorOf(req), req.params.id, req.body.justification);
      reply.status(201);
      return present(r);
    },
  );
  app.get<{ Querystring: Static<typeof RenewalQuery> }>(
    '/eligibilities/renewals',
    { schema: { tags: ['eligibilities'], summary: 'Renewal requests: every one (admin), or `mine=true`', querystring: RenewalQuery, response: { 200: S.Items(RenewalOut), ...err } } },
    async (req) => {
      const q = req.query;
      const items = await uc.renewals.list(actorOf(req), { mine: q.mine, status: q.status, limit: q.limit ?? 100, after: q.after });
      return { items: items.map(present) };
    },
  );
  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.ReasonBody> }>(
      `/eligibilities/renewals/:id/${decision}`,
      {
        schema: {
          tags: ['eligibilities'],
          summary:
            decision === 'approve'
              ? "Admin (not the requester: 403 self_approval): extend the eligibility's end by the role's longest eligibility (or, where permanent eligibility is allowed, by its original length)"
              : 'Admin (not the requester): deny a renewal request',
          params: S.IdParams,
          body: S.ReasonBody,
          response: { 200: DecidedOut, ...err },
        },
      },
      async (req) => {
        const out = await uc.renewals.decide(actorOf(req), req.params.id, decision, req.body.reason);
        return { renewal: present(out.renewal), eligibility: S.present.eligibility(out.eligibility) };
      },
    );
  }
  app.post<{ Params: Static<typeof S.IdParams> }>(
    '/eligibilities/renewals/:id/cancel',
    { schema: { tags: ['eligibilities'], summary: 'The requester withdraws a pending renewal request', params: S.IdParams, response: { 200: RenewalOut, ...err } } },
    async (req) => present(await uc.renewals.cancel(actorOf(req), req.params.id)),
  );
}
