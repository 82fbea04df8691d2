import type { FastifyReply, FastifyRequest } from 'fastify';
import { Unauthenticated } from '../core/errors.js';
import type { Actor, UseCases } from '../app/index.js';
import type { Clock } from '../core/clock.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** Bearer token → actor. The actor carries how it authenticated, so MFA and sessions plug in later. */
export function authenticator(uc: UseCases, clock: Clock) {
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) throw new Unauthenticated('unauthenticated', 'send Authorization: Bearer <token>');
    const { token } = await uc.tokens.authenticate(h.slice(7).trim());
    const now = clock.now();
    req.actor = {
      principalId: token.principalId,
      auth: { method: 'token', tokenId: token.id, mfa: { strength: 'none', methods: [], at: null }, authenticatedAt: now },
      sourceIp: req.ip,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null,
    };
  };
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Unauthenticated('unauthenticated', 'not authenticated');
  return req.actor;
}
