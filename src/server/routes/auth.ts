import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Type as T } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import { csrfTokenOf, type SignedIn } from '../../app/sessions.js';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { Invalid, NotFound } from '../../core/errors.js';
import { actorOf, checkOrigin, CSRF_COOKIE, SESSION_COOKIE } from '../auth.js';
import type { OidcClient } from '../oidc.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody, 429: S.ErrorBody };
const OIDC_COOKIE = 'elevate_oidc';
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const Str = (max: number, min = 0) => T.String({ minLength: min, maxLength: max });

export interface AuthRouteOptions {
  publicUrl: string;
  oidc: OidcClient | null;
  clock: Clock;
  sessionIdleMs: number;
}

const meta = (req: FastifyRequest) => ({ ip: req.ip, userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null });

/** A path on this site to return to after sign-in; anything else (another host, `//evil`) becomes `/`. */
function safeReturnTo(v: unknown): string {
  return typeof v === 'string' && /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(v) ? v : '/';
}

/**
 * What an identity provider sends back (RFC 6749 §4.1.2, RFC 9207 `iss`, OIDC session management).
 * Named parameters, so the OpenAPI document describes them; other parameters an IdP adds are kept
 * for the code exchange, which reads the whole callback URL.
 */
const OidcCallbackQuery = T.Object(
  {
    code: T.Optional(Str(4000)),
    state: T.Optional(Str(4000)),
    iss: T.Optional(Str(4000)),
    session_state: T.Optional(Str(4000)),
    error: T.Optional(Str(4000)),
    error_description: T.Optional(Str(4000)),
    error_uri: T.Optional(Str(4000)),
  },
  { additionalProperties: Str(4000) },
);

/** Browser sign-in and sign-out: /auth/login, /auth/logout, /auth/logout-all, /auth/oidc/login, /auth/oidc/callback. */
export function authRoutes(uc: UseCases, o: AuthRouteOptions, authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>) {
  const origin = new URL(o.publicUrl).origin;
  const secure = o.publicUrl.startsWith('https://');
  const cookieBase = { path: '/', sameSite: 'lax' as const, secure };

  function setSessionCookies(reply: FastifyReply, s: SignedIn): void {
    // The cookie lives as long as the session may; the server enforces the idle timeout.
    const maxAge = Math.max(1, Math.floor((s.session.expiresAt - o.clock.now()) / 1000));
    void reply.setCookie(SESSION_COOKIE, s.secret, { ...cookieBase, httpOnly: true, maxAge });
    void reply.setCookie(CSRF_COOKIE, csrfTokenOf(s.secret), { ...cookieBase, httpOnly: false, maxAge });
  }
  const clearCookies = (reply: FastifyReply) => {
    void reply.clearCookie(SESSION_COOKIE, cookieBase);
    void reply.clearCookie(CSRF_COOKIE, cookieBase);
  };
  const signedIn = (s: SignedIn) => ({ principal: S.present.principal(s.principal), csrfToken: csrfTokenOf(s.secret), expiresAt: iso(s.session.expiresAt) });

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.decorateRequest('actor', null);
    app.decorateRequest('sessionSecret', null);
    const LoginBody = T.Object({ username: Str(200, 1), password: Str(1024, 1) }, { additionalProperties: false });
    const SignedInOut = T.Object({ principal: S.PrincipalOut, csrfToken: T.String(), expiresAt: T.String() });

    app.get('/config', { schema: { tags: ['auth'], summary: 'What the sign-in page offers (no sign-in needed): whether an identity provider is configured', response: { 200: T.Object({ oidc: T.Boolean() }) } } }, async () => ({
      oidc: o.oidc !== null,
    }));

    app.post<{ Body: Static<typeof LoginBody> }>('/login', { schema: { tags: ['auth'], summary: 'Sign in with a local user name and password', body: LoginBody, response: { 200: SignedInOut, ...err } } }, async (req, reply) => {
      checkOrigin(req, origin);
      const s = await uc.sessions.passwordLogin(req.body, meta(req));
      setSessionCookies(reply, s);
      return signedIn(s);
    });

    app.post('/logout', { onRequest: authenticate, schema: { tags: ['auth'], summary: 'Sign out this session', response: { 204: T.Null(), ...err } } }, async (req, reply) => {
      await uc.sessions.logout(actorOf(req));
      clearCookies(reply);
      return reply.status(204).send();
    });

    app.post('/logout-all', { onRequest: authenticate, schema: { tags: ['auth'], summary: 'Sign out everywhere: every session of the caller ends', response: { 200: T.Object({ sessionsEnded: T.Integer() }), ...err } } }, async (req, reply) => {
      const n = await uc.sessions.logoutEverywhere(actorOf(req));
      clearCookies(reply);
      return { sessionsEnded: n };
    });

    app.get<{ Querystring: { returnTo?: string } }>('/oidc/login', { schema: { tags: ['auth'], summary: 'Start signing in through the OpenID Connect provider', querystring: T.Object({ returnTo: T.Optional(Str(500)) }) } }, async (req, reply) => {
      if (!o.oidc) throw new NotFound('oidc_not_configured', 'sign-in through an identity provider is not configured (ELEVATE_OIDC_ISSUER)');
      const v = await uc.sessions.oidcBegin(safeReturnTo(req.query.returnTo));
      const url = await o.oidc.authorizationUrl(v).catch(() => {
        throw new Invalid('idp_unavailable', 'the identity provider cannot be reached; break-glass accounts can still sign in with a password');
      });
      // Binds the sign-in to this browser: a callback carrying someone else's state is refused.
      void reply.setCookie(OIDC_COOKIE, v.state, { ...cookieBase, httpOnly: true, maxAge: 600, path: '/auth/oidc' });
      return reply.redirect(url.href, 302);
    });

    app.get<{ Querystring: Record<string, string> }>('/oidc/callback', { schema: { tags: ['auth'], summary: 'Where the identity provider returns the browser', querystring: OidcCallbackQuery } }, async (req, reply) => {
      if (!o.oidc) throw new NotFound('oidc_not_configured', 'sign-in through an identity provider is not configured');
      const q = req.query;
      void reply.clearCookie(OIDC_COOKIE, { ...cookieBase, path: '/auth/oidc' });
      if (q.error) {
        await uc.sessions.oidcFailed('idp_error', meta(req));
        throw new Invalid('idp_error', `the identity provider refused the sign-in: ${String(q.error).slice(0, 100)}`);
      }
      const state = q.state ?? '';
      if (!state || req.cookies[OIDC_COOKIE] !== state) {
        await uc.sessions.oidcFailed('state_mismatch', meta(req));
        throw new Invalid('state_mismatch', 'this sign-in was not started in this browser: start again');
      }
      const saved = await uc.sessions.oidcResume(state);
      if (!saved) {
        await uc.sessions.oidcFailed('state_unknown', meta(req));
        throw new Invalid('state_unknown', 'this sign-in expired or was already used: start again');
      }
      const callbackUrl = new URL(req.url, o.oidc.config.redirectUri);
      let claims: Record<string, unknown>;
      try {
        claims = await o.oidc.exchange(callbackUrl, { state, nonce: saved.nonce, verifier: saved.verifier });
      } catch (e) {
        req.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'oidc code exchange failed');
        await uc.sessions.oidcFailed('token_exchange_failed', meta(req));
        throw new Invalid('oidc_failed', 'the sign-in could not be completed with the identity provider');
      }
      const s = await uc.sessions.oidcSignIn(claims, { issuer: o.oidc.config.issuer, claims: o.oidc.config.claims, autoProvision: o.oidc.config.autoProvision }, meta(req));
      setSessionCookies(reply, s);
      return reply.redirect(saved.returnTo, 302);
    });
  };
}

/** /api/v1: the caller's own sign-in (me, password, step-up) and the administration of sign-in (local accounts, IdP links, break-glass). */
export function identityRoutes(app: FastifyInstance, uc: UseCases, o: AuthRouteOptions): void {
  const Mfa = T.Array(T.Object({ method: T.String(), at: T.String() }));
  const MeOut = T.Object({
    principal: S.PrincipalOut,
    auth: T.Object({
      method: T.String(),
      tokenId: T.Union([T.String(), T.Null()]),
      signIn: T.Union([T.Record(T.String(), T.Unknown()), T.Null()]),
      mfa: Mfa,
      authenticatedAt: T.String(),
    }),
    csrfToken: T.Optional(T.String()),
    serverTime: T.String({ format: 'date-time', description: "the server's clock now: countdowns to a grant's end run on it, not on the browser's" }),
  });
  app.get('/me', { schema: { tags: ['auth'], summary: 'The signed-in principal, how it authenticated, and the MFA verified', response: { 200: MeOut, ...err } } }, async (req) => {
    const a = actorOf(req);
    const p = await uc.directory.getPrincipal(a, a.principalId);
    return {
      principal: S.present.principal(p),
      auth: { method: a.auth.method, tokenId: a.auth.tokenId, signIn: a.auth.signIn ? { ...a.auth.signIn } : null, mfa: a.auth.mfa.map((m) => ({ method: m.method, at: iso(m.at)! })), authenticatedAt: iso(a.auth.authenticatedAt)! },
      ...(req.sessionSecret ? { csrfToken: csrfTokenOf(req.sessionSecret) } : {}),
      serverTime: iso(o.clock.now())!,
    };
  });

  const PasswordBody = T.Object({ currentPassword: Str(1024, 1), newPassword: Str(1024, 1) }, { additionalProperties: false });
  app.post<{ Body: Static<typeof PasswordBody> }>('/me/password', { schema: { tags: ['auth'], summary: 'Change your password (every other session ends)', body: PasswordBody, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.sessions.changePassword(actorOf(req), req.body);
    return reply.status(204).send();
  });

  // Step-up for the CLI (a device-style flow).
  const StepupOut = T.Object({ deviceCode: T.String(), userCode: T.String(), verificationUri: T.String(), expiresAt: T.String(), interval: T.Integer() });
  app.post('/stepups', { schema: { tags: ['auth'], summary: 'Start a step-up: confirm the code in a signed-in browser with MFA, then send X-Elevate-Step-Up', response: { 201: StepupOut, ...err } } }, async (req, reply) => {
    const s = await uc.stepups.start(actorOf(req));
    reply.status(201);
    return { ...s, expiresAt: iso(s.expiresAt)! };
  });
  const PollBody = T.Object({ deviceCode: Str(100, 1) }, { additionalProperties: false });
  app.post<{ Body: Static<typeof PollBody> }>('/stepups/poll', { schema: { tags: ['auth'], summary: 'Is the step-up confirmed yet?', body: PollBody, response: { 200: T.Object({ status: T.String(), expiresAt: T.String(), methods: T.Array(T.String()) }), ...err } } }, async (req) => {
    const s = await uc.stepups.status(actorOf(req), req.body.deviceCode);
    return { ...s, expiresAt: iso(s.expiresAt)! };
  });
  const ConfirmBody = T.Object({ userCode: Str(20, 1) }, { additionalProperties: false });
  const DescribeOut = T.Object({ startedAt: T.String(), sourceIp: T.Union([T.String(), T.Null()]), userAgent: T.Union([T.String(), T.Null()]), tokenName: T.Union([T.String(), T.Null()]), expiresAt: T.String() });
  app.post<{ Body: Static<typeof ConfirmBody> }>('/stepups/describe', { schema: { tags: ['auth'], summary: 'Who started this step-up: when, from which address, with which token (shown before confirming)', body: ConfirmBody, response: { 200: DescribeOut, ...err } } }, async (req) => {
    const d = await uc.stepups.describe(actorOf(req), req.body.userCode);
    return { ...d, startedAt: iso(d.startedAt)!, expiresAt: iso(d.expiresAt)! };
  });
  app.post<{ Body: Static<typeof ConfirmBody> }>('/stepups/confirm', { schema: { tags: ['auth'], summary: 'Confirm a step-up code shown by the CLI (needs fresh MFA in this session)', body: ConfirmBody, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.stepups.confirm(actorOf(req), req.body.userCode);
    return reply.status(204).send();
  });

  // Administration of sign-in.
  const Params = T.Object({ id: Str(128, 1) });
  const LocalBody = T.Object({ username: Str(200, 1), password: Str(1024, 1) }, { additionalProperties: false });
  app.put<{ Params: Static<typeof Params>; Body: Static<typeof LocalBody> }>('/principals/:id/local-account', { schema: { tags: ['auth'], summary: 'Admin: set a user\'s local sign-in name and password', params: Params, body: LocalBody, response: { 200: T.Object({ username: T.String() }), ...err } } }, async (req) =>
    uc.sessions.setLocalAccount(actorOf(req), req.params.id, req.body),
  );
  const LinkBody = T.Object({ issuer: Str(500, 1), subject: Str(500, 1) }, { additionalProperties: false });
  app.post<{ Params: Static<typeof Params>; Body: Static<typeof LinkBody> }>('/principals/:id/identities', { schema: { tags: ['auth'], summary: 'Admin: link an IdP identity (issuer + subject) to a principal before its first sign-in', params: Params, body: LinkBody, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.sessions.linkIdentity(actorOf(req), req.params.id, req.body);
    return reply.status(204).send();
  });
  app.get<{ Params: Static<typeof Params> }>('/principals/:id/identities', { schema: { tags: ['auth'], params: Params, response: { 200: T.Object({ items: T.Array(T.Object({ kind: T.String(), key: T.String() })) }), ...err } } }, async (req) => ({
    items: await uc.sessions.identities(actorOf(req), req.params.id),
  }));

  // Break-glass.
  const BgBody = T.Object({ roleId: Str(128, 1), scope: Str(1000, 1), duration: Str(32, 1), justification: Str(2000) }, { additionalProperties: false });
  const Review = T.Object({ id: T.String(), assignmentId: T.String(), principalId: T.String(), roleId: T.String(), scope: T.String(), justification: T.String(), createdAt: T.String(), status: T.String(), closedBy: T.Union([T.String(), T.Null()]), closedAt: S.NullableTime, note: T.Union([T.String(), T.Null()]) });
  type R = Awaited<ReturnType<UseCases['breakglass']['reviews']>>[number];
  const review = (r: R) => ({ ...r, createdAt: iso(r.createdAt)!, closedAt: iso(r.closedAt) });
  app.post<{ Body: Static<typeof BgBody> }>('/breakglass/activate', { schema: { tags: ['breakglass'], summary: 'Break the glass: a designated account activates a designated role (local password + passkey, no approval)', body: BgBody, response: { 201: T.Object({ assignment: S.AssignmentOut, review: Review }), ...err } } }, async (req, reply) => {
    const out = await uc.breakglass.activate(actorOf(req), { ...req.body, durationMs: parseDuration(req.body.duration, 'duration') });
    reply.status(201);
    return { assignment: S.present.assignment(out.assignment), review: review(out.review) };
  });
  app.get('/breakglass/accounts', { schema: { tags: ['breakglass'], response: { 200: T.Object({ items: T.Array(T.Object({ principalId: T.String(), createdBy: T.String(), createdAt: T.String() })) }), ...err } } }, async (req) => ({
    items: (await uc.breakglass.accounts(actorOf(req))).map((a) => ({ ...a, createdAt: iso(a.createdAt)! })),
  }));
  app.put<{ Params: Static<typeof Params> }>('/breakglass/accounts/:id', { schema: { tags: ['breakglass'], summary: 'Admin: designate a break-glass account', params: Params, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.breakglass.designate(actorOf(req), req.params.id);
    return reply.status(204).send();
  });
  app.delete<{ Params: Static<typeof Params> }>('/breakglass/accounts/:id', { schema: { tags: ['breakglass'], params: Params, response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.breakglass.undesignate(actorOf(req), req.params.id);
    return reply.status(204).send();
  });
  const ReviewQuery = T.Object({ status: T.Optional(T.Union([T.Literal('open'), T.Literal('closed')])), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })) });
  app.get<{ Querystring: Static<typeof ReviewQuery> }>('/breakglass/reviews', { schema: { tags: ['breakglass'], querystring: ReviewQuery, response: { 200: T.Object({ items: T.Array(Review) }), ...err } } }, async (req) => ({
    items: (await uc.breakglass.reviews(actorOf(req), { ...(req.query.status ? { status: req.query.status } : {}), limit: req.query.limit ?? 100 })).map(review),
  }));
  const CloseBody = T.Object({ note: Str(2000, 1) }, { additionalProperties: false });
  app.post<{ Params: Static<typeof Params>; Body: Static<typeof CloseBody> }>('/breakglass/reviews/:id/close', { schema: { tags: ['breakglass'], summary: 'Close the after-the-fact review of a break-glass use (not your own)', params: Params, body: CloseBody, response: { 200: Review, ...err } } }, async (req) =>
    review(await uc.breakglass.closeReview(actorOf(req), req.params.id, req.body.note)),
  );

  // The outbox: notifications waiting, failed, or dead (attempts exhausted).
  const OutboxQuery = T.Object({ kind: T.Optional(Str(100)), undelivered: T.Optional(T.Boolean()), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })) });
  const OutboxOut = T.Object({ id: T.String(), kind: T.String(), payload: T.Record(T.String(), T.Unknown()), createdAt: T.String(), attempts: T.Integer(), nextAttemptAt: S.NullableTime, deliveredAt: S.NullableTime, lastError: T.Union([T.String(), T.Null()]) });
  app.get<{ Querystring: Static<typeof OutboxQuery> }>('/outbox', { schema: { tags: ['outbox'], summary: 'Admin: effects waiting to leave Elevate, and failed deliveries', querystring: OutboxQuery, response: { 200: T.Object({ items: T.Array(OutboxOut) }), ...err } } }, async (req) => ({
    items: (await uc.outbox.list(actorOf(req), { ...(req.query.kind ? { kind: req.query.kind } : {}), undeliveredOnly: req.query.undelivered === true, limit: req.query.limit ?? 100 })).map((i) => ({
      ...i, createdAt: iso(i.createdAt)!, deliveredAt: iso(i.deliveredAt), nextAttemptAt: i.deliveredAt !== null || i.nextAttemptAt === Number.MAX_SAFE_INTEGER ? null : iso(i.nextAttemptAt),
    })),
  }));
  void o;
}
