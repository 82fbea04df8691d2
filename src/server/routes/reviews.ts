import type { FastifyInstance } from 'fastify';
import { Type as T, type Static, type TLiteral } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { presentCampaign, presentItem } from '../../app/reviews.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const tags = ['reviews'];

const Id = T.String({ minLength: 1, maxLength: 128 });
const Ids = (max: number) => T.Array(Id, { maxItems: max });
const Lit = <const V extends string[]>(...vs: V) => T.Union(vs.map((v) => T.Literal(v)) as unknown as TLiteral<V[number]>[]);
const Nullable = <X extends ReturnType<typeof T.String>>(s: X) => T.Union([s, T.Null()]);
const PrincipalKind = Lit('user', 'group', 'service');
const Include = Lit('eligibilities', 'assignments');
const ReviewerKind = Lit('manager', 'role_owners', 'principals', 'self');
const Recurrence = Lit('weekly', 'monthly', 'quarterly', 'semiannual', 'yearly');
const DefaultDecision = Lit('remove', 'keep', 'recommendation');
const Decision = Lit('approve', 'deny');
const Status = Lit('scheduled', 'active', 'completed', 'cancelled');

const FilterIn = T.Object(
  {
    roles: T.Optional(Ids(100)),
    scopes: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 512 }), { maxItems: 100 })),
    principalKinds: T.Optional(T.Array(PrincipalKind, { maxItems: 3 })),
    standingOnly: T.Optional(T.Boolean({ description: 'only direct assignments that never end (standing access)' })),
    include: T.Optional(T.Array(Include, { minItems: 1, maxItems: 2 })),
  },
  { additionalProperties: false },
);
const ReviewersIn = T.Object(
  {
    kind: ReviewerKind,
    principals: T.Optional(Ids(100)),
    groups: T.Optional(Ids(100)),
    fallback: T.Optional(T.Array(Id, { maxItems: 100, description: 'who reviews an item the kind leaves without a reviewer (no manager, no owner); then the campaign creator' })),
  },
  { additionalProperties: false },
);
const CreateBody = T.Object(
  {
    name: T.String({ minLength: 1, maxLength: 200 }),
    filter: T.Optional(FilterIn),
    reviewers: ReviewersIn,
    durationDays: T.Integer({ minimum: 1, maximum: 180 }),
    recurrence: T.Optional(T.Union([Recurrence, T.Null()])),
    defaultDecision: DefaultDecision,
    recommend: T.Optional(T.Object({ unusedDays: T.Optional(T.Integer({ minimum: 1, maximum: 3650 })), inactiveDays: T.Optional(T.Integer({ minimum: 1, maximum: 3650 })) }, { additionalProperties: false })),
    autoApply: T.Optional(T.Boolean()),
    reminderDays: T.Optional(T.Union([T.Integer({ minimum: 1, maximum: 179 }), T.Null()])),
    startAt: T.Optional(T.String({ format: 'date-time', maxLength: 64 })),
  },
  { additionalProperties: false },
);

const Counts = T.Object({ total: T.Integer(), decided: T.Integer(), approved: T.Integer(), denied: T.Integer(), pending: T.Integer() });
const CampaignOut = T.Object({
  id: T.String(), name: T.String(), status: Status,
  filter: T.Object({ roles: T.Array(T.String()), scopes: T.Array(T.String()), principalKinds: T.Array(T.String()), standingOnly: T.Boolean(), include: T.Array(T.String()) }),
  reviewers: T.Object({ kind: T.String(), principals: T.Array(T.String()), groups: T.Array(T.String()), fallback: T.Array(T.String()) }),
  durationDays: T.Integer(), recurrence: Nullable(T.String()), defaultDecision: T.String(),
  recommend: T.Object({ unusedDays: T.Integer(), inactiveDays: T.Integer() }), autoApply: T.Boolean(), reminderDays: T.Union([T.Integer(), T.Null()]),
  startsAt: T.String({ format: 'date-time' }), endsAt: T.String({ format: 'date-time' }), completedAt: S.NullableTime, createdBy: T.String(), createdAt: T.String({ format: 'date-time' }),
  previousId: Nullable(T.String()), nextId: Nullable(T.String()), counts: Counts,
});
const ItemOut = T.Object({
  id: T.String(), campaignId: T.String(), subject: T.Object({ kind: Lit('eligibility', 'assignment'), id: T.String() }),
  principalId: T.String(), principalName: T.String(), principalKind: T.String(), roleId: T.String(), roleName: T.String(), riskTier: T.String(), scope: T.String(),
  standing: T.Boolean(), since: T.String({ format: 'date-time' }), endsAt: S.NullableTime, lastActivationAt: S.NullableTime, lastSignInAt: S.NullableTime,
  recommendation: T.Object({ decision: Decision, reasons: T.Array(T.String()), message: T.String() }),
  reviewers: T.Array(T.String()),
  decision: T.Union([T.Object({ decision: Decision, reason: T.String(), by: T.String(), at: T.String({ format: 'date-time' }) }), T.Null()]),
  finalDecision: T.Union([Decision, T.Null()]), byDefault: T.Boolean(),
  outcome: T.Union([Lit('removed', 'kept'), T.Null()]), outcomeReason: Nullable(T.String()), appliedAt: S.NullableTime,
});

const ListQuery = T.Object({ status: T.Optional(Status), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false });
const ItemsQuery = T.Object(
  { mine: T.Optional(T.Boolean({ description: 'only the items the caller reviews (always so for non-admins)' })), status: T.Optional(Lit('pending', 'decided')) },
  { additionalProperties: false },
);
const ItemParams = T.Object({ id: Id, itemId: Id });
const DecisionBody = T.Object({ decision: Decision, reason: T.Optional(T.String({ maxLength: 1000 })) }, { additionalProperties: false });
const BulkBody = T.Object({ items: T.Array(Id, { minItems: 1, maxItems: 1000 }), decision: Decision, reason: T.Optional(T.String({ maxLength: 1000 })) }, { additionalProperties: false });
const ExportQuery = T.Object({ format: T.Optional(Lit('csv', 'json')) }, { additionalProperties: false });

/** Access reviews: campaigns, reviewer queues, decisions, completion with auto-apply, exports. */
export function reviewsRoutes(app: FastifyInstance, uc: UseCases): void {
  app.post<{ Body: Static<typeof CreateBody> }>(
    '/reviews',
    {
      schema: {
        tags,
        summary:
          'Admin: create an access-review campaign. It starts now (eligibilities and live assignments snapshotted, standing first, reviewers resolved) or at startAt. 400 invalid_review naming the field, unknown_role, unknown_principal.',
        body: CreateBody,
        response: { 201: CampaignOut, ...err },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const c = await uc.reviews.create(actorOf(req), { ...b, startAt: S.parseTime(b.startAt, 'startAt') });
      reply.status(201);
      return presentCampaign(c);
    },
  );
  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/reviews',
    { schema: { tags, summary: 'Campaigns: every one (admin), or those where the caller reviews something', querystring: ListQuery, response: { 200: S.Items(CampaignOut), ...err } } },
    async (req) => ({ items: (await uc.reviews.list(actorOf(req), req.query)).map(presentCampaign) }),
  );
  app.get<{ Params: Static<typeof S.IdParams> }>(
    '/reviews/:id',
    { schema: { tags, summary: 'One campaign (admin or one of its reviewers; else 403 not_reviewer)', params: S.IdParams, response: { 200: CampaignOut, ...err } } },
    async (req) => presentCampaign(await uc.reviews.get(actorOf(req), req.params.id)),
  );
  app.post<{ Params: Static<typeof S.IdParams> }>(
    '/reviews/:id/complete',
    {
      schema: {
        tags,
        summary: 'Admin: end an active campaign now and apply it (undecided items take the default; denied access is removed when autoApply). 409 review_closed, review_not_started.',
        params: S.IdParams,
        response: { 200: CampaignOut, ...err },
      },
    },
    async (req) => presentCampaign(await uc.reviews.complete(actorOf(req), req.params.id)),
  );
  app.post<{ Params: Static<typeof S.IdParams> }>(
    '/reviews/:id/cancel',
    { schema: { tags, summary: 'Admin: cancel a scheduled or active campaign; nothing is applied and no next occurrence is created', params: S.IdParams, response: { 200: CampaignOut, ...err } } },
    async (req) => presentCampaign(await uc.reviews.cancel(actorOf(req), req.params.id)),
  );
  app.get<{ Params: Static<typeof S.IdParams>; Querystring: Static<typeof ItemsQuery> }>(
    '/reviews/:id/items',
    {
      schema: {
        tags,
        summary: "The campaign's items in order (standing first) with recommendations: every item (admin) or the caller's own queue (`mine=true`; always for non-admins, 403 not_reviewer when they review nothing)",
        params: S.IdParams,
        querystring: ItemsQuery,
        response: { 200: S.Items(ItemOut), ...err },
      },
    },
    async (req) => ({ items: (await uc.reviews.items(actorOf(req), req.params.id, req.query)).map(presentItem) }),
  );
  app.post<{ Params: Static<typeof ItemParams>; Body: Static<typeof DecisionBody> }>(
    '/reviews/:id/items/:itemId/decision',
    {
      schema: {
        tags,
        summary: 'A reviewer approves (keep) or denies (remove at the end) one item; a reason is required to deny. 403 self_review, not_reviewer; 409 review_closed.',
        params: ItemParams,
        body: DecisionBody,
        response: { 200: ItemOut, ...err },
      },
    },
    async (req) => presentItem(await uc.reviews.decide(actorOf(req), req.params.id, req.params.itemId, req.body.decision, req.body.reason ?? '')),
  );
  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof BulkBody> }>(
    '/reviews/:id/decisions',
    {
      schema: {
        tags,
        summary: 'Decide several items with one reason: all of them or, when any one is refused (403 self_review / not_reviewer, 404), none',
        params: S.IdParams,
        body: BulkBody,
        response: { 200: S.Items(ItemOut), ...err },
      },
    },
    async (req) => ({ items: (await uc.reviews.decideMany(actorOf(req), req.params.id, req.body.items, req.body.decision, req.body.reason ?? '')).map(presentItem) }),
  );
  app.get<{ Params: Static<typeof S.IdParams>; Querystring: Static<typeof ExportQuery> }>(
    '/reviews/:id/export',
    {
      schema: {
        tags,
        summary: 'Admin: the items with decisions and outcomes for auditors, as CSV (spreadsheet formulas neutralized) or JSON `{campaign, exportedAt, items}` (audited)',
        params: S.IdParams,
        querystring: ExportQuery,
        response: { 200: T.String({ description: 'CSV text, or the JSON document' }), ...err },
      },
    },
    async (req, reply) => {
      const out = await uc.reviews.export(actorOf(req), req.params.id, req.query.format ?? 'csv');
      return reply.header('content-type', out.contentType).header('content-disposition', `attachment; filename="${out.filename}"`).send(out.body);
    },
  );
}
