import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden, Unauthenticated } from '../core/errors.js';
import type { Actor, UseCases } from '../app/index.js';
import { csrfTokenOf } from '../app/sessions.js';
import type { Clock } from '../core/clock.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** The session cookie's secret, when the caller authenticated with one. */
    sessionSecret: string | null;
  }
}

export const SESSION_COOKIE = 'elevate_session';
export const CSRF_COOKIE = 'elevate_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const STEP_UP_HEADER = 'x-elevate-step-up';
export const TOTP_HEADER = 'x-elevate-totp';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const userAgent = (req: FastifyRequest) => (typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null);

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A browser request from another site is refused: Origin (when sent) must be ours. */
export function checkOrigin(req: FastifyRequest, publicOrigin: string): void {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null' && origin !== publicOrigin) throw new Forbidden('csrf_failed', 'cross-site request refused');
}

/**
 * Who is calling: an API token (Authorization: Bearer), which carries no MFA of its own but may
 * bring a confirmed step-up (X-Elevate-Step-Up) or an authenticator code (X-Elevate-TOTP); or a
 * browser session (cookie), whose state-changing requests must carry the CSRF token.
 */
export function authenticator(uc: UseCases, clock: Clock, publicOrigin: string) {
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const h = req.headers.authorization;
    if (h !== undefined) {
      if (!h.startsWith('Bearer ')) throw new Unauthenticated('unauthenticated', 'send Authorization: Bearer <token>');
      const { token } = await uc.tokens.authenticate(h.slice(7).trim());
      const actor: Actor = {
        principalId: token.principalId,
        auth: { method: 'token', tokenId: token.id, sessionId: null, signIn: null, mfa: [], authenticatedAt: clock.now() },
        sourceIp: req.ip,
        userAgent: userAgent(req),
      };
      const stepUp = req.headers[STEP_UP_HEADER];
      if (typeof stepUp === 'string') {
        const lent = await uc.stepups.resolve(actor, stepUp.trim());
        if (!lent) throw new Unauthenticated('invalid_step_up', 'the step-up is unknown, expired, not confirmed yet, or was started with another token');
        actor.auth.mfa = lent.mfa;
        actor.auth.signIn = lent.signIn;
      }
      await withTotpHeader(req, actor);
      req.actor = actor;
      return;
    }
    const secret = req.cookies?.[SESSION_COOKIE];
    if (!secret) throw new Unauthenticated('unauthenticated', 'sign in, or send Authorization: Bearer <token>');
    const session = await uc.sessions.authenticate(secret);
    if (!SAFE.has(req.method)) {
      checkOrigin(req, publicOrigin);
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameString(sent, csrfTokenOf(secret))) throw new Forbidden('csrf_failed', `a signed-in browser request that changes something must send the ${CSRF_HEADER} header`);
    }
    req.sessionSecret = secret;
    req.actor = uc.sessions.actorFor({ id: session.principalId }, session, req.ip, userAgent(req));
    await withTotpHeader(req, req.actor);
  };

  /** An authenticator code sent with the request (X-Elevate-TOTP) is verified first and counts for it. */
  async function withTotpHeader(req: FastifyRequest, actor: Actor): Promise<void> {
    const totp = req.headers[TOTP_HEADER];
    if (typeof totp === 'string') await uc.mfa.verifyTotp(actor, totp.trim());
  }
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Unauthenticated('unauthenticated', 'not authenticated');
  return req.actor;
}
