import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Forbidden, Invalid, NotFound } from '../core/errors.js';
import { freshMfa, type MfaEvidence, type SignInFacts } from '../core/identity.js';
import { draft, writeAudit } from './audit-log.js';
import type { Actor, AppDeps } from './context.js';
import type { Challenge, Tx } from './ports.js';

/**
 * Step-up for scripts with a human present (a device-style flow, after RFC 8628): the CLI, holding
 * an API token, starts a step-up and shows a short code and a link; the same person opens it in a
 * browser session, verifies with a passkey (or an authenticator code), and confirms. The CLI then
 * sends the step-up with its requests, and they carry that verification (and that session's
 * device and risk facts) for as long as the role's MFA freshness allows.
 */

type Deps = Pick<AppDeps, 'store' | 'clock' | 'newId' | 'identity'>;

const STEPUP_TTL_MS = 10 * 60_000;
/** How recent the browser's MFA must be to confirm a step-up. */
const CONFIRM_FRESHNESS_MS = 5 * 60_000;
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'; // no vowels: no words; no look-alikes
const hashCode = (s: string) => createHash('sha256').update(s).digest('hex');

export interface StepupData {
  [k: string]: unknown;
  userCode: string;
  tokenId: string | null;
  status: 'pending' | 'confirmed';
  mfa: MfaEvidence[];
  signIn: SignInFacts | null;
  /** Where the step-up was started, shown to the person before they confirm it. */
  startedAt: number;
  sourceIp: string | null;
  userAgent: string | null;
  tokenName: string | null;
}

export function makeStepups(deps: Deps) {
  const { store, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const normalizeUserCode = (c: unknown): string => {
    if (typeof c !== 'string') throw new Invalid('invalid_request', 'code must be a string', { field: 'userCode' });
    const s = c.toUpperCase().replace(/[^A-Z]/g, '');
    if (s.length !== 8) throw new Invalid('invalid_request', 'the code has 8 letters', { field: 'userCode' });
    return s;
  };

  /** The code the person typed, and the step-up behind it when it is theirs and still running. */
  async function lookUp(tx: Tx, actor: Actor, code: string, now: number): Promise<{ c: Challenge | null; device: Challenge | null }> {
    const c = await store.challenges.get(tx, `stepup:${code}`, 'stepup_code', now);
    const device = c && c.principalId === actor.principalId ? await store.challenges.get(tx, String(c.data.device), 'stepup', now) : null;
    return { c, device };
  }

  return {
    /** Start a step-up for the calling principal. The device code is a bearer secret: only its hash is kept. */
    async start(actor: Actor) {
      const now = clock.now();
      const deviceCode = `elsu_${randomBytes(24).toString('base64url')}`;
      let userCode = '';
      for (let i = 0; i < 8; i++) userCode += ALPHABET[randomInt(ALPHABET.length)];
      const expiresAt = now + STEPUP_TTL_MS;
      await store.transaction(async (tx) => {
        const token = actor.auth.tokenId ? await store.tokens.get(tx, actor.auth.tokenId) : null;
        const data: StepupData = {
          userCode, tokenId: actor.auth.tokenId, status: 'pending', mfa: [], signIn: null,
          startedAt: now, sourceIp: actor.sourceIp, userAgent: actor.userAgent, tokenName: token?.name ?? null,
        };
        await store.challenges.put(tx, { id: hashCode(deviceCode), kind: 'stepup', principalId: actor.principalId, data, expiresAt });
        await store.challenges.put(tx, { id: `stepup:${userCode}`, kind: 'stepup_code', principalId: actor.principalId, data: { device: hashCode(deviceCode) }, expiresAt });
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.stepup_started', 'info', { expiresAt })]);
      });
      const display = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
      return { deviceCode, userCode: display, verificationUri: `${deps.identity.publicUrl.replace(/\/$/, '')}/stepup?code=${display}`, expiresAt, interval: 2 };
    },

    /** The person, signed in in a browser with fresh MFA, confirms the code the CLI showed. */
    async confirm(actor: Actor, rawCode: unknown) {
      const code = normalizeUserCode(rawCode);
      const now = clock.now();
      const out = await store.transaction(async (tx) => {
        const { c, device } = await lookUp(tx, actor, code, now);
        if (!device) {
          // Someone else's code, an expired one, or a guess: refused and on the record.
          await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.stepup_refused', 'denied', { startedBy: c?.principalId ?? null }, [c ? 'not_your_step_up' : 'unknown_code'])]);
          return { refused: 'not_found' };
        }
        const fresh = actor.auth.mfa.filter((m) => now - m.at <= CONFIRM_FRESHNESS_MS && m.at <= now);
        if (actor.auth.method !== 'session' || freshMfa(fresh, now, CONFIRM_FRESHNESS_MS).strength === 'none') {
          await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.stepup_refused', 'denied', {}, ['mfa_required'])]);
          return { refused: 'mfa_required' };
        }
        const data: StepupData = { ...(device.data as StepupData), status: 'confirmed', mfa: fresh, signIn: actor.auth.signIn };
        await store.challenges.put(tx, { ...device, data });
        await store.challenges.take(tx, `stepup:${code}`, 'stepup_code', now);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.stepup_confirmed', 'allowed', { methods: fresh.map((m) => m.method) })]);
        return { ok: true };
      });
      if ('refused' in out) {
        if (out.refused === 'mfa_required') throw new Forbidden('mfa_required', 'verify with a passkey or an authenticator code in this browser first, then confirm');
        throw new NotFound('not_found', 'no pending step-up with this code for you (it may have expired)');
      }
    },

    /** What the person is about to confirm: when, from where and with which token the step-up was started. */
    async describe(actor: Actor, rawCode: unknown) {
      const code = normalizeUserCode(rawCode);
      const now = clock.now();
      const d = await store.transaction(async (tx) => {
        const { device } = await lookUp(tx, actor, code, now);
        return device ? { ...(device.data as StepupData), expiresAt: device.expiresAt } : null;
      });
      if (!d || d.status !== 'pending') throw new NotFound('not_found', 'no pending step-up with this code for you (it may have expired)');
      return { startedAt: d.startedAt, sourceIp: d.sourceIp, userAgent: d.userAgent, tokenName: d.tokenName, expiresAt: d.expiresAt };
    },

    /** For the CLI's polling: pending or confirmed (or 404 once expired). */
    async status(actor: Actor, deviceCode: string) {
      const now = clock.now();
      const c = await store.transaction((tx) => store.challenges.get(tx, hashCode(deviceCode), 'stepup', now));
      if (!c || c.principalId !== actor.principalId) throw new NotFound('not_found', 'step-up not found or expired');
      const d = c.data as StepupData;
      return { status: d.status, expiresAt: c.expiresAt, methods: d.mfa.map((m) => m.method) };
    },

    /** The verification a confirmed step-up lends to a request from the same principal (and token), or null. */
    async resolve(actor: Actor, deviceCode: string): Promise<{ mfa: MfaEvidence[]; signIn: SignInFacts | null } | null> {
      const now = clock.now();
      const c = deviceCode.startsWith('elsu_') && deviceCode.length <= 100 ? await store.transaction((tx) => store.challenges.get(tx, hashCode(deviceCode), 'stepup', now)) : null;
      const d = c?.data as StepupData | undefined;
      const why = !c || !d ? 'unknown_step_up' : c.principalId !== actor.principalId || d.tokenId !== actor.auth.tokenId ? 'not_your_step_up' : d.status !== 'confirmed' ? 'step_up_not_confirmed' : null;
      if (why) {
        await store.transaction((tx) => writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('mfa.stepup_refused', 'denied', {}, [why])]));
        return null;
      }
      return { mfa: d!.mfa, signIn: d!.signIn };
    },
  };
}
