import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Conflict, Forbidden, Invalid, NotFound, TooManyAttempts, Unauthenticated } from '../core/errors.js';
import { SIGN_IN_RISKS, type Session, type SignInFacts, type SignInRisk } from '../core/identity.js';
import { ID_PATTERN, normalizeId, RESERVED_PRINCIPAL_IDS } from '../core/ids.js';
import { ADMIN_ROLE, type Principal } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { isAdmin, requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';
import { directoryWrites } from './directory.js';
import type { Tx } from './ports.js';
import { forgiveFailure, lockedUntil, recordFailure, resetFailures } from './throttle.js';

/**
 * Sessions for people: sign-in with a local password or through an OpenID Connect IdP, idle and
 * absolute timeouts, sign-out (here and everywhere). API tokens stay for automation and carry no MFA.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId' | 'identity'>;

export const SESSION_PREFIX = 'els_';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const sessionIdOf = (secret: string): string => sha256(secret);
/** The CSRF token is derived from the session secret: only a page that can read our cookie can send it. */
export const csrfTokenOf = (secret: string): string => createHash('sha256').update(`csrf\0${secret}`).digest('base64url');

/** Sign-in names compare without case, width or spacing differences: `Alice`, ` alice`, `ＡＬＩＣＥ` are one name. */
export function normalizeUsername(raw: unknown): string {
  if (typeof raw !== 'string') throw new Invalid('invalid_request', 'username must be a string', { field: 'username' });
  const u = raw.normalize('NFKC').replace(/\s+/gu, '').toLowerCase();
  if (u.length === 0 || u.length > 200) throw new Invalid('invalid_request', 'username must be 1-200 characters', { field: 'username' });
  return u;
}

// ---- password hashing: scrypt (memory-hard), parameters stored with each hash -------------------

const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32 };
const scrypt = (pw: string, salt: Buffer, keylen: number, o: ScryptOptions) =>
  new Promise<Buffer>((res, rej) => scryptCb(pw, salt, keylen, o, (e, k) => (e ? rej(e) : res(k))));

export async function hashPassword(pw: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(pw, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${Math.log2(SCRYPT.N)}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const [alg, logN, r, p, salt, key] = stored.split('$');
  if (alg !== 'scrypt' || !logN || !r || !p || !salt || !key) return false;
  const want = Buffer.from(key, 'base64url');
  const got = await scrypt(pw, Buffer.from(salt, 'base64url'), want.length, { N: 1 << Number(logN), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * How a sign-in name goes into the audit trail: as typed (normalized) when it names an account;
 * otherwise only a digest, since an unknown "name" is often a password typed into the wrong field.
 * The digest still groups repeated attempts at one name (password spraying).
 */
function nameForAudit(uname: string, principalId: string | null): Record<string, string> {
  return principalId ? { username: uname } : { usernameDigest: sha256(`username\0${uname}`).slice(0, 16) };
}

/** A hash of nothing, verified when the user name is unknown so the answer takes as long either way. */
let decoyHash: Promise<string> | null = null;

function checkPasswordPolicy(pw: unknown, username: string | null): string {
  if (typeof pw !== 'string') throw new Invalid('invalid_request', 'password must be a string', { field: 'password' });
  if (pw.length < 12) throw new Invalid('password_too_short', 'a password needs at least 12 characters', { field: 'password' });
  if (pw.length > 256) throw new Invalid('password_too_long', 'a password has at most 256 characters', { field: 'password' });
  if (username && pw.normalize('NFKC').toLowerCase().includes(username)) throw new Invalid('password_contains_username', 'the password must not contain the user name', { field: 'password' });
  return pw;
}

// ---- OIDC claims ----------------------------------------------------------------------------

export interface ClaimNames {
  groups: string;
  device: string;
  risk: string;
  /** The claim matched against a SCIM user's externalId the first time someone signs in. */
  link: string;
}

export interface OidcSignInPolicy {
  issuer: string;
  claims: ClaimNames;
  /** Create a principal for someone the IdP vouches for but Elevate does not know yet. */
  autoProvision: boolean;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 500) : typeof v === 'string' ? [v] : []);

function deviceFact(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true' || s === 'compliant') return true;
    if (s === 'false' || s === 'noncompliant' || s === 'non_compliant') return false;
  }
  return null;
}

function riskFact(v: unknown): SignInRisk | null {
  if (typeof v !== 'string') return null;
  const s = v.toLowerCase() as SignInRisk;
  return SIGN_IN_RISKS.includes(s) ? s : null;
}

/** What an ID token says, read through the configured claim names. Missing or odd values become null (and deny where a role asks). */
export function factsFromClaims(claims: Record<string, unknown>, p: OidcSignInPolicy): SignInFacts {
  return {
    signIn: 'oidc',
    issuer: p.issuer,
    subject: typeof claims.sub === 'string' ? claims.sub : null,
    groups: strings(claims[p.claims.groups]),
    amr: strings(claims.amr),
    acr: typeof claims.acr === 'string' ? claims.acr : null,
    deviceCompliant: deviceFact(claims[p.claims.device]),
    signInRisk: riskFact(claims[p.claims.risk]),
  };
}

export interface SignedIn {
  secret: string;
  session: Session;
  principal: Principal;
}

export function makeSessions(deps: Deps) {
  const { store, clock, identity: opts } = deps;
  const directory = directoryWrites(deps);
  const audit = { audit: store.audit, newId: deps.newId };
  const anonymous = (ip: string | null, ua: string | null): Actor => ({
    principalId: 'anonymous',
    auth: { method: 'session', tokenId: null, sessionId: null, signIn: null, mfa: [], authenticatedAt: clock.now() },
    sourceIp: ip,
    userAgent: ua,
  });

  async function open(tx: Tx, p: Principal, facts: SignInFacts, now: number): Promise<{ secret: string; session: Session }> {
    const secret = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const session: Session = { id: sessionIdOf(secret), principalId: p.id, createdAt: now, lastSeenAt: now, expiresAt: now + opts.sessionMaxMs, revokedAt: null, facts, mfa: [] };
    await store.sessions.insert(tx, session);
    return { secret, session };
  }

  const signedInActor = (p: Pick<Principal, 'id'>, s: Session, ip: string | null, ua: string | null): Actor => ({
    principalId: p.id,
    auth: { method: 'session', tokenId: null, sessionId: s.id, signIn: s.facts, mfa: [...s.mfa], authenticatedAt: s.createdAt },
    sourceIp: ip,
    userAgent: ua,
  });

  return {
    /** Sign in with a local password. Every attempt counts against the name (however it is spelled) and the address before the password is checked. */
    async passwordLogin(input: { username: unknown; password: unknown }, meta: { ip: string | null; userAgent: string | null }): Promise<SignedIn> {
      const uname = normalizeUsername(input.username);
      if (typeof input.password !== 'string' || input.password.length === 0 || input.password.length > 1024) {
        throw new Invalid('invalid_request', 'password must be a non-empty string', { field: 'password' });
      }
      const now = clock.now();
      const policy = { maxFailures: opts.loginMaxFailures, windowMs: opts.loginLockoutMs, lockoutMs: opts.loginLockoutMs };
      const ipPolicy = { ...policy, maxFailures: opts.loginMaxFailures * 4 };
      const userKey = `login:user:${uname}`;
      const ipKey = meta.ip ? `login:ip:${meta.ip}` : null;
      const anon = anonymous(meta.ip, meta.userAgent);

      // 1. Count the attempt first (pessimistically, as a failure): parallel guesses cannot outrun the lockout.
      const pre = await store.transaction(async (tx) => {
        const locked = Math.max((await lockedUntil(store, tx, userKey, now)) ?? 0, ipKey ? ((await lockedUntil(store, tx, ipKey, now)) ?? 0) : 0);
        const pid = await store.identities.resolve(tx, 'username', uname);
        if (locked > 0) {
          await writeAudit(audit, tx, now, anon, { principalId: pid }, [draft('auth.login_failed', 'denied', { signIn: 'password', ...nameForAudit(uname, pid), sourceIp: meta.ip }, ['locked_out'])]);
          return { locked };
        }
        await recordFailure(store, tx, userKey, now, policy);
        if (ipKey) await recordFailure(store, tx, ipKey, now, ipPolicy);
        const account = pid ? await store.localAccounts.get(tx, pid) : null;
        const principal = pid ? await store.principals.get(tx, pid) : null;
        return { locked: 0, pid, account, principal };
      });
      if (pre.locked > 0) {
        throw new TooManyAttempts('locked_out', 'too many failed sign-ins: try again later', { retryAfterSeconds: Math.ceil((pre.locked - now) / 1000) });
      }

      // 2. Check the password outside any transaction (it is slow on purpose).
      decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      const ok = await verifyPassword(input.password, pre.account?.passwordHash ?? (await decoyHash));
      const reason = !pre.account || !pre.principal ? 'invalid_credentials' : !ok ? 'invalid_credentials' : pre.principal.status !== 'active' ? 'principal_suspended' : pre.principal.kind !== 'user' ? 'not_a_user' : null;

      // 3. Record the outcome.
      const out = await store.transaction(async (tx) => {
        if (reason || !pre.principal) {
          await writeAudit(audit, tx, now, anon, { principalId: pre.pid ?? null }, [
            draft('auth.login_failed', 'denied', { signIn: 'password', ...nameForAudit(uname, pre.pid ?? null), sourceIp: meta.ip }, [pre.account ? reason! : 'unknown_user']),
          ]);
          return null;
        }
        await resetFailures(store, tx, userKey);
        // The address counted this attempt as a failure up front: a success takes it back (a busy office NAT never locks itself out).
        if (ipKey) await forgiveFailure(store, tx, ipKey, ipPolicy);
        const facts: SignInFacts = { signIn: 'password', issuer: null, subject: null, groups: [], amr: ['pwd'], acr: null, deviceCompliant: null, signInRisk: null };
        const opened = await open(tx, pre.principal, facts, now);
        await writeAudit(audit, tx, now, signedInActor(pre.principal, opened.session, meta.ip, meta.userAgent), { principalId: pre.principal.id }, [
          draft('auth.login', 'allowed', { signIn: 'password', sourceIp: meta.ip, expiresAt: opened.session.expiresAt }),
        ]);
        return { ...opened, principal: pre.principal };
      });
      // The same answer for an unknown name, a wrong password and a suspended account: nothing to enumerate.
      if (!out) throw new Unauthenticated('invalid_credentials', 'the user name or password is wrong');
      return out;
    },

    /** Sign in with verified ID token claims. The principal is found by issuer and subject, never by a display name or e-mail. */
    async oidcSignIn(claims: Record<string, unknown>, policy: OidcSignInPolicy, meta: { ip: string | null; userAgent: string | null }): Promise<SignedIn> {
      const now = clock.now();
      const facts = factsFromClaims(claims, policy);
      if (!facts.subject) throw new Unauthenticated('oidc_failed', 'the ID token has no subject');
      const key = `${policy.issuer}#${facts.subject}`;
      const anon = anonymous(meta.ip, meta.userAgent);
      const out = await store.transaction(async (tx) => {
        let pid = await store.identities.resolve(tx, 'oidc', key);
        let how: string = 'linked';
        if (!pid) {
          // First sign-in: a SCIM-provisioned user whose externalId is this stable claim, or a new principal when allowed.
          const linkValue = claims[policy.claims.link];
          const viaScim = typeof linkValue === 'string' ? await store.identities.resolve(tx, 'scim_external', linkValue) : null;
          const refused = viaScim ? await linkRefused(tx, viaScim) : null;
          if (refused) {
            // Whoever controls an externalId must not be able to take over an account that signs in otherwise.
            await writeAudit(audit, tx, now, anon, { principalId: viaScim }, [draft('auth.login_failed', 'denied', { signIn: 'oidc', issuer: policy.issuer, subject: facts.subject }, [refused])]);
            return { fail: 'not_provisioned' };
          }
          if (viaScim) {
            pid = viaScim;
            how = 'scim_external_id';
          } else if (policy.autoProvision) {
            pid = await provision(tx, anon, claims, now);
            how = 'provisioned';
          } else {
            await writeAudit(audit, tx, now, anon, {}, [draft('auth.login_failed', 'denied', { signIn: 'oidc', issuer: policy.issuer, subject: facts.subject }, ['not_provisioned'])]);
            return { fail: 'not_provisioned' };
          }
          await store.identities.link(tx, 'oidc', key, pid, now);
        }
        const p = await store.principals.get(tx, pid);
        if (!p || p.status !== 'active' || p.kind !== 'user') {
          const why = !p ? 'unknown_principal' : p.kind !== 'user' ? 'not_a_user' : 'principal_suspended';
          await writeAudit(audit, tx, now, anon, { principalId: pid }, [draft('auth.login_failed', 'denied', { signIn: 'oidc', issuer: policy.issuer, subject: facts.subject }, [why])]);
          return { fail: why as string };
        }
        const opened = await open(tx, p, facts, now);
        await writeAudit(audit, tx, now, signedInActor(p, opened.session, meta.ip, meta.userAgent), { principalId: p.id }, [
          draft('auth.login', 'allowed', {
            signIn: 'oidc', issuer: policy.issuer, subject: facts.subject, identity: how, amr: facts.amr, acr: facts.acr,
            deviceCompliant: facts.deviceCompliant, signInRisk: facts.signInRisk, groups: facts.groups.length, sourceIp: meta.ip,
          }),
        ]);
        return { ...opened, principal: p };
      });
      if ('fail' in out && typeof out.fail === 'string') {
        if (out.fail === 'not_provisioned') throw new Forbidden('not_provisioned', 'your identity provider account is not linked to an Elevate principal: ask an administrator');
        throw new Forbidden(out.fail, 'this account cannot sign in');
      }
      return out;
    },

    /** The session behind a cookie secret, or Unauthenticated. Touches it (at most once a minute) to keep it from idling out. */
    async authenticate(secret: string): Promise<Session> {
      if (!secret.startsWith(SESSION_PREFIX) || secret.length > 100) throw new Unauthenticated('invalid_session', 'the session is not valid: sign in again');
      const now = clock.now();
      const id = sessionIdOf(secret);
      const s = await store.transaction((tx) => store.sessions.get(tx, id));
      if (!s || s.revokedAt !== null) throw new Unauthenticated('invalid_session', 'the session is not valid: sign in again');
      if (s.expiresAt <= now || now - s.lastSeenAt >= opts.sessionIdleMs) throw new Unauthenticated('session_expired', 'the session has expired: sign in again');
      if (deps.index.principalInfo(s.principalId)?.status !== 'active') throw new Unauthenticated('invalid_session', 'the session is not valid: sign in again');
      if (now - s.lastSeenAt >= 60_000) await store.transaction((tx) => store.sessions.touch(tx, id, now));
      return s;
    },

    actorFor: signedInActor,

    /**
     * Drop what has run out: short-lived challenges (WebAuthn, OIDC state, step-up codes), attempt
     * counters a day past their window, and sessions that ended more than a day ago (sign-ins and
     * sign-outs stay in the audit log).
     */
    async purgeExpired(): Promise<number> {
      const now = clock.now();
      const day = 86_400_000;
      return store.transaction(async (tx) => {
        const n = await store.challenges.purgeExpired(tx, now);
        return n + (await store.throttles.purge(tx, now - day, now)) + (await store.sessions.purge(tx, now - day));
      });
    },

    /** Start an OpenID Connect sign-in: state, nonce and PKCE verifier kept server-side for 10 minutes. */
    async oidcBegin(returnTo: string): Promise<{ state: string; nonce: string; verifier: string }> {
      const now = clock.now();
      const v = { state: randomBytes(24).toString('base64url'), nonce: randomBytes(24).toString('base64url'), verifier: randomBytes(48).toString('base64url') };
      await store.transaction((tx) =>
        store.challenges.put(tx, { id: `oidc:${v.state}`, kind: 'oidc_state', principalId: null, data: { nonce: v.nonce, verifier: v.verifier, returnTo }, expiresAt: now + 10 * 60_000 }),
      );
      return v;
    },

    /** The saved state of a sign-in, once (a replayed callback finds nothing). */
    async oidcResume(state: string): Promise<{ nonce: string; verifier: string; returnTo: string } | null> {
      if (state.length > 200) return null;
      const c = await store.transaction((tx) => store.challenges.take(tx, `oidc:${state}`, 'oidc_state', clock.now()));
      return c ? { nonce: String(c.data.nonce), verifier: String(c.data.verifier), returnTo: String(c.data.returnTo) } : null;
    },

    /** An OIDC sign-in that failed at the IdP or in the token exchange, audited. */
    async oidcFailed(reason: string, meta: { ip: string | null; userAgent: string | null }): Promise<void> {
      const now = clock.now();
      await store.transaction((tx) => writeAudit(audit, tx, now, anonymous(meta.ip, meta.userAgent), {}, [draft('auth.login_failed', 'denied', { signIn: 'oidc', sourceIp: meta.ip }, [reason])]));
    },

    async logout(actor: Actor): Promise<void> {
      const sid = actor.auth.sessionId;
      if (!sid) throw new Invalid('no_session', 'this request is not signed in with a session');
      const now = clock.now();
      await store.transaction(async (tx) => {
        await store.sessions.revoke(tx, sid, now);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('auth.logout', 'info')]);
      });
    },

    /** Sign out everywhere: every session of the caller ends now. */
    async logoutEverywhere(actor: Actor): Promise<number> {
      const now = clock.now();
      return store.transaction(async (tx) => {
        const n = await store.sessions.revokeAll(tx, actor.principalId, now);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('auth.logout_everywhere', 'info', { sessions: n })]);
        return n;
      });
    },

    /** Admin: give a user a local sign-in name and password (for first setup and small teams). */
    async setLocalAccount(actor: Actor, rawId: string, input: { username: unknown; password: unknown }): Promise<{ username: string }> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'principal.local_account', { principalId: id });
      const uname = normalizeUsername(input.username);
      const hash = await hashPassword(checkPasswordPolicy(input.password, uname));
      const now = clock.now();
      await store.transaction(async (tx) => {
        const p = await store.principals.get(tx, id);
        if (!p) throw new NotFound('not_found', `principal ${id} not found`);
        if (p.kind !== 'user') throw new Invalid('not_a_user', 'only users sign in with a password', { field: 'id' });
        const owner = await store.identities.resolve(tx, 'username', uname);
        if (owner && owner !== id) throw new Conflict('username_taken', 'this user name belongs to another principal');
        for (const l of await store.identities.linksOf(tx, id)) if (l.kind === 'username' && l.key !== uname) await store.identities.unlink(tx, 'username', l.key);
        if (!owner) await store.identities.link(tx, 'username', uname, id, now);
        await store.localAccounts.put(tx, id, hash, now);
        await resetFailures(store, tx, `login:user:${uname}`);
        // A password set by an administrator (a reset, often after a compromise) ends every session signed in with the old one.
        const n = await store.sessions.revokeAll(tx, id, now);
        await writeAudit(audit, tx, now, actor, { principalId: id }, [draft('principal.local_account_set', 'info', { username: uname, sessionsEnded: n })]);
      });
      return { username: uname };
    },

    /** Change one's own password: the current one is required, and every other session ends. */
    async changePassword(actor: Actor, input: { currentPassword: unknown; newPassword: unknown }): Promise<void> {
      const now = clock.now();
      const current = await store.transaction(async (tx) => ({
        account: await store.localAccounts.get(tx, actor.principalId),
        username: (await store.identities.linksOf(tx, actor.principalId)).find((l) => l.kind === 'username')?.key ?? null,
      }));
      if (!current.account) throw new NotFound('no_local_account', 'this principal has no local password');
      // Guesses of the current password count against the sign-in name like sign-in failures: a session is no unlimited password oracle.
      const key = `login:user:${current.username ?? `principal:${actor.principalId}`}`;
      const policy = { maxFailures: opts.loginMaxFailures, windowMs: opts.loginLockoutMs, lockoutMs: opts.loginLockoutMs };
      const locked = await store.transaction(async (tx) => {
        const until = await lockedUntil(store, tx, key, now);
        if (until !== null) {
          await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('principal.password_change_failed', 'denied', {}, ['locked_out'])]);
          return until;
        }
        await recordFailure(store, tx, key, now, policy);
        return null;
      });
      if (locked !== null) throw new TooManyAttempts('locked_out', 'too many wrong passwords: try again later', { retryAfterSeconds: Math.ceil((locked - now) / 1000) });
      if (typeof input.currentPassword !== 'string' || !(await verifyPassword(input.currentPassword, current.account.passwordHash))) {
        await store.transaction((tx) => writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('principal.password_change_failed', 'denied', {}, ['invalid_credentials'])]));
        throw new Forbidden('invalid_credentials', 'the current password is wrong');
      }
      await store.transaction((tx) => resetFailures(store, tx, key));
      const hash = await hashPassword(checkPasswordPolicy(input.newPassword, current.username));
      await store.transaction(async (tx) => {
        await store.localAccounts.put(tx, actor.principalId, hash, now);
        // Every other session ends; the one that made the change stays.
        const n = await store.sessions.revokeAll(tx, actor.principalId, now, actor.auth.sessionId);
        await writeAudit(audit, tx, now, actor, { principalId: actor.principalId }, [draft('principal.password_changed', 'info', { otherSessionsEnded: n })]);
      });
    },

    /** Admin: link a principal to an IdP identity ahead of its first sign-in. */
    async linkIdentity(actor: Actor, rawId: string, input: { issuer: string; subject: string }): Promise<void> {
      const id = normalizeId(rawId);
      await requireAdmin(deps, actor, 'principal.identity_link', { principalId: id });
      if (!input.issuer || !input.subject) throw new Invalid('invalid_request', 'issuer and subject are required', { field: 'subject' });
      const now = clock.now();
      await store.transaction(async (tx) => {
        if (!(await store.principals.get(tx, id))) throw new NotFound('not_found', `principal ${id} not found`);
        await store.identities.link(tx, 'oidc', `${input.issuer}#${input.subject}`, id, now);
        await writeAudit(audit, tx, now, actor, { principalId: id }, [draft('principal.identity_linked', 'info', { issuer: input.issuer, subject: input.subject })]);
      });
    },

    async identities(actor: Actor, rawId: string): Promise<{ kind: string; key: string }[]> {
      const id = normalizeId(rawId);
      if (id !== actor.principalId) await requireAdmin(deps, actor, 'principal.identities', { principalId: id });
      return store.transaction((tx) => store.identities.linksOf(tx, id));
    },
  };

  /**
   * Linking a first IdP sign-in through a SCIM externalId is refused for accounts that already
   * sign in through an IdP, administrators and break-glass accounts: those are linked by an admin.
   */
  async function linkRefused(tx: Tx, pid: string): Promise<string | null> {
    if ((await store.identities.linksOf(tx, pid)).some((l) => l.kind === 'oidc')) return 'already_linked';
    if (await store.breakglass.isDesignated(tx, pid)) return 'link_refused_breakglass';
    if (isAdmin(deps, pid) || deps.index.eligibilitiesFor(pid, ADMIN_ROLE).length > 0) return 'link_refused_admin';
    return null;
  }

  /** A principal for a person the IdP vouches for: id from the preferred user name when it is free, else generated. */
  async function provision(tx: Tx, actor: Actor, claims: Record<string, unknown>, now: number): Promise<string> {
    const wanted = [claims.preferred_username, claims.email].find((v): v is string => typeof v === 'string');
    let id = wanted ? wanted.normalize('NFKC').trim().toLowerCase() : '';
    if (!ID_PATTERN.test(id) || RESERVED_PRINCIPAL_IDS.has(id) || (await store.principals.get(tx, id))) id = `u-${randomBytes(6).toString('hex')}`;
    const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : id;
    const email = typeof claims.email === 'string' && claims.email.includes('@') ? claims.email.slice(0, 320) : null;
    // The directory's one create path: validated, audited (principal.created, via oidc) and published.
    await directory.createPrincipal(tx, actor, { id, kind: 'user', name, email }, now, { audit: { via: 'oidc' } });
    return id;
  }
}
