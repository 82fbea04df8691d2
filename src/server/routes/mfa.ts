import type { FastifyInstance } from 'fastify';
import { Type as T, type Static } from '@sinclair/typebox';
import type { UseCases } from '../../app/index.js';
import type { CredentialSummary } from '../../app/mfa.js';
import type { MfaEvidence } from '../../core/identity.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const err = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody, 404: S.ErrorBody, 409: S.ErrorBody, 429: S.ErrorBody };
const tags = ['mfa'];
const Time = T.String({ format: 'date-time' });
const iso = (ms: number) => new Date(ms).toISOString();

const CodeBody = T.Object({ code: T.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
/** The browser's PublicKeyCredential as JSON (@simplewebauthn/browser's output); its shape is checked by the use case. */
const CredentialJson = T.Record(T.String(), T.Unknown());
const RegisterBody = T.Object({ response: CredentialJson, name: T.Optional(T.String({ maxLength: 100 })) }, { additionalProperties: false });
const AssertionBody = T.Object({ response: CredentialJson }, { additionalProperties: false });
const Options = T.Record(T.String(), T.Unknown(), { description: 'PublicKeyCredential options JSON, for @simplewebauthn/browser or navigator.credentials' });

const EvidenceOut = T.Object({ method: T.String(), at: Time, credentialId: T.Optional(T.String()) });
const CredentialOut = T.Object({ id: T.String(), name: T.String(), createdAt: Time, lastUsedAt: S.NullableTime });
const RecoveryCodes = T.Array(T.String(), { description: 'shown once; store them now' });

const evidence = (e: MfaEvidence) => ({ method: e.method, at: iso(e.at), ...(e.credentialId ? { credentialId: e.credentialId } : {}) });
const credential = (c: CredentialSummary) => ({ id: c.id, name: c.name, createdAt: iso(c.createdAt), lastUsedAt: c.lastUsedAt === null ? null : iso(c.lastUsedAt) });

/** /api/v1/me/mfa/*: enroll and verify MFA factors. */
export function mfaRoutes(api: FastifyInstance, uc: UseCases): void {
  api.get(
    '/me/mfa',
    {
      schema: {
        tags,
        summary: 'Your MFA factors',
        response: {
          200: T.Object({ totp: T.Object({ enrolled: T.Boolean(), confirmed: T.Boolean() }), webauthn: T.Array(CredentialOut), recoveryCodesRemaining: T.Integer() }),
          ...err,
        },
      },
    },
    async (req) => {
      const s = await uc.mfa.status(actorOf(req));
      return { ...s, webauthn: s.webauthn.map(credential) };
    },
  );

  // ---- TOTP --------------------------------------------------------------------------------

  api.post(
    '/me/mfa/totp',
    { schema: { tags, summary: 'Start enrolling an authenticator app; the secret is shown once', response: { 201: T.Object({ secret: T.String(), otpauthUrl: T.String() }), ...err } } },
    async (req, reply) => {
      const r = await uc.mfa.enrollTotp(actorOf(req));
      reply.status(201);
      return r;
    },
  );

  api.post<{ Body: Static<typeof CodeBody> }>(
    '/me/mfa/totp/confirm',
    { schema: { tags, summary: 'Confirm the authenticator app with a code; the first factor returns recovery codes once', body: CodeBody, response: { 200: T.Object({ method: T.String(), confirmedAt: Time, recoveryCodes: T.Optional(RecoveryCodes) }), ...err } } },
    async (req) => {
      const r = await uc.mfa.confirmTotp(actorOf(req), req.body.code);
      return { method: 'totp', confirmedAt: iso(r.confirmedAt), ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) };
    },
  );

  api.post<{ Body: Static<typeof CodeBody> }>(
    '/me/mfa/totp/verify',
    { schema: { tags, summary: 'Verify an authenticator app code (step-up)', body: CodeBody, response: { 200: EvidenceOut, ...err } } },
    async (req) => evidence(await uc.mfa.verifyTotp(actorOf(req), req.body.code)),
  );

  api.delete('/me/mfa/totp', { schema: { tags, summary: 'Remove the authenticator app (needs MFA in the last 5 minutes)', response: { 204: T.Null(), ...err } } }, async (req, reply) => {
    await uc.mfa.deleteTotp(actorOf(req));
    return reply.status(204).send();
  });

  // ---- WebAuthn ----------------------------------------------------------------------------

  api.post('/me/mfa/webauthn/register/options', { schema: { tags, summary: 'Options for navigator.credentials.create()', response: { 200: Options, ...err } } }, async (req) =>
    uc.mfa.webauthnRegisterOptions(actorOf(req)),
  );

  api.post<{ Body: Static<typeof RegisterBody> }>(
    '/me/mfa/webauthn/register',
    { schema: { tags, summary: 'Register a passkey or security key; the first factor returns recovery codes once', body: RegisterBody, response: { 201: T.Composite([CredentialOut, T.Object({ recoveryCodes: T.Optional(RecoveryCodes) })]), ...err } } },
    async (req, reply) => {
      const r = await uc.mfa.webauthnRegister(actorOf(req), req.body.response, req.body.name);
      reply.status(201);
      return { ...credential(r.credential), ...(r.recoveryCodes ? { recoveryCodes: r.recoveryCodes } : {}) };
    },
  );

  api.post('/me/mfa/webauthn/authenticate/options', { schema: { tags, summary: 'Options for navigator.credentials.get()', response: { 200: Options, ...err } } }, async (req) =>
    uc.mfa.webauthnAuthenticateOptions(actorOf(req)),
  );

  api.post<{ Body: Static<typeof AssertionBody> }>(
    '/me/mfa/webauthn/verify',
    { schema: { tags, summary: 'Verify a passkey or security key assertion (phishing-resistant step-up)', body: AssertionBody, response: { 200: EvidenceOut, ...err } } },
    async (req) => evidence(await uc.mfa.webauthnVerify(actorOf(req), req.body.response)),
  );

  api.delete<{ Params: { id: string } }>(
    '/me/mfa/webauthn/:id',
    { schema: { tags, summary: 'Remove a passkey or security key (needs MFA in the last 5 minutes)', params: T.Object({ id: T.String({ minLength: 1, maxLength: 2048 }) }), response: { 204: T.Null(), ...err } } },
    async (req, reply) => {
      await uc.mfa.deleteWebauthn(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  // ---- recovery codes ----------------------------------------------------------------------

  api.post(
    '/me/mfa/recovery-codes',
    { schema: { tags, summary: 'Replace your recovery codes (needs MFA in the last 5 minutes); shown once', response: { 200: T.Object({ recoveryCodes: RecoveryCodes }), ...err } } },
    async (req) => ({ recoveryCodes: await uc.mfa.regenerateRecoveryCodes(actorOf(req)) }),
  );

  api.post<{ Body: Static<typeof CodeBody> }>(
    '/me/mfa/recovery/verify',
    { schema: { tags, summary: 'Use a recovery code (once) as MFA', body: CodeBody, response: { 200: EvidenceOut, ...err } } },
    async (req) => evidence(await uc.mfa.verifyRecoveryCode(actorOf(req), req.body.code)),
  );
}
