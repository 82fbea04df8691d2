import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { MAX_IMPORT_CHARS, type RolloutItem, type StandingItem } from '../../app/inventory.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const Nullable = <X extends Parameters<typeof T.Union>[0][number]>(s: X) => T.Union([s, T.Null()]);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const Mode = T.Union([T.Literal('none'), T.Literal('awareness'), T.Literal('enforced')]);
const StandingQuery = T.Object(
  { roleId: T.Optional(T.String({ minLength: 1, maxLength: 128 })), source: T.Optional(T.Union([T.Literal('elevate'), T.Literal('import')])) },
  { additionalProperties: false },
);
const StandingOut = T.Object({
  id: T.String(), source: T.String(), system: T.String(), principalId: Nullable(T.String()), principalName: T.String(), roleId: Nullable(T.String()),
  privilege: T.String(), scope: T.String(), since: S.NullableTime, lastUsedAt: S.NullableTime, justification: T.String(),
  flagged: T.Boolean(), flagReason: Nullable(T.String()), convertible: T.Boolean(),
});
const ImportBody = T.Object(
  {
    system: T.String({ minLength: 1, maxLength: 64, description: 'the system the rows describe; re-importing it replaces its rows' }),
    format: T.Union([T.Literal('csv'), T.Literal('json')]),
    data: T.String({ maxLength: MAX_IMPORT_CHARS, description: 'CSV with the header principal,privilege,scope,since,last_used,justification[,role], or a JSON array of objects with those keys' }),
  },
  { additionalProperties: false },
);
const ConvertBody = T.Object(
  { ids: T.Array(T.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 500 }), eligibilityDays: T.Optional(T.Integer({ minimum: 1, maximum: 3650 })) },
  { additionalProperties: false },
);
const RolloutOut = T.Object({
  roleId: T.String(), roleName: T.String(), riskTier: T.String(), mode: T.String(), changedAt: S.NullableTime, changedBy: Nullable(T.String()),
  standingHolders: T.Integer(), eligibleHolders: T.Integer(), flagged: T.Integer(),
  readiness: T.Object({ activations30d: T.Integer(), approvalMedianMs: Nullable(T.Number()), approvalP90Ms: Nullable(T.Number()), fallbackUses30d: T.Integer() }),
});
const RolloutBody = T.Object({ mode: Mode }, { additionalProperties: false });

const presentItem = (i: StandingItem) => ({ ...i, since: iso(i.since), lastUsedAt: iso(i.lastUsedAt) });
const presentRollout = (r: RolloutItem) => ({ ...r, changedAt: iso(r.changedAt) });

/** The standing-access inventory, its import and bulk conversion, and per-role rollout (admins). */
export function inventoryRoutes(app: FastifyInstance, uc: UseCases): void {
  app.get<{ Querystring: Static<typeof StandingQuery> }>(
    '/standing',
    {
      schema: {
        tags: ['standing'],
        summary: 'Admin: standing access — live direct assignments in Elevate (permanent first) and rows imported from other systems (not yet converted)',
        querystring: StandingQuery,
        response: { 200: S.Items(StandingOut), ...err },
      },
    },
    async (req) => ({ items: (await uc.inventory.list(actorOf(req), req.query)).map(presentItem) }),
  );
  app.post<{ Body: Static<typeof ImportBody> }>(
    '/standing/import',
    {
      bodyLimit: MAX_IMPORT_CHARS * 2 + 4096,
      schema: {
        tags: ['standing'],
        summary:
          "Admin: import one system's standing access (CSV or JSON, at most 10,000 rows). Every row is validated first: 400 invalid_import with details.line/field/reason, nothing written. Re-importing a system replaces all its rows. Principals match by Elevate id or email; a known role in `role` makes a row convertible. Audited standing.imported.",
        body: ImportBody,
        response: { 200: T.Object({ imported: T.Integer(), items: T.Array(StandingOut) }), ...err },
      },
    },
    async (req) => {
      const out = await uc.inventory.import(actorOf(req), req.body);
      return { imported: out.imported, items: out.items.map(presentItem) };
    },
  );
  app.post<{ Body: Static<typeof ConvertBody> }>(
    '/standing/convert',
    {
      schema: {
        tags: ['standing'],
        summary:
          'Admin: convert standing access to eligibility, all or nothing (one transaction): direct assignments end and become eligibilities (as convert-to-eligible); imported rows with a role and a known principal become eligibilities. eligibilityDays bounds the new eligibilities (checked against each role). Errors name the id (details.id).',
        body: ConvertBody,
        response: { 200: T.Object({ converted: T.Array(T.Object({ id: T.String(), eligibilityId: T.String() })) }), ...err },
      },
    },
    async (req) => uc.inventory.convert(actorOf(req), req.body),
  );
  app.get(
    '/rollout',
    {
      schema: {
        tags: ['rollout'],
        summary: 'Admin: per-role rollout mode (none, awareness, enforced) and readiness: activations and approval time (median, p90; nearest rank) over 30 days, fallback uses of standing grants over 30 days (awareness mode), holders, flagged standing access',
        response: { 200: S.Items(RolloutOut), ...err },
      },
    },
    async (req) => ({ items: (await uc.inventory.rollout(actorOf(req))).map(presentRollout) }),
  );
  app.put<{ Params: Static<typeof S.IdParams>; Body: Static<typeof RolloutBody> }>(
    '/roles/:id/rollout',
    {
      schema: {
        tags: ['rollout'],
        summary:
          "Admin: set a role's rollout mode (audited role.rollout_changed). awareness: uses of standing grants are counted; enforced: new direct assignments are refused 409 rollout_enforced (break-glass unaffected) and existing ones are flagged",
        params: S.IdParams,
        body: RolloutBody,
        response: { 200: RolloutOut, ...err },
      },
    },
    async (req) => presentRollout(await uc.inventory.setRollout(actorOf(req), req.params.id, req.body.mode)),
  );
}
