import { createHash, randomInt } from 'node:crypto';
import { generateSecret, generateURI, verifySync } from 'otplib';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { Conflict, Forbidden, Invalid, NotFound, TooManyAttempts, type DomainError } from '../core/errors.js';
import { freshMfa, type MfaEvidence, type MfaMethod } from '../core/identity.js';
import { draft, writeAudit } from './audit-log.js';
import { deny } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import { recordMfa } from './evidence.js';
import type { Tx, WebauthnCredential } from './ports.js';
import { lockedUntil, recordFailure, type ThrottlePolicy } from './throttle.js';

/**
 * MFA factors: TOTP (RFC 6238), WebAuthn passkeys and security keys, recovery codes.
 *
 * Every verification runs in one transaction that also writes its audit event and counts the
 * attempt; a refusal is returned out of the transaction (so the audit and the counter commit) and
 * thrown after it. Secrets (TOTP seeds, codes, recovery codes) are never audited, logged or echoed.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'identity' | 'sealer'>;

/** RFC 6238 with the parameters every authenticator app uses: HMAC-SHA-1, 6 digits, 30 s steps. */
export const TOTP = { algorithm: 'sha1', digits: 6, period: 30 } as const;
/** One step either side of the server's, for clock drift. */
const TOTP_TOLERANCE_S = TOTP.period;
/** How recent MFA must be to remove factors or regenerate recovery codes. */
export const FRESH_MFA_MS = 5 * 60_000;
const CHALLENGE_TTL_MS = 5 * 60_000;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford base32 (no I, L, O, U): 12 symbols are 60 random bits. */
const RECOVERY_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RECOVERY_GROUPS = 3;
const RECOVERY_GROUP_LEN = 4;
const REG = 'webauthn_register';
const AUTH = 'webauthn_auth';

export interface MfaStatus {
  totp: { enrolled: boolean; confirmed: boolean };
  webauthn: { id: string; name: string; createdAt: number; lastUsedAt: number | null }[];
  recoveryCodesRemaining: number;
}

export interface CredentialSummary {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: DomainError };
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Generate a recovery code: `xxxx-xxxx-xxxx`, lower case. */
function newRecoveryCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < RECOVERY_GROUPS; g++) {
    let s = '';
    for (let i = 0; i < RECOVERY_GROUP_LEN; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    groups.push(s.toLowerCase());
  }
  return groups.join('-');
}

/** Case, spaces and dashes ignored; Crockford look-alikes (O→0, I/L→1) accepted. Null when it cannot be a code. */
export function normalizeRecoveryCode(raw: string): string | null {
  const s = raw
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[\s\-_]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (s.length !== RECOVERY_GROUPS * RECOVERY_GROUP_LEN) return null;
  for (const c of s) if (!RECOVERY_ALPHABET.includes(c)) return null;
  return s;
}

/** Hashed with the principal, so one principal's code never matches another's. */
const recoveryHash = (principalId: string, normalized: string): string => sha256(`elevate-recovery\n${principalId}\n${normalized}`);

/** A 6-digit code, spaces ignored; anything else is bad input (400), not a wrong code. */
function cleanTotpCode(raw: unknown): string {
  const s = typeof raw === 'string' ? raw.replace(/\s/g, '') : '';
  if (!/^[0-9]{6}$/.test(s)) throw new Invalid('invalid_request', 'code must be the 6 digits your authenticator app shows', { field: 'code', reason: 'totp_code_format' });
  return s;
}

function parseClientData(b64: string): { challenge: string; type: string } | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
    if (typeof v !== 'object' || v === null) return null;
    const { challenge, type } = v as Record<string, unknown>;
    if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 1024 || typeof type !== 'string') return null;
    return { challenge, type };
  } catch {
    return null;
  }
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const isB64 = (v: unknown, max = 1 << 20): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && B64URL.test(v);

function malformed(field: string): Invalid {
  return new Invalid('invalid_request', `response is not a WebAuthn ${field === 'response' ? 'credential' : `credential (${field})`}`, { field, reason: 'webauthn_response_malformed' });
}

/** Check the shape of a browser's credential JSON (what the library assumes) and extract its challenge. 400 when malformed. */
function parseCredential(raw: unknown, kind: 'registration' | 'assertion'): { json: RegistrationResponseJSON | AuthenticationResponseJSON; challenge: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed('response');
  const r = raw as Record<string, unknown>;
  if (!isB64(r.id, 2048)) throw malformed('response.id');
  if (r.rawId !== r.id) throw malformed('response.rawId');
  if (r.type !== 'public-key') throw malformed('response.type');
  const inner = r.response;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw malformed('response.response');
  const i = inner as Record<string, unknown>;
  if (!isB64(i.clientDataJSON)) throw malformed('response.response.clientDataJSON');
  if (kind === 'registration') {
    if (!isB64(i.attestationObject)) throw malformed('response.response.attestationObject');
    if (i.transports !== undefined && (!Array.isArray(i.transports) || i.transports.length > 16 || !i.transports.every((t) => typeof t === 'string' && t.length <= 32))) {
      throw malformed('response.response.transports');
    }
  } else {
    if (!isB64(i.authenticatorData)) throw malformed('response.response.authenticatorData');
    if (!isB64(i.signature)) throw malformed('response.response.signature');
    if (i.userHandle !== undefined && i.userHandle !== null && !isB64(i.userHandle, 1024)) throw malformed('response.response.userHandle');
  }
  const ext = r.clientExtensionResults;
  if (ext !== undefined && (typeof ext !== 'object' || ext === null || Array.isArray(ext))) throw malformed('response.clientExtensionResults');
  const cd = parseClientData(i.clientDataJSON as string);
  if (!cd) throw malformed('response.response.clientDataJSON');
  const json = { ...r, response: { ...i, ...(i.userHandle === null ? { userHandle: undefined } : {}) }, clientExtensionResults: ext ?? {} } as unknown as RegistrationResponseJSON | AuthenticationResponseJSON;
  return { json, challenge: cd.challenge };
}

/** The library says why in a message; we keep stable codes. */
function webauthnReason(e: unknown): 'mfa_user_not_verified' | 'mfa_webauthn_failed' {
  const msg = e instanceof Error ? e.message : '';
  return /user verification|user could not be verified/i.test(msg) ? 'mfa_user_not_verified' : 'mfa_webauthn_failed';
}

const libMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 200);

export function makeMfa(deps: Deps) {
  const { store, clock, sealer, identity } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const origin = new URL(identity.publicUrl).origin;
  const throttleKey = (principalId: string) => `mfa:${principalId}`;
  const policy = (): ThrottlePolicy => ({ maxFailures: identity.mfaMaxFailures, windowMs: identity.mfaLockoutMs, lockoutMs: identity.mfaLockoutMs });
  const challengeId = (kind: string, principalId: string, challenge: string) => sha256(`${kind}\n${principalId}\n${challenge}`);

  /** Keep a WebAuthn challenge server-side (every node sees it), single use, tied to the principal. */
  async function saveChallenge(tx: Tx, kind: string, actor: Actor, challenge: string, now: number): Promise<void> {
    await store.challenges.put(tx, { id: challengeId(kind, actor.principalId, challenge), kind, principalId: actor.principalId, data: { challenge }, expiresAt: now + CHALLENGE_TTL_MS });
  }

  /** Run one transaction; a failure value it returns (after auditing) is thrown once it has committed. */
  async function run<T>(fn: (tx: Tx) => Promise<Outcome<T>>): Promise<T> {
    const r = await store.transaction(fn);
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** Audit a refused verification and hand back the error to throw after commit. */
  async function fail<T>(tx: Tx, now: number, actor: Actor, method: MfaMethod, reason: string, error: DomainError, data: Record<string, unknown> = {}): Promise<Outcome<T>> {
    await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.failed', 'denied', { method, ...data }, [reason])]);
    return { ok: false, error };
  }

  async function succeed(tx: Tx, now: number, actor: Actor, ev: MfaEvidence, data: Record<string, unknown> = {}): Promise<void> {
    await recordMfa(store, tx, actor, ev);
    await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [
      draft('mfa.verified', 'allowed', { method: ev.method, ...(ev.credentialId ? { credentialId: ev.credentialId } : {}), ...data }),
    ]);
  }

  /** 429 with Retry-After when the principal's code attempts are locked; audited. */
  async function throttled<T>(tx: Tx, now: number, actor: Actor, method: MfaMethod, data: Record<string, unknown> = {}): Promise<Outcome<T> | null> {
    const until = await lockedUntil(store, tx, throttleKey(actor.principalId), now);
    if (until === null) return null;
    const retryAfterSeconds = Math.ceil((until - now) / 1000);
    return fail(tx, now, actor, method, 'mfa_rate_limited', new TooManyAttempts('mfa_rate_limited', `too many wrong codes: try again in ${retryAfterSeconds} s`, { retryAfterSeconds }), data);
  }

  async function countFailure(tx: Tx, now: number, principalId: string): Promise<void> {
    await recordFailure(store, tx, throttleKey(principalId), now, policy());
  }

  async function hasFactor(tx: Tx, principalId: string): Promise<boolean> {
    const t = await store.mfa.totp(tx, principalId);
    if (t?.confirmedAt != null) return true;
    return (await store.mfa.webauthnCredentials(tx, principalId)).length > 0;
  }

  /** Fresh recovery codes replace any old ones; the plain codes are returned once and never stored. */
  async function issueRecoveryCodes(tx: Tx, now: number, actor: Actor, why: 'first_factor' | 'regenerated'): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode());
    const list = [...codes];
    const hashes = list.map((c) => recoveryHash(actor.principalId, normalizeRecoveryCode(c) as string));
    await store.mfa.replaceRecoveryCodes(tx, actor.principalId, hashes, now);
    await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.recovery_codes_issued', 'info', { count: list.length, why })]);
    return list;
  }

  /** Codes only when this is the principal's first factor and none are left from before. */
  async function firstFactorCodes(tx: Tx, now: number, actor: Actor, hadFactor: boolean): Promise<string[] | null> {
    if (hadFactor) return null;
    if ((await store.mfa.unusedRecoveryCodes(tx, actor.principalId)) > 0) return null;
    return issueRecoveryCodes(tx, now, actor, 'first_factor');
  }

  /** Removing the last factor takes the recovery codes with it (they recover a factor, they are not one). */
  async function afterRemoval(tx: Tx, now: number, principalId: string): Promise<void> {
    if (!(await hasFactor(tx, principalId))) await store.mfa.replaceRecoveryCodes(tx, principalId, [], now);
  }

  const isFresh = (actor: Actor, now: number): boolean => freshMfa(actor.auth.mfa, now, FRESH_MFA_MS).strength !== 'none';
  const freshMessage = (action: string) => `${action} needs MFA verified in the last 5 minutes: verify a factor (or send X-Elevate-TOTP) and retry`;

  /**
   * Factors are managed from a signed-in browser session only: an API token must never be able to
   * give itself MFA (a stolen token would enroll the thief's authenticator). Audited refusal.
   */
  async function requireSession(actor: Actor, action: string): Promise<void> {
    if (actor.auth.method === 'session') return;
    await deny(deps, actor, action, { principalId: actor.principalId }, 'session_required', `${action} is done from a signed-in browser session, never with an API token`);
  }

  /** Removing factors and minting recovery codes need MFA verified in the last 5 minutes (audited refusal). */
  async function requireFreshMfa(actor: Actor, action: string): Promise<void> {
    if (isFresh(actor, clock.now())) return;
    await deny(deps, actor, action, { principalId: actor.principalId }, 'mfa_required', freshMessage(action));
  }

  /** The same refusal inside a transaction: audited there, thrown after commit. */
  async function notFresh<T>(tx: Tx, now: number, actor: Actor, action: string): Promise<Outcome<T>> {
    await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('authz.denied', 'denied', { action }, ['mfa_required'])]);
    return { ok: false, error: new Forbidden('mfa_required', freshMessage(action), { reasons: ['mfa_required'] }) };
  }

  /**
   * Check a TOTP code against the principal's factor: throttle first (a locked principal is refused
   * even with the right code), then the code for the current step ±1, then replay (a step at or
   * before the last accepted one). Counts failures; on success stores the step. A success does not
   * wipe earlier failures (they age out with the window): the owner's own codes cannot buy a thief
   * holding the same token more guesses.
   */
  async function checkTotp(tx: Tx, now: number, actor: Actor, code: string, purpose: 'verify' | 'confirm'): Promise<Outcome<{ step: number }>> {
    const data = { purpose };
    // Read first: on PostgreSQL this locks the factor row, so a principal's attempts (on any node)
    // run one after another and each sees the failures counted before it.
    const f = await store.mfa.totp(tx, actor.principalId);
    const locked = await throttled<{ step: number }>(tx, now, actor, 'totp', data);
    if (locked) return locked;
    if (!f) return fail(tx, now, actor, 'totp', 'totp_not_enrolled', new Conflict('totp_not_enrolled', 'no authenticator app is enrolled: POST /api/v1/me/mfa/totp first'), data);
    if (purpose === 'verify' && f.confirmedAt === null) {
      return fail(tx, now, actor, 'totp', 'totp_not_confirmed', new Conflict('totp_not_confirmed', 'the authenticator app is not confirmed yet: POST /api/v1/me/mfa/totp/confirm'), data);
    }
    if (purpose === 'confirm' && f.confirmedAt !== null) {
      return fail(tx, now, actor, 'totp', 'totp_already_confirmed', new Conflict('totp_already_confirmed', 'the authenticator app is already confirmed'), data);
    }
    const epoch = Math.floor(now / 1000);
    const base = { secret: sealer.open(f.secretSealed), token: code, epoch, epochTolerance: TOTP_TOLERANCE_S, ...TOTP };
    let step: number | null = null;
    let replayed = false;
    try {
      const newest = Math.floor((epoch + TOTP_TOLERANCE_S) / TOTP.period);
      if (f.lastStep < newest) {
        const r = verifySync({ ...base, afterTimeStep: Math.max(0, f.lastStep) });
        if (r.valid) step = (r as { timeStep: number }).timeStep;
      }
      if (step === null) replayed = verifySync(base).valid;
    } catch {
      step = null;
      replayed = false;
    }
    if (step === null) {
      await countFailure(tx, now, actor.principalId);
      return replayed
        ? fail(tx, now, actor, 'totp', 'mfa_code_replayed', new Forbidden('mfa_code_replayed', 'this code was used already: wait for the next one', { reasons: ['mfa_code_replayed'] }), data)
        : fail(tx, now, actor, 'totp', 'mfa_invalid_code', new Forbidden('mfa_invalid_code', 'the code is wrong', { reasons: ['mfa_invalid_code'] }), data);
    }
    await store.mfa.putTotp(tx, { ...f, lastStep: step, confirmedAt: f.confirmedAt ?? now });
    return ok({ step });
  }

  async function verifyTotpCode(actor: Actor, rawCode: unknown): Promise<MfaEvidence> {
    const code = cleanTotpCode(rawCode);
    const now = clock.now();
    return run(async (tx) => {
      const r = await checkTotp(tx, now, actor, code, 'verify');
      if (!r.ok) return r;
      const ev: MfaEvidence = { method: 'totp', at: now };
      await succeed(tx, now, actor, ev);
      return ok(ev);
    });
  }

  async function ownedCredential(tx: Tx, actor: Actor, id: string): Promise<WebauthnCredential | null> {
    const c = await store.mfa.webauthnCredential(tx, id);
    return c && c.principalId === actor.principalId ? c : null;
  }

  const summary = (c: WebauthnCredential): CredentialSummary => ({ id: c.id, name: c.name, createdAt: c.createdAt, lastUsedAt: c.lastUsedAt });

  return {
    async status(actor: Actor): Promise<MfaStatus> {
      return store.transaction(async (tx) => {
        const t = await store.mfa.totp(tx, actor.principalId);
        const creds = await store.mfa.webauthnCredentials(tx, actor.principalId);
        return {
          totp: { enrolled: t !== null, confirmed: t?.confirmedAt != null },
          webauthn: creds.map(summary),
          recoveryCodesRemaining: await store.mfa.unusedRecoveryCodes(tx, actor.principalId),
        };
      });
    },

    // ---- TOTP -------------------------------------------------------------------------------

    /** Start enrolling an authenticator app: a new seed (sealed at rest), shown once. Replaces an unconfirmed one. */
    async enrollTotp(actor: Actor): Promise<{ secret: string; otpauthUrl: string }> {
      await requireSession(actor, 'mfa.totp.enroll');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const f = await store.mfa.totp(tx, actor.principalId);
        if (f?.confirmedAt != null) throw new Conflict('totp_already_enrolled', 'an authenticator app is already enrolled: DELETE /api/v1/me/mfa/totp first');
        const secret = generateSecret({ length: 20 });
        await store.mfa.putTotp(tx, { principalId: actor.principalId, secretSealed: sealer.seal(secret), confirmedAt: null, lastStep: 0, createdAt: now });
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.enrollment_started', 'info', { method: 'totp' })]);
        const otpauthUrl = generateURI({ issuer: identity.rpName, label: actor.principalId, secret, ...TOTP });
        return { secret, otpauthUrl };
      });
    },

    /**
     * Confirm the app with a code it shows. Adding a factor next to an existing one needs fresh MFA
     * (a stolen token alone must not add the thief's factor). The first factor brings recovery codes.
     */
    async confirmTotp(actor: Actor, rawCode: unknown): Promise<{ confirmedAt: number; recoveryCodes: string[] | null }> {
      await requireSession(actor, 'mfa.totp.enroll');
      const code = cleanTotpCode(rawCode);
      const now = clock.now();
      return run(async (tx) => {
        const first = !(await hasFactor(tx, actor.principalId));
        if (!first && !isFresh(actor, now)) return notFresh(tx, now, actor, 'mfa.totp.enroll');
        const r = await checkTotp(tx, now, actor, code, 'confirm');
        if (!r.ok) return r;
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.enrolled', 'info', { method: 'totp' })]);
        const recoveryCodes = await firstFactorCodes(tx, now, actor, !first);
        return ok({ confirmedAt: now, recoveryCodes });
      });
    },

    /** Verify a code: evidence for the caller (and its session). Used by the route and the X-Elevate-TOTP header. */
    verifyTotp: verifyTotpCode,

    async deleteTotp(actor: Actor): Promise<void> {
      await requireSession(actor, 'mfa.totp.remove');
      await requireFreshMfa(actor, 'mfa.totp.remove');
      const now = clock.now();
      await store.transaction(async (tx) => {
        const f = await store.mfa.totp(tx, actor.principalId);
        if (!f) throw new NotFound('not_found', 'no authenticator app is enrolled');
        await store.mfa.deleteTotp(tx, actor.principalId);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.removed', 'info', { method: 'totp', confirmed: f.confirmedAt !== null })]);
        await afterRemoval(tx, now, actor.principalId);
      });
    },

    // ---- WebAuthn ---------------------------------------------------------------------------

    async webauthnRegisterOptions(actor: Actor): Promise<PublicKeyCredentialCreationOptionsJSON> {
      await requireSession(actor, 'mfa.webauthn.enroll');
      const now = clock.now();
      return store.transaction(async (tx) => {
        const p = await store.principals.get(tx, actor.principalId);
        const creds = await store.mfa.webauthnCredentials(tx, actor.principalId);
        const options = await generateRegistrationOptions({
          rpName: identity.rpName,
          rpID: identity.rpId,
          userName: actor.principalId,
          userDisplayName: p?.name ?? actor.principalId,
          // A stable, opaque user handle (≤ 64 bytes whatever the id's length).
          userID: createHash('sha256').update(`elevate-user\n${actor.principalId}`).digest(),
          timeout: CHALLENGE_TTL_MS,
          attestationType: 'none',
          excludeCredentials: creds.map((c) => ({ id: c.id, transports: c.transports })),
          authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        });
        await saveChallenge(tx, REG, actor, options.challenge, now);
        return options;
      });
    },

    /**
     * Verify a registration (user verification required) and store the credential. Registering is
     * not a verification: a new passkey counts only once it is used (else weaker MFA could be
     * turned into phishing-resistant MFA by registering one). Next to an existing passkey, a new
     * one needs a fresh passkey verification.
     */
    async webauthnRegister(actor: Actor, rawResponse: unknown, rawName?: string): Promise<{ credential: CredentialSummary; recoveryCodes: string[] | null }> {
      await requireSession(actor, 'mfa.webauthn.enroll');
      const { json, challenge } = parseCredential(rawResponse, 'registration');
      const name = (rawName ?? '').normalize('NFKC').trim().slice(0, 100);
      const now = clock.now();
      return run(async (tx) => {
        const data = { purpose: 'register' };
        const first = !(await hasFactor(tx, actor.principalId));
        if (!first && !isFresh(actor, now)) return notFresh(tx, now, actor, 'mfa.webauthn.enroll');
        const hasPasskey = (await store.mfa.webauthnCredentials(tx, actor.principalId)).length > 0;
        if (hasPasskey && freshMfa(actor.auth.mfa, now, FRESH_MFA_MS).strength !== 'phishing_resistant') return notFresh(tx, now, actor, 'mfa.webauthn.enroll (with an existing passkey)');
        const ch = await store.challenges.take(tx, challengeId(REG, actor.principalId, challenge), REG, now);
        if (!ch || ch.principalId !== actor.principalId) {
          return fail(tx, now, actor, 'webauthn', 'mfa_challenge_invalid', new Forbidden('mfa_challenge_invalid', 'no such registration challenge (expired or used): request new options', { reasons: ['mfa_challenge_invalid'] }), data);
        }
        let info;
        try {
          const v = await verifyRegistrationResponse({
            response: json as RegistrationResponseJSON,
            expectedChallenge: String(ch.data.challenge),
            expectedOrigin: origin,
            expectedRPID: identity.rpId,
            requireUserPresence: true,
            requireUserVerification: true,
          });
          if (!v.verified) throw new Error('registration not verified');
          info = v.registrationInfo;
        } catch (e) {
          const reason = webauthnReason(e);
          return fail(tx, now, actor, 'webauthn', reason, new Forbidden(reason, reason === 'mfa_user_not_verified' ? 'the authenticator did not verify the user (PIN or biometric required)' : 'the registration could not be verified', { reasons: [reason] }), { ...data, detail: libMessage(e) });
        }
        const cred = info.credential;
        if (await store.mfa.webauthnCredential(tx, cred.id)) {
          return fail(tx, now, actor, 'webauthn', 'mfa_credential_exists', new Conflict('mfa_credential_exists', 'this authenticator is already registered'), { ...data, credentialId: cred.id });
        }
        const existing = await store.mfa.webauthnCredentials(tx, actor.principalId);
        const transports = (cred.transports ?? (json as RegistrationResponseJSON).response.transports ?? []).filter((t) => typeof t === 'string').slice(0, 16);
        const c: WebauthnCredential = {
          id: cred.id,
          principalId: actor.principalId,
          publicKey: Buffer.from(cred.publicKey).toString('base64url'),
          counter: cred.counter,
          transports,
          name: name || `Passkey ${existing.length + 1}`,
          createdAt: now,
          lastUsedAt: now,
        };
        await store.mfa.insertWebauthn(tx, c);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [
          draft('mfa.enrolled', 'info', { method: 'webauthn', credentialId: c.id, name: c.name, aaguid: info.aaguid, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp }),
        ]);
        const recoveryCodes = await firstFactorCodes(tx, now, actor, !first);
        return ok({ credential: summary(c), recoveryCodes });
      });
    },

    async webauthnAuthenticateOptions(actor: Actor): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const creds = await store.mfa.webauthnCredentials(tx, actor.principalId);
        if (creds.length === 0) throw new Conflict('webauthn_not_enrolled', 'no passkey or security key is registered: register one first');
        const options = await generateAuthenticationOptions({
          rpID: identity.rpId,
          allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports })),
          userVerification: 'required',
          timeout: CHALLENGE_TTL_MS,
        });
        await saveChallenge(tx, AUTH, actor, options.challenge, now);
        return options;
      });
    },

    /** Verify an assertion by one of the caller's own credentials (single-use challenge, user verification, signature counter). */
    async webauthnVerify(actor: Actor, rawResponse: unknown): Promise<MfaEvidence> {
      const { json, challenge } = parseCredential(rawResponse, 'assertion');
      const now = clock.now();
      return run(async (tx) => {
        const credentialId = json.id;
        const data = { purpose: 'verify', credentialId };
        const ch = await store.challenges.take(tx, challengeId(AUTH, actor.principalId, challenge), AUTH, now);
        if (!ch || ch.principalId !== actor.principalId) {
          return fail(tx, now, actor, 'webauthn', 'mfa_challenge_invalid', new Forbidden('mfa_challenge_invalid', 'no such authentication challenge (expired or used): request new options', { reasons: ['mfa_challenge_invalid'] }), data);
        }
        const c = await ownedCredential(tx, actor, credentialId);
        if (!c) {
          return fail(tx, now, actor, 'webauthn', 'mfa_invalid_credential', new Forbidden('mfa_invalid_credential', 'this credential is not registered to you', { reasons: ['mfa_invalid_credential'] }), data);
        }
        let newCounter: number;
        try {
          const v = await verifyAuthenticationResponse({
            response: json as AuthenticationResponseJSON,
            expectedChallenge: String(ch.data.challenge),
            expectedOrigin: origin,
            expectedRPID: identity.rpId,
            // The counter is compared below, after the signature has been checked, so a regression is told apart.
            credential: { id: c.id, publicKey: Buffer.from(c.publicKey, 'base64url'), counter: 0, transports: c.transports },
            requireUserVerification: true,
          });
          if (!v.verified) throw new Error('assertion not verified');
          newCounter = v.authenticationInfo.newCounter;
        } catch (e) {
          const reason = webauthnReason(e);
          return fail(tx, now, actor, 'webauthn', reason, new Forbidden(reason, reason === 'mfa_user_not_verified' ? 'the authenticator did not verify the user (PIN or biometric required)' : 'the assertion could not be verified', { reasons: [reason] }), { ...data, detail: libMessage(e) });
        }
        if (c.counter > 0 && newCounter <= c.counter) {
          return fail(tx, now, actor, 'webauthn', 'mfa_counter_regressed', new Forbidden('mfa_counter_regressed', 'the authenticator signature counter went backwards: the credential may be cloned', { reasons: ['mfa_counter_regressed'] }), { ...data, storedCounter: c.counter, newCounter });
        }
        await store.mfa.updateWebauthn(tx, c.id, newCounter, now);
        const ev: MfaEvidence = { method: 'webauthn', at: now, credentialId: c.id };
        await succeed(tx, now, actor, ev, { purpose: 'verify' });
        return ok(ev);
      });
    },

    async deleteWebauthn(actor: Actor, id: string): Promise<void> {
      await requireSession(actor, 'mfa.webauthn.remove');
      await requireFreshMfa(actor, 'mfa.webauthn.remove');
      const now = clock.now();
      await store.transaction(async (tx) => {
        const c = await ownedCredential(tx, actor, id);
        if (!c) throw new NotFound('not_found', `no credential ${id} of yours`);
        await store.mfa.deleteWebauthn(tx, c.id);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.removed', 'info', { method: 'webauthn', credentialId: c.id, name: c.name })]);
        await afterRemoval(tx, now, actor.principalId);
      });
    },

    // ---- recovery codes ---------------------------------------------------------------------

    /** New recovery codes (the old ones stop working), shown once. Needs fresh MFA. */
    async regenerateRecoveryCodes(actor: Actor): Promise<string[]> {
      await requireSession(actor, 'mfa.recovery_codes.regenerate');
      await requireFreshMfa(actor, 'mfa.recovery_codes.regenerate');
      const now = clock.now();
      return store.transaction(async (tx) => {
        if (!(await hasFactor(tx, actor.principalId))) throw new Conflict('mfa_not_enrolled', 'enroll an authenticator app or a passkey first');
        return issueRecoveryCodes(tx, now, actor, 'regenerated');
      });
    },

    /** Use a recovery code (once): MFA of strength `any`. Throttled with TOTP codes. */
    async verifyRecoveryCode(actor: Actor, raw: unknown): Promise<MfaEvidence> {
      const code = typeof raw === 'string' ? normalizeRecoveryCode(raw) : null;
      if (!code) throw new Invalid('invalid_request', 'code must be a recovery code like xxxx-xxxx-xxxx', { field: 'code', reason: 'recovery_code_format' });
      const now = clock.now();
      return run(async (tx) => {
        // Serialize with the principal's TOTP attempts (the factor row lock), as checkTotp does.
        await store.mfa.totp(tx, actor.principalId);
        const locked = await throttled<MfaEvidence>(tx, now, actor, 'recovery_code');
        if (locked) return locked;
        if (!(await store.mfa.useRecoveryCode(tx, actor.principalId, recoveryHash(actor.principalId, code), now))) {
          await countFailure(tx, now, actor.principalId);
          return fail(tx, now, actor, 'recovery_code', 'mfa_invalid_code', new Forbidden('mfa_invalid_code', 'the recovery code is wrong or was used already', { reasons: ['mfa_invalid_code'] }));
        }
        const ev: MfaEvidence = { method: 'recovery_code', at: now };
        await succeed(tx, now, actor, ev, { remaining: await store.mfa.unusedRecoveryCodes(tx, actor.principalId) });
        return ok(ev);
      });
    },
  };
}

/** For the auth layer (X-Elevate-TOTP with an API-token request): same rules as POST /me/mfa/totp/verify. */
export function verifyTotp(deps: Deps, actor: Actor, code: string): Promise<MfaEvidence> {
  return makeMfa(deps).verifyTotp(actor, code);
}
