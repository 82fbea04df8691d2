import { sql, type Kysely, type Transaction } from 'kysely';
import { GENESIS_HASH } from '../core/audit.js';
import type { DB, Dialect } from './schema.js';
import { alertsMigration } from './alerts-schema.js';
import { inventoryMigration } from './inventory-schema.js';
import { reviewsMigration } from './reviews-schema.js';
import { siemMigration } from './siem-schema.js';

/**
 * One migration set for both dialects. Each migration runs in the transaction that records it
 * (DDL is transactional on SQLite and PostgreSQL); on PostgreSQL an advisory lock per schema makes
 * nodes starting together take turns.
 */
interface Migration {
  name: string;
  up(db: Transaction<DB>, dialect: Dialect): Promise<void>;
}

const MIGRATIONS: Migration[] = [
  {
    name: '0001_init',
    async up(db, dialect) {
      const s = db.schema;
      await s
        .createTable('principals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('manager_id', 'text')
        .addColumn('admin_unit', 'text')
        .addColumn('attributes', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('principals_kind').on('principals').columns(['kind', 'id']).execute();

      await s
        .createTable('group_members')
        .addColumn('group_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
        .addColumn('member_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'member_id'])
        .execute();
      await s.createIndex('group_members_member').on('group_members').column('member_id').execute();

      await s
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await s.createIndex('api_tokens_principal').on('api_tokens').column('principal_id').execute();

      await s
        .createTable('roles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('risk_tier', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('builtin', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await s
        .createTable('eligibilities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint')
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('removed_at', 'bigint')
        .execute();
      await s.createIndex('eligibilities_principal').on('eligibilities').columns(['principal_id', 'id']).execute();
      await s.createIndex('eligibilities_role').on('eligibilities').columns(['role_id', 'id']).execute();

      await s
        .createTable('assignments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      await s.createIndex('assignments_status_ends').on('assignments').columns(['status', 'ends_at']).execute();
      await s.createIndex('assignments_status_starts').on('assignments').columns(['status', 'starts_at']).execute();
      await s.createIndex('assignments_principal').on('assignments').columns(['principal_id', 'id']).execute();
      await s.createIndex('assignments_role').on('assignments').columns(['role_id', 'id']).execute();

      await s
        .createTable('requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('ticket', 'text')
        .addColumn('start_at', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stage', 'integer', (c) => c.notNull())
        .addColumn('timeout_at', 'bigint')
        .addColumn('assignment_id', 'text')
        .addColumn('eligibility_id', 'text')
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('idempotency_key', 'text')
        .addColumn('fingerprint', 'text')
        .execute();
      await s
        .createIndex('requests_idempotency')
        .on('requests')
        .columns(['principal_id', 'idempotency_key'])
        .unique()
        .where(sql.ref('idempotency_key'), 'is not', null)
        .execute();
      await s.createIndex('requests_status_timeout').on('requests').columns(['status', 'timeout_at']).execute();
      await s.createIndex('requests_assignment').on('requests').column('assignment_id').execute();
      await s.createIndex('requests_principal').on('requests').columns(['principal_id', 'id']).execute();

      await s
        .createTable('approvals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull().references('requests.id').onDelete('cascade'))
        .addColumn('approver_id', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('stage', 'integer', (c) => c.notNull())
        .addColumn('admin_unit', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('approvals_request').on('approvals').column('request_id').execute();

      // On SQLite an INTEGER PRIMARY KEY is the rowid itself: the cheapest ordered key there is.
      await s
        .createTable('audit_events')
        .addColumn('seq', dialect === 'sqlite' ? 'integer' : 'bigint', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('principal_id', 'text')
        .addColumn('role_id', 'text')
        .addColumn('scope', 'text')
        .addColumn('request_id', 'text')
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('audit_events_type').on('audit_events').columns(['type', 'seq']).execute();
      await s.createIndex('audit_events_principal').on('audit_events').columns(['principal_id', 'seq']).execute();
      await s.createIndex('audit_events_ts').on('audit_events').column('ts').execute();

      await s
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();

      await s
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .execute();

      await s
        .createTable('audit_keys')
        .addColumn('key_id', 'text', (c) => c.primaryKey())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  {
    // A principal's grants of one role: activation merges and admin listings look them up by both.
    name: '0002_assignments_principal_role',
    async up(db) {
      await db.schema.createIndex('assignments_principal_role').on('assignments').columns(['principal_id', 'role_id', 'id']).execute();
    },
  },
  {
    name: '0003_identity',
    async up(db) {
      const s = db.schema;
      const principal = (c: Parameters<Parameters<ReturnType<typeof s.createTable>['addColumn']>[2] & object>[0]) =>
        c.notNull().references('principals.id').onDelete('cascade');
      await s
        .createTable('identities')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', principal)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('identities_pk', ['kind', 'key'])
        .execute();
      await s.createIndex('identities_principal').on('identities').column('principal_id').execute();
      await s
        .createTable('local_accounts')
        .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id').onDelete('cascade'))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createTable('throttles')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_at', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .execute();
      await s
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', principal)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('facts', 'text', (c) => c.notNull())
        .addColumn('mfa', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('sessions_principal').on('sessions').column('principal_id').execute();
      await s
        .createTable('totp_factors')
        .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id').onDelete('cascade'))
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('confirmed_at', 'bigint')
        .addColumn('last_step', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createTable('webauthn_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', principal)
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await s.createIndex('webauthn_credentials_principal').on('webauthn_credentials').column('principal_id').execute();
      await s
        .createTable('recovery_codes')
        .addColumn('principal_id', 'text', principal)
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addPrimaryKeyConstraint('recovery_codes_pk', ['principal_id', 'code_hash'])
        .execute();
      await s
        .createTable('challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('challenges_expiry').on('challenges').column('expires_at').execute();
      await s
        .createTable('outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addColumn('last_error', 'text')
        .execute();
      await s.createIndex('outbox_due').on('outbox').columns(['delivered_at', 'next_attempt_at']).execute();
      await s
        .createTable('breakglass_accounts')
        .addColumn('principal_id', 'text', (c) => c.primaryKey().references('principals.id').onDelete('cascade'))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createTable('breakglass_reviews')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('assignment_id', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('closed_by', 'text')
        .addColumn('closed_at', 'bigint')
        .addColumn('note', 'text')
        .execute();
      await s
        .createTable('scim_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
    },
  },
  {
    name: '0004_eligibility_renewals',
    async up(db) {
      const s = db.schema;
      await s
        .createTable('eligibility_renewals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('eligibility_id', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .addColumn('reason', 'text')
        .execute();
      // One pending renewal per eligibility, also when two requests race.
      await s.createIndex('eligibility_renewals_one_pending').on('eligibility_renewals').column('eligibility_id').unique().where(sql<boolean>`status = 'pending'`).execute();
      await s.createIndex('eligibility_renewals_status').on('eligibility_renewals').columns(['status', 'id']).execute();
      await s.createIndex('eligibility_renewals_principal').on('eligibility_renewals').columns(['principal_id', 'id']).execute();
    },
  },
  // Governance (issue 5): each part owns its tables in its own file.
  { name: '0005_reviews', up: (db, dialect) => reviewsMigration(db as never, dialect) },
  { name: '0006_alerts', up: (db, dialect) => alertsMigration(db as never, dialect) },
  { name: '0007_siem', up: (db, dialect) => siemMigration(db as never, dialect) },
  { name: '0008_inventory', up: (db, dialect) => inventoryMigration(db as never, dialect) },
];

/** Bring the schema up to date. Returns the names of the migrations it applied. */
export async function migrate(db: Kysely<DB>, dialect: Dialect): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('elevate_migrate:' || current_schema()))`.execute(trx);
    await trx.schema
      .createTable('elevate_migrations')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const done = new Set((await trx.selectFrom('elevate_migrations').select('name').execute()).map((r) => r.name));
    const applied: string[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      await m.up(trx, dialect);
      await trx.insertInto('elevate_migrations').values({ name: m.name, applied_at: Date.now() }).execute();
      applied.push(m.name);
    }
    return applied;
  });
}
