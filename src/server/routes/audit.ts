import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { requireAdmin } from '../../app/authz.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';
import { parseScope } from '../../core/scope.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody };

export function auditRoutes(app: FastifyInstance, uc: UseCases, gate: Parameters<typeof requireAdmin>[0]): void {
  app.get<{ Querystring: Static<typeof S.AuditQuery> }>('/audit', { schema: { tags: ['audit'], querystring: S.AuditQuery, response: { 200: S.Items(S.AuditEventOut), ...err } } }, async (req) => {
    await requireAdmin(gate, actorOf(req), 'audit.read');
    const q = req.query;
    const items = await uc.audit.query({
      principalId: q.principal, actorId: q.actor, roleId: q.role, scope: q.scope === undefined ? undefined : parseScope(q.scope), type: q.type, outcome: q.outcome,
      from: S.parseTime(q.from, 'from') ?? undefined, to: S.parseTime(q.to, 'to') ?? undefined, afterSeq: q.afterSeq, limit: q.limit ?? 100,
    });
    return { items: items.map(S.present.event) };
  });

  app.get('/audit/verify', { schema: { tags: ['audit'], summary: 'Verify the whole chain and its signed checkpoints', response: { 200: S.VerifyOut, ...err } } }, async (req) => {
    await requireAdmin(gate, actorOf(req), 'audit.verify');
    return uc.audit.verify();
  });

  app.get('/audit/keys', { schema: { tags: ['audit'], summary: 'Public keys that sign checkpoints (for offline verification)', response: { 200: T.Object({ keys: T.Array(T.Object({ keyId: T.String(), publicKeyPem: T.String(), createdAt: S.NullableTime })) }) } } }, async () => ({
    keys: (await uc.audit.keys()).map((k) => ({ ...k, createdAt: new Date(k.createdAt).toISOString() })),
  }));

  app.get('/audit/export', { schema: { tags: ['audit'], summary: 'The whole chain and its checkpoints as JSON Lines ({"record":"event"|"checkpoint",…})' } }, async (req, reply) => {
    await requireAdmin(gate, actorOf(req), 'audit.export');
    const checkpoints = await uc.audit.checkpoints();
    reply.header('content-type', 'application/x-ndjson');
    async function* lines() {
      for await (const page of uc.audit.scan()) yield page.map((e) => JSON.stringify({ record: 'event', ...e })).join('\n') + '\n';
      for (const c of checkpoints) yield JSON.stringify({ record: 'checkpoint', ...c }) + '\n';
    }
    return reply.send(Readable.from(lines()));
  });
}
