import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Type as T } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { parseDuration } from '../../core/duration.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };

export function directoryRoutes(app: FastifyInstance, uc: UseCases): void {
  app.post<{ Body: Static<typeof S.PrincipalBody> }>('/principals', { schema: { tags: ['principals'], body: S.PrincipalBody, response: { 201: S.PrincipalOut, ...err } } }, async (req, reply) => {
    reply.status(201);
    return S.present.principal(await uc.directory.createPrincipal(actorOf(req), req.body));
  });

  app.get<{ Querystring: Static<typeof S.ListQuery> }>('/principals', { schema: { tags: ['principals'], querystring: S.ListQuery, response: { 200: S.Items(S.PrincipalOut), ...err } } }, async (req) => {
    const q = req.query;
    const items = await uc.directory.listPrincipals(actorOf(req), { kind: q.kind as 'user' | undefined, limit: q.limit ?? 100, after: q.after });
    return { items: items.map(S.present.principal) };
  });

  app.get<{ Params: Static<typeof S.IdParams> }>('/principals/:id', { schema: { tags: ['principals'], params: S.IdParams, response: { 200: S.PrincipalOut, ...err } } }, async (req) =>
    S.present.principal(await uc.directory.getPrincipal(actorOf(req), req.params.id)),
  );

  app.patch<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.PrincipalPatchBody> }>(
    '/principals/:id',
    { schema: { tags: ['principals'], params: S.IdParams, body: S.PrincipalPatchBody, response: { 200: S.PrincipalOut, ...err } } },
    async (req) => S.present.principal(await uc.directory.updatePrincipal(actorOf(req), req.params.id, req.body)),
  );

  app.delete<{ Params: Static<typeof S.IdParams> }>('/principals/:id', { schema: { tags: ['principals'], params: S.IdParams, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.directory.deletePrincipal(actorOf(req), req.params.id);
    return reply.status(204).send();
  });

  app.post<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.TokenBody> | undefined }>(
    '/principals/:id/tokens',
    { schema: { tags: ['tokens'], summary: 'Create an API token; the secret is returned once', params: S.IdParams, body: T.Optional(S.TokenBody), response: { 201: S.TokenCreatedOut, ...err } } },
    async (req, reply) => {
      const b = req.body ?? {};
      const { token, record } = await uc.tokens.create(actorOf(req), req.params.id, { name: b.name, expiresInMs: b.expiresIn ? parseDuration(b.expiresIn, 'expiresIn') : null });
      reply.status(201);
      return { ...S.present.token(record), token };
    },
  );

  app.get<{ Params: Static<typeof S.IdParams> }>('/principals/:id/tokens', { schema: { tags: ['tokens'], params: S.IdParams, response: { 200: S.Items(S.TokenOut), ...err } } }, async (req) => ({
    items: (await uc.tokens.list(actorOf(req), req.params.id)).map(S.present.token),
  }));

  app.delete<{ Params: { id: string; tokenId: string } }>(
    '/principals/:id/tokens/:tokenId',
    { schema: { tags: ['tokens'], params: T.Object({ id: T.String({ maxLength: 128 }), tokenId: T.String({ maxLength: 128 }) }), response: { 204: T.Null(), ...err } } },
    async (req, reply) => {
      await uc.tokens.revoke(actorOf(req), req.params.id, req.params.tokenId);
      return reply.status(204).send();
    },
  );

  app.put<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.MembersBody> }>(
    '/groups/:id/members',
    { schema: { tags: ['groups'], summary: 'Replace the direct members of a group', params: S.IdParams, body: S.MembersBody, response: { 200: S.MembersOut, ...err } } },
    async (req) => ({ id: req.params.id.trim().toLowerCase(), members: await uc.directory.setMembers(actorOf(req), req.params.id, req.body.members) }),
  );

  app.get<{ Params: Static<typeof S.IdParams> }>('/groups/:id/members', { schema: { tags: ['groups'], params: S.IdParams, response: { 200: S.MembersOut, ...err } } }, async (req) => ({
    id: req.params.id.trim().toLowerCase(),
    members: await uc.directory.members(actorOf(req), req.params.id),
  }));
}
