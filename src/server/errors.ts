import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../core/errors.js';

const STATUS = { invalid: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, rate_limited: 429 } as const;

/** What answers an unknown route before the plain 404 (the portal's index.html); null: not handled. */
export type NotFoundFallback = (req: FastifyRequest, reply: FastifyReply) => FastifyReply | null;

/** The one place domain errors become HTTP: `{error:{code,message,details}}`. Never a stack, never a secret. */
export function installErrorHandler(app: FastifyInstance, fallback: NotFoundFallback | null = null): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (isDomainError(err)) {
      const retry = err.details.retryAfterSeconds;
      if (typeof retry === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
      return reply.status(STATUS[err.kind]).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const field = first ? (first.instancePath || '').replace(/^\//, '').replace(/\//g, '.') || (first.params as { missingProperty?: string })?.missingProperty || null : null;
      return reply.status(400).send({ error: { code: 'invalid_request', message: `${fe.validationContext ?? 'request'}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`, details: { field } } });
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload_too_large' : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'invalid_request';
      return reply.status(fe.statusCode).send({ error: { code, message: fe.message, details: {} } });
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error', details: {} } });
  });
  app.setNotFoundHandler((req, reply) => fallback?.(req, reply) ?? reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}`, details: {} } }));
}
