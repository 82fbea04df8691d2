import { createHash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { Actor, UseCases } from '../../app/index.js';
import { SCHEMA, SCIM_TYPES, type ScimTokenInfo } from '../../app/scim.js';
import { isDomainError, Unauthenticated } from '../../core/errors.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

/** RFC 7644 §3.1: SCIM messages are `application/scim+json` both ways (plain JSON is accepted too). */
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

const STATUS = { invalid: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, rate_limited: 429 } as const;
const UNIQUENESS = new Set(['uniqueness', 'already_exists', 'username_taken']);

const scimError = (status: number, detail: string, scimType?: string) => ({
  schemas: [SCHEMA.error],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail: detail.slice(0, 500),
});

const IdParams = T.Object({ id: T.String({ minLength: 1, maxLength: 256 }) });
const ListQuery = T.Object({
  filter: T.Optional(T.String({ maxLength: 2000 })),
  startIndex: T.Optional(T.Integer()),
  count: T.Optional(T.Integer()),
  attributes: T.Optional(T.String({ maxLength: 1000 })),
  excludedAttributes: T.Optional(T.String({ maxLength: 1000 })),
});
const GetQuery = T.Object({ attributes: T.Optional(T.String({ maxLength: 1000 })), excludedAttributes: T.Optional(T.String({ maxLength: 1000 })) });
/** SCIM routes stay out of the OpenAPI document: their contract is RFC 7644. */
const hidden = { hide: true };

type Json = Record<string, unknown>;

/** Attribute names from `attributes` / `excludedAttributes`, core-schema URN prefixes dropped, without case. */
function attrList(raw: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const a of (raw ?? '').split(',')) {
    let n = a.trim().toLowerCase();
    for (const u of [SCHEMA.user, SCHEMA.group]) if (n.startsWith(u.toLowerCase() + ':')) n = n.slice(u.length + 1);
    if (n) out.add(n.split('.')[0]!);
  }
  return out;
}

/** RFC 7644 §3.4.2.5, for top-level attributes: `id`, `schemas` and `meta` always come back. */
function project(r: Json, q: { attributes?: string; excludedAttributes?: string }): Json {
  const only = attrList(q.attributes);
  const except = attrList(q.excludedAttributes);
  if (only.size === 0 && except.size === 0) return r;
  const keep = (k: string) => {
    const l = k.toLowerCase();
    if (l === 'id' || l === 'schemas' || l === 'meta') return true;
    if (only.size > 0) return only.has(l);
    return !except.has(l);
  };
  return Object.fromEntries(Object.entries(r).filter(([k]) => keep(k)));
}

const excludesMembers = (q: { attributes?: string; excludedAttributes?: string }) => {
  const only = attrList(q.attributes);
  return attrList(q.excludedAttributes).has('members') || (only.size > 0 && !only.has('members'));
};

function bearer(req: FastifyRequest): string {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) throw new Unauthenticated('unauthenticated', 'send Authorization: Bearer <SCIM token>');
  return m[1]!;
}

/** /scim/v2: its own bearer token (ELEVATE_SCIM_TOKEN or one an admin created), its own error shape (RFC 7644 §3.12). */
export function scimRoutes(uc: UseCases, opts: { envToken: string | null }) {
  const envHash = opts.envToken ? createHash('sha256').update(opts.envToken).digest() : null;

  return async function plugin(scim: FastifyInstance): Promise<void> {
    const actors = new WeakMap<FastifyRequest, Actor>();
    const actor = (req: FastifyRequest): Actor => {
      const a = actors.get(req);
      if (!a) throw new Unauthenticated('unauthenticated', 'not authenticated');
      return a;
    };

    scim.addContentTypeParser('application/scim+json', { parseAs: 'string' }, scim.getDefaultJsonParser('error', 'error'));

    scim.setErrorHandler((err: FastifyError | Error, req, reply) => {
      void reply.header('content-type', SCIM_CONTENT_TYPE);
      if (isDomainError(err)) {
        const status = STATUS[err.kind];
        if (status === 401) void reply.header('www-authenticate', 'Bearer realm="scim"');
        const scimType = err.kind === 'invalid' ? (SCIM_TYPES.has(err.code) ? err.code : 'invalidValue') : err.kind === 'conflict' && UNIQUENESS.has(err.code) ? 'uniqueness' : undefined;
        return reply.status(status).send(scimError(status, err.message, scimType));
      }
      const fe = err as FastifyError;
      if (fe.validation) {
        const first = fe.validation[0];
        return reply.status(400).send(scimError(400, `${fe.validationContext ?? 'request'}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`, fe.validationContext === 'body' ? 'invalidSyntax' : 'invalidValue'));
      }
      if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
        return reply.status(fe.statusCode).send(scimError(fe.statusCode, fe.message, fe.statusCode === 400 ? 'invalidSyntax' : undefined));
      }
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled SCIM error');
      return reply.status(500).send(scimError(500, 'internal error'));
    });
    scim.setNotFoundHandler((req, reply) => reply.status(404).header('content-type', SCIM_CONTENT_TYPE).send(scimError(404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`)));

    scim.addHook('onRequest', async (req, reply) => {
      void reply.header('content-type', SCIM_CONTENT_TYPE);
      const ua = req.headers['user-agent'];
      actors.set(req, await uc.scim.authenticate(bearer(req), envHash, { sourceIp: req.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 200) : null }));
    });

    const created = (reply: FastifyReply, r: Json) => {
      const loc = (r.meta as { location?: string } | undefined)?.location;
      if (loc) void reply.header('location', loc);
      return reply.status(201).send(r);
    };
    const noContent = (reply: FastifyReply) => reply.status(204).removeHeader('content-type').send();

    // ---- discovery (RFC 7644 §4)
    scim.get('/ServiceProviderConfig', { schema: hidden }, async () => uc.scim.serviceProviderConfig());
    scim.get('/ResourceTypes', { schema: hidden }, async () => {
      const rs = uc.scim.resourceTypes();
      return { schemas: [SCHEMA.list], totalResults: rs.length, startIndex: 1, itemsPerPage: rs.length, Resources: rs };
    });
    scim.get<{ Params: Static<typeof IdParams> }>('/ResourceTypes/:id', { schema: { ...hidden, params: IdParams } }, async (req, reply) => {
      const r = uc.scim.resourceTypes().find((x) => x.id === req.params.id);
      return r ?? reply.status(404).send(scimError(404, `resource type ${req.params.id.slice(0, 100)} not found`));
    });
    scim.get('/Schemas', { schema: hidden }, async () => {
      const ss = uc.scim.schemas();
      return { schemas: [SCHEMA.list], totalResults: ss.length, startIndex: 1, itemsPerPage: ss.length, Resources: ss };
    });
    scim.get<{ Params: Static<typeof IdParams> }>('/Schemas/:id', { schema: { ...hidden, params: IdParams } }, async (req, reply) => {
      const r = uc.scim.schemas().find((x) => x.id === req.params.id);
      return r ?? reply.status(404).send(scimError(404, `schema ${req.params.id.slice(0, 100)} not found`));
    });

    // ---- /Users
    scim.post('/Users', { schema: hidden }, async (req, reply) => created(reply, await uc.scim.users.create(actor(req), req.body)));
    scim.get<{ Querystring: Static<typeof ListQuery> }>('/Users', { schema: { ...hidden, querystring: ListQuery } }, async (req) => {
      const q = req.query;
      const r = await uc.scim.users.list(actor(req), q);
      return { ...r, Resources: r.Resources.map((x) => project(x, q)) };
    });
    scim.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof GetQuery> }>('/Users/:id', { schema: { ...hidden, params: IdParams, querystring: GetQuery } }, async (req) =>
      project(await uc.scim.users.get(actor(req), req.params.id), req.query),
    );
    scim.put<{ Params: Static<typeof IdParams> }>('/Users/:id', { schema: { ...hidden, params: IdParams } }, async (req) => uc.scim.users.replace(actor(req), req.params.id, req.body));
    scim.patch<{ Params: Static<typeof IdParams> }>('/Users/:id', { schema: { ...hidden, params: IdParams } }, async (req) => uc.scim.users.patch(actor(req), req.params.id, req.body));
    scim.delete<{ Params: Static<typeof IdParams> }>('/Users/:id', { schema: { ...hidden, params: IdParams } }, async (req, reply) => {
      await uc.scim.users.delete(actor(req), req.params.id);
      return noContent(reply);
    });

    // ---- /Groups
    scim.post('/Groups', { schema: hidden }, async (req, reply) => created(reply, await uc.scim.groups.create(actor(req), req.body)));
    scim.get<{ Querystring: Static<typeof ListQuery> }>('/Groups', { schema: { ...hidden, querystring: ListQuery } }, async (req) => {
      const q = req.query;
      const r = await uc.scim.groups.list(actor(req), { ...q, excludeMembers: excludesMembers(q) });
      return { ...r, Resources: r.Resources.map((x) => project(x, q)) };
    });
    scim.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof GetQuery> }>('/Groups/:id', { schema: { ...hidden, params: IdParams, querystring: GetQuery } }, async (req) =>
      project(await uc.scim.groups.get(actor(req), req.params.id, { excludeMembers: excludesMembers(req.query) }), req.query),
    );
    scim.put<{ Params: Static<typeof IdParams> }>('/Groups/:id', { schema: { ...hidden, params: IdParams } }, async (req) => uc.scim.groups.replace(actor(req), req.params.id, req.body));
    scim.patch<{ Params: Static<typeof IdParams> }>('/Groups/:id', { schema: { ...hidden, params: IdParams } }, async (req, reply) => {
      await uc.scim.groups.patch(actor(req), req.params.id, req.body);
      return noContent(reply);
    });
    scim.delete<{ Params: Static<typeof IdParams> }>('/Groups/:id', { schema: { ...hidden, params: IdParams } }, async (req, reply) => {
      await uc.scim.groups.delete(actor(req), req.params.id);
      return noContent(reply);
    });
  };
}

// ------------------------------------------------------------------ admin: SCIM tokens (under /api/v1)

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody };
const ScimTokenBody = T.Object({ name: T.Optional(T.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false });
const ScimTokenOut = T.Object({ id: T.String(), name: T.String(), createdBy: T.String(), createdAt: T.String({ format: 'date-time' }), revokedAt: S.NullableTime });
const ScimTokenCreatedOut = T.Composite([ScimTokenOut, T.Object({ token: T.String({ description: 'shown once; store it now (the IdP sends it as Authorization: Bearer)' }) })]);

const presentToken = (t: ScimTokenInfo) => ({ id: t.id, name: t.name, createdBy: t.createdBy, createdAt: new Date(t.createdAt).toISOString(), revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString() });

/** Admin routes managing SCIM tokens; registered inside the authenticated /api/v1 plugin. */
export function scimAdminRoutes(api: FastifyInstance, uc: UseCases): void {
  api.post<{ Body: Static<typeof ScimTokenBody> | undefined }>(
    '/scim/tokens',
    { schema: { tags: ['scim'], summary: 'Create a SCIM token for an identity provider; the secret is returned once', body: T.Optional(ScimTokenBody), response: { 201: ScimTokenCreatedOut, ...err } } },
    async (req, reply) => {
      const { token, ...info } = await uc.scim.tokens.create(actorOf(req), { name: req.body?.name });
      reply.status(201);
      return { ...presentToken(info), token };
    },
  );

  api.get('/scim/tokens', { schema: { tags: ['scim'], summary: 'SCIM tokens (never their secrets)', response: { 200: S.Items(ScimTokenOut), ...err } } }, async (req) => ({
    items: (await uc.scim.tokens.list(actorOf(req))).map(presentToken),
  }));

  api.delete<{ Params: { id: string } }>(
    '/scim/tokens/:id',
    { schema: { tags: ['scim'], summary: 'Revoke a SCIM token at once', params: T.Object({ id: T.String({ minLength: 1, maxLength: 128 }) }), response: { 204: T.Null(), ...err } } },
    async (req, reply) => {
      await uc.scim.tokens.revoke(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
}
