import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { IndexSink } from '../app/ports.js';
import type { AssignmentSource, AssignmentStatus } from '../core/model.js';
import { toAssignment, toEligibility } from './repos.js';
import type { AssignmentsTable, DB, EligibilitiesTable, PrincipalsTable } from './schema.js';

/** Groups arrive ordered by group id; hand each group's members to the sink in one call. */
function memberGrouper(sink: IndexSink) {
  let group: string | null = null;
  let members: string[] = [];
  return {
    push(groupId: string, memberId: string) {
      if (groupId !== group) {
        if (group !== null) sink.members(group, members);
        group = groupId;
        members = [];
      }
      members.push(memberId);
    },
    flush() {
      if (group !== null) sink.members(group, members);
      group = null;
    },
  };
}

const ELIGIBILITY_COLUMNS = 'id, principal_id, role_id, scope, starts_at, ends_at, justification, created_by, created_at, removed_at';
type EligibilityArray = [string, string, string, string, number, number | null, string, string, number, number | null];
const ASSIGNMENT_COLUMNS = 'id, principal_id, role_id, scope, source, request_id, starts_at, ends_at, status, justification, created_by, created_at, ended_at';
type AssignmentArray = [string, string, string, string, AssignmentSource, string | null, number, number | null, AssignmentStatus, string, string, number, number | null];

type PrincipalHead = Pick<Selectable<PrincipalsTable>, 'id' | 'kind' | 'status'>;

/**
 * SQLite: iterate the raw driver in one synchronous pass. Holding Kysely's single connection
 * while doing so means no transaction is half-way through, so the index sees committed state.
 */
export async function loadIndexSqlite(db: Kysely<DB>, raw: BetterSqlite3.Database, sink: IndexSink): Promise<void> {
  await db.connection().execute(async () => {
    for (const r of raw.prepare<[], PrincipalHead>('select id, kind, status from principals').iterate()) sink.principal(r.id, r.kind, r.status);
    for (const r of raw.prepare<[], { id: string }>('select id from roles').iterate()) sink.role(r.id);
    const groups = memberGrouper(sink);
    for (const r of raw.prepare<[], { group_id: string; member_id: string }>('select group_id, member_id from group_members order by group_id, member_id').iterate()) {
      groups.push(r.group_id, r.member_id);
    }
    groups.flush();
    // The two big tables are read as arrays: no intermediate row object per row.
    const elig = raw.prepare<[], EligibilityArray>(`select ${ELIGIBILITY_COLUMNS} from eligibilities where removed_at is null`).raw(true);
    for (const r of elig.iterate()) {
      sink.eligibility({ id: r[0], principalId: r[1], roleId: r[2], scope: r[3], startsAt: r[4], endsAt: r[5], justification: r[6], createdBy: r[7], createdAt: r[8], removedAt: r[9] });
    }
    const live = raw.prepare<[], AssignmentArray>(`select ${ASSIGNMENT_COLUMNS} from assignments where status in ('active', 'scheduled')`).raw(true);
    for (const r of live.iterate()) {
      sink.assignment({
        id: r[0],
        principalId: r[1],
        roleId: r[2],
        scope: r[3],
        source: r[4],
        requestId: r[5],
        startsAt: r[6],
        endsAt: r[7],
        status: r[8],
        justification: r[9],
        createdBy: r[10],
        createdAt: r[11],
        endedAt: r[12],
      });
    }
  });
}

/**
 * PostgreSQL: one read-only REPEATABLE READ transaction, so everything comes from one snapshot
 * (start listening for changes before loading and nothing falls in between). Each table is read
 * through a server-side cursor in batches: one scan per table, whatever the planner statistics.
 */
export async function loadIndexPostgres(db: Kysely<DB>, sink: IndexSink, batch = 20_000): Promise<void> {
  await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const each = async <R>(name: string, query: RawBuilder<unknown>, fn: (r: R) => void) => {
        await sql`declare ${sql.id(name)} no scroll cursor for ${query}`.execute(trx);
        for (;;) {
          const { rows } = await sql<R>`fetch forward ${sql.lit(batch)} from ${sql.id(name)}`.execute(trx);
          for (const r of rows) fn(r);
          if (rows.length < batch) break;
        }
        await sql`close ${sql.id(name)}`.execute(trx);
      };
      await each<PrincipalHead>('principals_cur', sql`select id, kind, status from principals`, (r) => sink.principal(r.id, r.kind, r.status));
      await each<{ id: string }>('roles_cur', sql`select id from roles`, (r) => sink.role(r.id));
      const groups = memberGrouper(sink);
      await each<{ group_id: string; member_id: string }>('members_cur', sql`select group_id, member_id from group_members order by group_id, member_id`, (r) =>
        groups.push(r.group_id, r.member_id),
      );
      groups.flush();
      await each<Selectable<EligibilitiesTable>>('eligibilities_cur', sql`select * from eligibilities where removed_at is null`, (r) => sink.eligibility(toEligibility(r)));
      await each<Selectable<AssignmentsTable>>('assignments_cur', sql`select * from assignments where status in ('active', 'scheduled')`, (r) => sink.assignment(toAssignment(r)));
    });
}
