import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };

export function roleRoutes(app: FastifyInstance, uc: UseCases): void {
  app.post<{ Body: Static<typeof S.RoleBody> }>('/roles', { schema: { tags: ['roles'], body: S.RoleBody, response: { 201: S.RoleOut, ...err } } }, async (req, reply) => {
    reply.status(201);
    return S.present.role(await uc.roles.create(actorOf(req), req.body));
  });
  app.post<{ Body: Static<typeof S.RoleDraftBody> }>(
    '/roles/validate',
    {
      schema: {
        tags: ['roles'],
        summary: 'Admin dry run: the role as it would be stored (settings normalized, safe defaults filled in), or the 400 naming the offending field. Writes nothing.',
        body: S.RoleDraftBody,
        response: { 200: S.RoleOut, ...err },
      },
    },
    async (req) => S.present.role(await uc.roles.validate(actorOf(req), req.body)),
  );
  app.get('/roles', { schema: { tags: ['roles'], response: { 200: S.Items(S.RoleOut), ...err } } }, async (req) => {
    actorOf(req);
    return { items: (await uc.roles.list()).map(S.present.role) };
  });
  app.get<{ Params: Static<typeof S.IdParams> }>('/roles/:id', { schema: { tags: ['roles'], params: S.IdParams, response: { 200: S.RoleOut, ...err } } }, async (req) => {
    actorOf(req);
    return S.present.role(await uc.roles.get(req.params.id));
  });
  app.put<{ Params: Static<typeof S.IdParams>; Body: Static<typeof S.RoleUpdateBody> }>(
    '/roles/:id',
    { schema: { tags: ['roles'], summary: 'Replace a role (settings are validated as a whole)', params: S.IdParams, body: S.RoleUpdateBody, response: { 200: S.RoleOut, ...err } } },
    async (req) => S.present.role(await uc.roles.update(actorOf(req), req.params.id, req.body)),
  );
  app.delete<{ Params: Static<typeof S.IdParams> }>('/roles/:id', { schema: { tags: ['roles'], params: S.IdParams, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.roles.remove(actorOf(req), req.params.id);
    return reply.status(204).send();
  });
}
