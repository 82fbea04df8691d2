import { sql, type Selectable } from 'kysely';
import type {
  BreakglassRepo,
  BreakglassReview,
  Challenge,
  ChallengeRepo,
  IdentityRepo,
  LocalAccountRepo,
  MfaRepo,
  OutboxItem,
  OutboxRepo,
  ScimTokenRepo,
  SessionRepo,
  ThrottleRepo,
  WebauthnCredential,
} from '../app/ports.js';
import type { MfaEvidence, Session, SignInFacts } from '../core/identity.js';
import type { BreakglassReviewsTable, ChallengesTable, Dialect, OutboxTable, SessionsTable, WebauthnCredentialsTable } from './schema.js';
import { insertUnique, q } from './tx.js';

export function identityRepo(): IdentityRepo {
  return {
    async link(tx, kind, key, principalId, at) {
      await insertUnique(`${kind} identity`, key, () => q(tx).insertInto('identities').values({ kind, key, principal_id: principalId, created_at: at }).execute());
    },
    async resolve(tx, kind, key) {
      const r = await q(tx).selectFrom('identities').select('principal_id').where('kind', '=', kind).where('key', '=', key).executeTakeFirst();
      return r?.principal_id ?? null;
    },
    async unlink(tx, kind, key) {
      await q(tx).deleteFrom('identities').where('kind', '=', kind).where('key', '=', key).execute();
    },
    async linksOf(tx, principalId) {
      return q(tx).selectFrom('identities').select(['kind', 'key']).where('principal_id', '=', principalId).orderBy('kind').orderBy('key').execute();
    },
  };
}

export function localAccountRepo(): LocalAccountRepo {
  return {
    async get(tx, principalId) {
      const r = await q(tx).selectFrom('local_accounts').selectAll().where('principal_id', '=', principalId).executeTakeFirst();
      return r ? { passwordHash: r.password_hash, passwordChangedAt: r.password_changed_at } : null;
    },
    async put(tx, principalId, passwordHash, at) {
      await q(tx)
        .insertInto('local_accounts')
        .values({ principal_id: principalId, password_hash: passwordHash, password_changed_at: at })
        .onConflict((oc) => oc.column('principal_id').doUpdateSet({ password_hash: passwordHash, password_changed_at: at }))
        .execute();
    },
    async delete(tx, principalId) {
      await q(tx).deleteFrom('local_accounts').where('principal_id', '=', principalId).execute();
    },
  };
}

export function throttleRepo(dialect: Dialect): ThrottleRepo {
  return {
    async get(tx, key) {
      // FOR UPDATE cannot lock a row that does not exist yet: without this, parallel first attempts
      // all read "no failures" and overwrite each other's count. The lock is held until commit.
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('elevate_throttle:' || current_schema() || ':' || ${key}))`.execute(q(tx));
      const r = await q(tx)
        .selectFrom('throttles')
        .selectAll()
        .where('key', '=', key)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? { key: r.key, failures: r.failures, windowStartedAt: r.window_started_at, lockedUntil: r.locked_until } : null;
    },
    async put(tx, t) {
      const row = { key: t.key, failures: t.failures, window_started_at: t.windowStartedAt, locked_until: t.lockedUntil };
      await q(tx)
        .insertInto('throttles')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ failures: row.failures, window_started_at: row.window_started_at, locked_until: row.locked_until }))
        .execute();
    },
    async clear(tx, key) {
      await q(tx).deleteFrom('throttles').where('key', '=', key).execute();
    },
    async purge(tx, before, now) {
      const r = await q(tx)
        .deleteFrom('throttles')
        .where('window_started_at', '<', before)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

const toSession = (r: Selectable<SessionsTable>): Session => ({
  id: r.id,
  principalId: r.principal_id,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  facts: JSON.parse(r.facts) as SignInFacts,
  mfa: JSON.parse(r.mfa) as MfaEvidence[],
});

export function sessionRepo(dialect: Dialect): SessionRepo {
  return {
    async insert(tx, s) {
      await q(tx)
        .insertInto('sessions')
        .values({
          id: s.id,
          principal_id: s.principalId,
          created_at: s.createdAt,
          last_seen_at: s.lastSeenAt,
          expires_at: s.expiresAt,
          revoked_at: s.revokedAt,
          facts: JSON.stringify(s.facts),
          mfa: JSON.stringify(s.mfa),
        })
        .execute();
    },
    async get(tx, id, forUpdate) {
      const r = await q(tx)
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', id)
        .$if(forUpdate === true && dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toSession(r) : null;
    },
    async touch(tx, id, at) {
      await q(tx).updateTable('sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
    },
    async setMfa(tx, id, mfa) {
      await q(tx).updateTable('sessions').set({ mfa: JSON.stringify(mfa) }).where('id', '=', id).execute();
    },
    async revoke(tx, id, at) {
      await q(tx).updateTable('sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async purge(tx, before) {
      const r = await q(tx)
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async revokeAll(tx, principalId, at, exceptId) {
      const r = await q(tx)
        .updateTable('sessions')
        .set({ revoked_at: at })
        .where('principal_id', '=', principalId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .$if(typeof exceptId === 'string', (qb) => qb.where('id', '!=', exceptId!))
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
  };
}

const toWebauthn = (r: Selectable<WebauthnCredentialsTable>): WebauthnCredential => ({
  id: r.id,
  principalId: r.principal_id,
  publicKey: r.public_key,
  counter: r.counter,
  transports: JSON.parse(r.transports) as string[],
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export function mfaRepo(dialect: Dialect): MfaRepo {
  return {
    async totp(tx, principalId) {
      const r = await q(tx)
        .selectFrom('totp_factors')
        .selectAll()
        .where('principal_id', '=', principalId)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? { principalId: r.principal_id, secretSealed: r.secret_sealed, confirmedAt: r.confirmed_at, lastStep: r.last_step, createdAt: r.created_at } : null;
    },
    async putTotp(tx, f) {
      const row = { principal_id: f.principalId, secret_sealed: f.secretSealed, confirmed_at: f.confirmedAt, last_step: f.lastStep, created_at: f.createdAt };
      await q(tx)
        .insertInto('totp_factors')
        .values(row)
        .onConflict((oc) => oc.column('principal_id').doUpdateSet({ secret_sealed: row.secret_sealed, confirmed_at: row.confirmed_at, last_step: row.last_step, created_at: row.created_at }))
        .execute();
    },
    async deleteTotp(tx, principalId) {
      await q(tx).deleteFrom('totp_factors').where('principal_id', '=', principalId).execute();
    },
    async webauthnCredentials(tx, principalId) {
      const rows = await q(tx).selectFrom('webauthn_credentials').selectAll().where('principal_id', '=', principalId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toWebauthn);
    },
    async webauthnCredential(tx, id) {
      const r = await q(tx)
        .selectFrom('webauthn_credentials')
        .selectAll()
        .where('id', '=', id)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r ? toWebauthn(r) : null;
    },
    async insertWebauthn(tx, c) {
      await insertUnique('webauthn credential', c.id, () =>
        q(tx)
          .insertInto('webauthn_credentials')
          .values({
            id: c.id,
            principal_id: c.principalId,
            public_key: c.publicKey,
            counter: c.counter,
            transports: JSON.stringify(c.transports),
            name: c.name,
            created_at: c.createdAt,
            last_used_at: c.lastUsedAt,
          })
          .execute(),
      );
    },
    async updateWebauthn(tx, id, counter, lastUsedAt) {
      await q(tx).updateTable('webauthn_credentials').set({ counter, last_used_at: lastUsedAt }).where('id', '=', id).execute();
    },
    async deleteWebauthn(tx, id) {
      await q(tx).deleteFrom('webauthn_credentials').where('id', '=', id).execute();
    },
    async replaceRecoveryCodes(tx, principalId, hashes, at) {
      await q(tx).deleteFrom('recovery_codes').where('principal_id', '=', principalId).execute();
      if (hashes.length > 0) {
        await q(tx)
          .insertInto('recovery_codes')
          .values(hashes.map((h) => ({ principal_id: principalId, code_hash: h, created_at: at, used_at: null })))
          .execute();
      }
    },
    async useRecoveryCode(tx, principalId, hash, at) {
      const r = await q(tx)
        .updateTable('recovery_codes')
        .set({ used_at: at })
        .where('principal_id', '=', principalId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async unusedRecoveryCodes(tx, principalId) {
      const r = await q(tx)
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('principal_id', '=', principalId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

const toChallenge = (r: Selectable<ChallengesTable>): Challenge => ({
  id: r.id,
  kind: r.kind,
  principalId: r.principal_id,
  data: JSON.parse(r.data) as Record<string, unknown>,
  expiresAt: r.expires_at,
});

export function challengeRepo(dialect: Dialect): ChallengeRepo {
  return {
    async put(tx, c) {
      const row = { id: c.id, kind: c.kind, principal_id: c.principalId, data: JSON.stringify(c.data), expires_at: c.expiresAt };
      await q(tx)
        .insertInto('challenges')
        .values(row)
        .onConflict((oc) => oc.column('id').doUpdateSet({ kind: row.kind, principal_id: row.principal_id, data: row.data, expires_at: row.expires_at }))
        .execute();
    },
    async get(tx, id, kind, now) {
      const r = await q(tx)
        .selectFrom('challenges')
        .selectAll()
        .where('id', '=', id)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate())
        .executeTakeFirst();
      return r && r.kind === kind && r.expires_at > now ? toChallenge(r) : null;
    },
    async take(tx, id, kind, now) {
      const r = await q(tx).deleteFrom('challenges').where('id', '=', id).where('kind', '=', kind).returningAll().executeTakeFirst();
      return r && r.expires_at > now ? toChallenge(r) : null;
    },
    async purgeExpired(tx, now) {
      const r = await q(tx).deleteFrom('challenges').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

const toOutbox = (r: Selectable<OutboxTable>): OutboxItem => ({
  id: r.id,
  kind: r.kind,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  createdAt: r.created_at,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliveredAt: r.delivered_at,
  lastError: r.last_error,
});

export function outboxRepo(dialect: Dialect): OutboxRepo {
  return {
    async enqueue(tx, i) {
      await q(tx)
        .insertInto('outbox')
        .values({
          id: i.id,
          kind: i.kind,
          payload: JSON.stringify(i.payload),
          created_at: i.createdAt,
          attempts: i.attempts,
          next_attempt_at: i.nextAttemptAt,
          delivered_at: i.deliveredAt,
          last_error: i.lastError,
        })
        .execute();
    },
    async leaseDue(tx, now, limit) {
      const rows = await q(tx)
        .selectFrom('outbox')
        .selectAll()
        .where('delivered_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate().skipLocked())
        .execute();
      return rows.map(toOutbox);
    },
    async update(tx, i) {
      await q(tx)
        .updateTable('outbox')
        .set({ attempts: i.attempts, next_attempt_at: i.nextAttemptAt, delivered_at: i.deliveredAt, last_error: i.lastError })
        .where('id', '=', i.id)
        .execute();
    },
    async list(tx, f) {
      const rows = await q(tx)
        .selectFrom('outbox')
        .selectAll()
        .$if(f.kind !== undefined, (qb) => qb.where('kind', '=', f.kind!))
        .$if(f.undeliveredOnly === true, (qb) => qb.where('delivered_at', 'is', null))
        .orderBy('created_at')
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toOutbox);
    },
  };
}

const toReview = (r: Selectable<BreakglassReviewsTable>): BreakglassReview => ({
  id: r.id,
  assignmentId: r.assignment_id,
  principalId: r.principal_id,
  roleId: r.role_id,
  scope: r.scope,
  justification: r.justification,
  createdAt: r.created_at,
  status: r.status,
  closedBy: r.closed_by,
  closedAt: r.closed_at,
  note: r.note,
});

export function breakglassRepo(): BreakglassRepo {
  return {
    async designate(tx, principalId, by, at) {
      await q(tx)
        .insertInto('breakglass_accounts')
        .values({ principal_id: principalId, created_by: by, created_at: at })
        .onConflict((oc) => oc.column('principal_id').doNothing())
        .execute();
    },
    async undesignate(tx, principalId) {
      await q(tx).deleteFrom('breakglass_accounts').where('principal_id', '=', principalId).execute();
    },
    async isDesignated(tx, principalId) {
      return (await q(tx).selectFrom('breakglass_accounts').select('principal_id').where('principal_id', '=', principalId).executeTakeFirst()) !== undefined;
    },
    async accounts(tx) {
      const rows = await q(tx).selectFrom('breakglass_accounts').selectAll().orderBy('principal_id').execute();
      return rows.map((r) => ({ principalId: r.principal_id, createdBy: r.created_by, createdAt: r.created_at }));
    },
    async insertReview(tx, r) {
      await q(tx)
        .insertInto('breakglass_reviews')
        .values({
          id: r.id,
          assignment_id: r.assignmentId,
          principal_id: r.principalId,
          role_id: r.roleId,
          scope: r.scope,
          justification: r.justification,
          created_at: r.createdAt,
          status: r.status,
          closed_by: r.closedBy,
          closed_at: r.closedAt,
          note: r.note,
        })
        .execute();
    },
    async review(tx, id) {
      const r = await q(tx).selectFrom('breakglass_reviews').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toReview(r) : null;
    },
    async updateReview(tx, r) {
      await q(tx).updateTable('breakglass_reviews').set({ status: r.status, closed_by: r.closedBy, closed_at: r.closedAt, note: r.note }).where('id', '=', r.id).execute();
    },
    async reviews(tx, f) {
      const rows = await q(tx)
        .selectFrom('breakglass_reviews')
        .selectAll()
        .$if(f.status !== undefined, (qb) => qb.where('status', '=', f.status!))
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(f.limit)
        .execute();
      return rows.map(toReview);
    },
  };
}

export function scimTokenRepo(): ScimTokenRepo {
  return {
    async insert(tx, t) {
      await q(tx)
        .insertInto('scim_tokens')
        .values({ id: t.id, name: t.name, hash: t.hash, created_by: t.createdBy, created_at: t.createdAt, revoked_at: t.revokedAt })
        .execute();
    },
    async byHash(tx, hash) {
      const r = await q(tx).selectFrom('scim_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return r ? { id: r.id, name: r.name, hash: r.hash, createdBy: r.created_by, createdAt: r.created_at, revokedAt: r.revoked_at } : null;
    },
    async list(tx) {
      const rows = await q(tx).selectFrom('scim_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, hash: r.hash, createdBy: r.created_by, createdAt: r.created_at, revokedAt: r.revoked_at }));
    },
    async revoke(tx, id, at) {
      await q(tx).updateTable('scim_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
  };
}
