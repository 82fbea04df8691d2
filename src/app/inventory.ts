import { createHash } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { Conflict, DomainError, Invalid, NotFound } from '../core/errors.js';
import { normalizeId, parseId } from '../core/ids.js';
import type { Assignment, Eligibility, Role } from '../core/model.js';
import { parseScope } from '../core/scope.js';
import { nearestRank } from '../core/stats.js';
import { convertToEligibleInTx } from './assignments.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { CheckTap } from './check-tap.js';
import type { Actor, AppDeps } from './context.js';
import type { ImportedStanding, RolloutMode, StandingUseRow } from './inventory-ports.js';
import type { Tx } from './ports.js';
import { settingsOf } from './roles.js';
import { checkAdminGrant } from './standing.js';

/**
 * Standing-access inventory and per-role rollout (issue 5 part 2): the road from standing access to
 * just-in-time access.
 *
 * - Inventory: live direct assignments in Elevate (permanent first) plus rows imported from other
 *   systems (CSV or JSON). Re-importing a system replaces every row that system said before
 *   (converted rows included: their conversion stays in the audit trail and as the eligibility);
 *   importing a system with no rows (a header only, or []) clears it.
 * - Rollout per role: `none` (default), `awareness` (standing grants stay as a fallback and every
 *   allowed check answered by one is counted), `enforced` (no new direct assignments, break-glass
 *   aside; existing ones are flagged).
 * - Use counting runs on the decision point's hot path: one Set lookup, one index map lookup and
 *   one Map update per allowed check; `flushUse` (a job) writes the counts per assignment and day.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

const DAY = 86_400_000;
export const MAX_IMPORT_ROWS = 10_000;
export const MAX_IMPORT_CHARS = 4_000_000;
const MAX_CONVERT = 500;
const MODES_REFRESH_MS = 30_000;

export interface StandingItem {
  id: string;
  source: 'elevate' | 'import';
  system: string;
  principalId: string | null;
  principalName: string;
  roleId: string | null;
  privilege: string;
  scope: string;
  since: number | null;
  lastUsedAt: number | null;
  justification: string;
  flagged: boolean;
  flagReason: string | null;
  convertible: boolean;
}

export interface RolloutItem {
  roleId: string;
  roleName: string;
  riskTier: Role['riskTier'];
  mode: RolloutMode;
  changedAt: number | null;
  changedBy: string | null;
  standingHolders: number;
  eligibleHolders: number;
  flagged: number;
  readiness: { activations30d: number; approvalMedianMs: number | null; approvalP90Ms: number | null; fallbackUses30d: number };
}

export interface ImportInput {
  system: string;
  format: 'csv' | 'json';
  data: string;
}

interface UseEntry {
  assignmentId: string;
  roleId: string;
  principalId: string;
  day: number;
  uses: number;
  last: number;
}

const MODES: readonly RolloutMode[] = ['none', 'awareness', 'enforced'];
const SYSTEM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$/;
/** Control characters other than tab and newlines (a hostile import must not smuggle them into pages and CSV). */
const hasControl = (s: string) => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 127) return true;
  }
  return false;
};


const bad = (line: number | null, field: string | null, reason: string, message: string, extra: Record<string, unknown> = {}) =>
  new Invalid('invalid_import', line === null ? message : `line ${line}${field ? `, ${field}` : ''}: ${message}`, { line, field, reason, ...extra });

interface RawRow {
  line: number;
  principal: unknown;
  privilege: unknown;
  scope: unknown;
  since: unknown;
  last_used: unknown;
  justification: unknown;
  role: unknown;
}

const HEADER_REQUIRED = ['principal', 'privilege', 'scope', 'since', 'last_used', 'justification'] as const;
const HEADER_KNOWN = new Set<string>([...HEADER_REQUIRED, 'role']);

/** Parse the file into raw rows with their line numbers (CSV: the file's line, header = 1; JSON: the item number). */
function rawRows(format: 'csv' | 'json', data: string): RawRow[] {
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(data);
    } catch (e) {
      throw bad(null, null, 'json_syntax', `not valid JSON: ${(e as Error).message.slice(0, 200)}`, { line: null });
    }
    if (!Array.isArray(doc)) throw bad(null, null, 'json_not_array', 'a JSON import is an array of objects');
    if (doc.length > MAX_IMPORT_ROWS) throw bad(MAX_IMPORT_ROWS + 1, null, 'too_many_rows', `at most ${MAX_IMPORT_ROWS} rows per import`);
    return doc.map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad(i + 1, null, 'not_an_object', 'each item is an object');
      const o = x as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (!HEADER_KNOWN.has(k) && k !== 'lastUsed') throw bad(i + 1, k, 'unknown_field', `unknown field ${JSON.stringify(k).slice(0, 80)}`);
      }
      return { line: i + 1, principal: o.principal, privilege: o.privilege, scope: o.scope, since: o.since, last_used: o.last_used ?? o.lastUsed, justification: o.justification, role: o.role };
    });
  }
  let header: string[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(data, {
      bom: true,
      columns: (h: string[]) => (header = h.map((c) => c.trim().toLowerCase())),
      skip_empty_lines: true,
      // A row may leave out trailing empty columns (the optional role); more columns than the header is an error.
      relax_column_count_less: true,
      trim: true,
      info: true,
      max_record_size: 64 * 1024,
      to: MAX_IMPORT_ROWS + 1,
    }) as { record: Record<string, string>; info: { lines: number } }[];
  } catch (e) {
    const line = typeof (e as { lines?: unknown }).lines === 'number' ? (e as { lines: number }).lines : null;
    throw bad(line, null, 'csv_syntax', `not valid CSV: ${(e as Error).message.slice(0, 200)}`);
  }
  for (const h of HEADER_REQUIRED) if (!header.includes(h)) throw bad(1, h, 'missing_column', `the header row lacks the column ${h} (columns: principal,privilege,scope,since,last_used,justification[,role])`);
  for (const h of header) if (!HEADER_KNOWN.has(h)) throw bad(1, h, 'unknown_column', `unknown column ${JSON.stringify(h).slice(0, 80)}`);
  if (records.length > MAX_IMPORT_ROWS) throw bad(records[MAX_IMPORT_ROWS]!.info.lines, null, 'too_many_rows', `at most ${MAX_IMPORT_ROWS} rows per import`);
  return records.map(({ record: r, info }) => ({
    line: info.lines,
    principal: r.principal,
    privilege: r.privilege,
    scope: r.scope,
    since: r.since,
    last_used: r.last_used,
    justification: r.justification,
    role: r.role === '' ? undefined : r.role,
  }));
}

function text(v: unknown, line: number, field: string, max: number, required: boolean): string {
  if (v === undefined || v === null) {
    if (required) throw bad(line, field, 'required', `${field} is required`);
    return '';
  }
  if (typeof v !== 'string') throw bad(line, field, 'not_a_string', `${field} must be text`);
  const s = v.trim();
  if (required && !s) throw bad(line, field, 'required', `${field} is required`);
  if (s.length > max) throw bad(line, field, 'too_long', `${field} is longer than ${max} characters`);
  if (hasControl(s)) throw bad(line, field, 'control_characters', `${field} contains control characters`);
  return s;
}

function time(v: unknown, line: number, field: string, now: number): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw bad(line, field, 'not_a_date', `${field} must be an ISO 8601 date or date-time`);
  const s = v.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) throw bad(line, field, 'not_a_date', `${field} must be an ISO 8601 date or date-time (got ${JSON.stringify(s).slice(0, 40)})`);
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw bad(line, field, 'not_a_date', `${field} is not a real date`);
  if (t > now + DAY) throw bad(line, field, 'in_future', `${field} is in the future`);
  return t;
}

export function makeInventory(deps: Deps, tap: CheckTap) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };

  // ---- fallback-use counting (hot path) -------------------------------------------------------
  /** Roles in awareness mode, as this node last saw them; null until first read (then every direct use is counted and filtered at flush). */
  let aware: Set<string> | null = null;
  let modesReadAt = -Infinity;
  let modesVersion = 0;
  let pending = new Map<string, UseEntry>();
  /** Entries of an earlier day for an assignment used again on a new day (rare), kept until the next flush. */
  let spill: UseEntry[] = [];

  tap.on((principalId, roleId, _scope, at, d) => {
    if (!d.allowed) return;
    if (aware !== null && !aware.has(roleId)) return;
    const id = d.assignmentId!;
    if (index.sourceOf(id) !== 'direct') return;
    const day = at - (at % DAY);
    const e = pending.get(id);
    if (e !== undefined && e.day === day) {
      e.uses++;
      if (at > e.last) e.last = at;
      return;
    }
    if (e !== undefined) spill.push(e);
    pending.set(id, { assignmentId: id, roleId, principalId: d.via ?? principalId, day, uses: 1, last: at });
  });

  /** This node's counts not yet written, summed per (assignment, day). */
  const unwritten = (): Map<string, UseEntry> => {
    const m = new Map<string, UseEntry>();
    for (const e of [...spill, ...pending.values()]) {
      const k = `${e.assignmentId}@${e.day}`;
      const prev = m.get(k);
      if (prev) {
        prev.uses += e.uses;
        prev.last = Math.max(prev.last, e.last);
      } else m.set(k, { ...e });
    }
    return m;
  };

  // ---- reads ---------------------------------------------------------------------------------
  async function itemsInTx(tx: Tx, f: { roleId?: string; source?: 'elevate' | 'import'; system?: string }): Promise<StandingItem[]> {
    const modes = new Map((await store.inventory.rollouts(tx)).map((r) => [r.roleId, r.mode]));
    const roles = new Map((await store.roles.list(tx)).map((r) => [r.id, r]));
    const out: StandingItem[] = [];
    const enforced = (roleId: string | null) => roleId !== null && modes.get(roleId) === 'enforced';
    if (f.source !== 'import' && (f.system === undefined || f.system === 'elevate')) {
      const live = await store.inventory.standingAssignments(tx, { roleId: f.roleId });
      // Permanent first (the seeds' main pitfall), then the oldest.
      live.sort((a, b) => (a.endsAt === null ? 0 : 1) - (b.endsAt === null ? 0 : 1) || a.startsAt - b.startsAt || (a.id < b.id ? -1 : 1));
      const names = await store.inventory.principalNames(tx, live.map((a) => a.principalId));
      const last = await store.inventory.lastUse(tx, live.map((a) => a.id));
      for (const e of unwritten().values()) last.set(e.assignmentId, Math.max(last.get(e.assignmentId) ?? 0, e.last));
      for (const a of live) {
        const flagged = enforced(a.roleId);
        out.push({
          id: a.id, source: 'elevate', system: 'elevate', principalId: a.principalId, principalName: names.get(a.principalId) ?? a.principalId,
          roleId: a.roleId, privilege: roles.get(a.roleId)?.name ?? a.roleId, scope: a.scope, since: a.startsAt, lastUsedAt: last.get(a.id) ?? null,
          justification: a.justification, flagged, flagReason: flagged ? 'rollout_enforced' : null, convertible: true,
        });
      }
    }
    if (f.source !== 'elevate') {
      let rows = await store.inventory.imports(tx, { roleId: f.roleId });
      if (f.system !== undefined) rows = rows.filter((r) => r.system === f.system);
      const known = await store.inventory.principalNames(tx, rows.flatMap((r) => (r.principalId ? [r.principalId] : [])));
      for (const r of rows) {
        const roleId = r.roleId !== null && roles.has(r.roleId) ? r.roleId : null;
        const principalId = r.principalId !== null && known.has(r.principalId) ? r.principalId : null;
        const flagged = enforced(roleId);
        out.push({
          id: r.id, source: 'import', system: r.system, principalId, principalName: principalId ? (known.get(principalId) ?? r.principalName) : r.principalName,
          roleId, privilege: r.privilege, scope: r.scope, since: r.since, lastUsedAt: r.lastUsedAt, justification: r.justification,
          flagged, flagReason: flagged ? 'rollout_enforced' : null, convertible: roleId !== null && principalId !== null,
        });
      }
    }
    return out;
  }

  async function rolloutInTx(tx: Tx, onlyRole?: string): Promise<RolloutItem[]> {
    const now = clock.now();
    const since = now - 30 * DAY;
    const roles = (await store.roles.list(tx)).filter((r) => onlyRole === undefined || r.id === onlyRole);
    const modes = new Map((await store.inventory.rollouts(tx)).map((r) => [r.roleId, r]));
    const facts = await store.inventory.readiness(tx, since, now);
    const direct = await store.inventory.standingAssignments(tx, { roleId: onlyRole });
    const imported = await store.inventory.imports(tx, { roleId: onlyRole });
    const count = (xs: { roleId: string; count: number }[]) => new Map(xs.map((x) => [x.roleId, x.count]));
    const activations = count(facts.activations);
    const standing = count(facts.standingHolders);
    const eligible = count(facts.eligibleHolders);
    const uses = new Map(facts.fallbackUses.map((x) => [x.roleId, x.uses]));
    for (const e of unwritten().values()) {
      if (e.day >= since - (since % DAY) && modes.get(e.roleId)?.mode === 'awareness') uses.set(e.roleId, (uses.get(e.roleId) ?? 0) + e.uses);
    }
    const waits = new Map<string, number[]>();
    for (const a of facts.approvals) {
      const l = waits.get(a.roleId) ?? [];
      l.push(a.approvedAt - a.requestedAt);
      waits.set(a.roleId, l);
    }
    return roles.map((r) => {
      const m = modes.get(r.id);
      const mode = m?.mode ?? 'none';
      const w = (waits.get(r.id) ?? []).sort((x, y) => x - y);
      const flagged = mode === 'enforced' ? direct.filter((a) => a.roleId === r.id).length + imported.filter((x) => x.roleId === r.id).length : 0;
      return {
        roleId: r.id, roleName: r.name, riskTier: r.riskTier, mode, changedAt: m?.changedAt ?? null, changedBy: m?.changedBy ?? null,
        standingHolders: standing.get(r.id) ?? 0, eligibleHolders: eligible.get(r.id) ?? 0, flagged,
        readiness: { activations30d: activations.get(r.id) ?? 0, approvalMedianMs: nearestRank(w, 0.5), approvalP90Ms: nearestRank(w, 0.9), fallbackUses30d: uses.get(r.id) ?? 0 },
      };
    });
  }

  /** Make `principalId` eligible for the imported row's role at its scope (or keep the eligibility already there), in the caller's transaction. */
  async function eligibilityFor(tx: Tx, actor: Actor, row: ImportedStanding, now: number, days: number | undefined): Promise<{ e: Eligibility; created: boolean }> {
    const roleId = row.roleId!;
    const principalId = row.principalId!;
    const role = await store.roles.get(tx, roleId);
    if (!role) throw new Conflict('not_convertible', `role ${roleId} no longer exists`, { id: row.id });
    const same = await store.eligibilities.list(tx, { principalIds: [principalId], roleId, limit: 10_000 });
    const existing = same.find((x) => x.scope === row.scope && (x.endsAt === null || x.endsAt > now));
    if (existing) return { e: existing, created: false };
    const rule = settingsOf(role).eligibility;
    const endsAt = days !== undefined ? now + days * DAY : rule.allowPermanent || rule.maxDurationMs === null ? null : now + rule.maxDurationMs;
    await checkAdminGrant(store, tx, { principalId, roleId, startsAt: now, endsAt, now }, 'eligibility');
    const justification = row.justification || `converted from standing access imported from ${row.system}`;
    const e: Eligibility = { id: deps.newId(), principalId, roleId, scope: row.scope, startsAt: now, endsAt, justification, createdBy: actor.principalId, createdAt: now, removedAt: null };
    await store.eligibilities.insert(tx, e);
    await writeAudit(audit, tx, now, actor, { principalId, roleId, scope: row.scope }, [
      draft('eligibility.created', 'info', { eligibilityId: e.id, startsAt: now, endsAt, justification, importedFrom: { system: row.system, id: row.id } }),
    ]);
    await store.changes.publish(tx, { kind: 'eligibility', id: e.id });
    tx.afterCommit(() => index.upsertEligibility(e));
    return { e, created: true };
  }

  return {
    /** Admins: every piece of standing access, in Elevate and (imported) elsewhere. */
    async list(actor: Actor, f: { roleId?: string; source?: 'elevate' | 'import' }): Promise<StandingItem[]> {
      await requireAdmin(deps, actor, 'standing.list');
      const roleId = f.roleId ? normalizeId(f.roleId) : undefined;
      return store.transaction((tx) => itemsInTx(tx, { roleId, source: f.source }));
    },

    /**
     * Import what one system says about standing access (CSV with a header row, or a JSON array).
     * Every row is validated before anything is written (400 invalid_import naming the line and
     * field); the system's earlier rows are replaced. Principals are matched by Elevate id or email.
     */
    async import(actor: Actor, input: ImportInput): Promise<{ imported: number; items: StandingItem[] }> {
      await requireAdmin(deps, actor, 'standing.import');
      const system = (input.system ?? '').trim();
      if (!SYSTEM_PATTERN.test(system)) throw new Invalid('invalid_request', 'system must be 1-64 characters of letters, digits, space . _ : / - (the name of the system the rows describe)', { field: 'system' });
      if (system.toLowerCase() === 'elevate') throw new Invalid('invalid_request', '"elevate" names Elevate\'s own direct assignments; give the other system\'s name', { field: 'system' });
      if (input.format !== 'csv' && input.format !== 'json') throw new Invalid('invalid_request', 'format is csv or json', { field: 'format' });
      if (typeof input.data !== 'string' || input.data.length > MAX_IMPORT_CHARS) throw new Invalid('invalid_request', `data is at most ${MAX_IMPORT_CHARS} characters`, { field: 'data' });
      const now = clock.now();
      const raw = rawRows(input.format, input.data);
      const parsed = raw.map((r) => {
        const principal = text(r.principal, r.line, 'principal', 200, true);
        const privilege = text(r.privilege, r.line, 'privilege', 200, true);
        const scope = text(r.scope, r.line, 'scope', 512, true);
        const since = time(r.since, r.line, 'since', now);
        const lastUsedAt = time(r.last_used, r.line, 'last_used', now);
        const justification = text(r.justification, r.line, 'justification', 1000, false);
        const roleRaw = text(r.role, r.line, 'role', 128, false);
        let roleId: string | null = null;
        if (roleRaw) {
          try {
            roleId = parseId(roleRaw, 'role');
          } catch {
            throw bad(r.line, 'role', 'invalid_role', 'role is an Elevate role id');
          }
          try {
            parseScope(scope);
          } catch {
            throw bad(r.line, 'scope', 'invalid_scope', 'a row mapped to an Elevate role needs an Elevate scope ("/" or a path like /prod/payments)');
          }
        }
        return { line: r.line, principal, privilege, scope, since, lastUsedAt, justification, roleId };
      });
      const seen = new Map<string, number>();
      for (const p of parsed) {
        const k = JSON.stringify([p.principal.toLowerCase(), p.privilege, p.scope]);
        const first = seen.get(k);
        if (first !== undefined) throw bad(p.line, null, 'duplicate', `the same principal, privilege and scope as line ${first}`, { duplicateOf: first });
        seen.set(k, p.line);
      }
      const digest = createHash('sha256').update(input.data).digest('hex');
      return store.transaction(async (tx) => {
        const roles = new Set((await store.roles.list(tx)).map((r) => r.id));
        for (const p of parsed) if (p.roleId !== null && !roles.has(p.roleId)) throw bad(p.line, 'role', 'unknown_role', `role ${p.roleId} does not exist in Elevate`);
        const keys = [...new Set(parsed.map((p) => normalizeId(p.principal)))];
        const found = await store.inventory.principalsByKey(tx, keys);
        const byId = new Map(found.map((x) => [x.id, x.id]));
        const byEmail = new Map(found.flatMap((x) => (x.email ? [[x.email.toLowerCase(), x.id] as const] : [])));
        const rows: ImportedStanding[] = parsed.map((p) => {
          const k = normalizeId(p.principal);
          return {
            id: deps.newId(), system, line: p.line, principalId: byId.get(k) ?? byEmail.get(k) ?? null, principalName: p.principal, privilege: p.privilege, scope: p.scope,
            since: p.since, lastUsedAt: p.lastUsedAt, justification: p.justification, roleId: p.roleId, importedAt: now, importedBy: actor.principalId, convertedAt: null, eligibilityId: null,
          };
        });
        const replaced = await store.inventory.replaceImports(tx, system, rows);
        await writeAudit(audit, tx, now, actor, {}, [
          draft('standing.imported', 'info', {
            system, format: input.format, imported: rows.length, replaced, sha256: digest,
            matchedPrincipals: rows.filter((r) => r.principalId !== null).length, mappedToRoles: rows.filter((r) => r.roleId !== null).length,
          }),
        ]);
        return { imported: rows.length, items: await itemsInTx(tx, { source: 'import', system }) };
      });
    },

    /**
     * Convert standing access to eligibility, all or nothing, in one transaction: direct assignments
     * through the same path as POST /assignments/{id}/convert-to-eligible; imported rows with a role
     * mapping and a known principal become an eligibility, and the row is marked converted.
     */
    async convert(actor: Actor, input: { ids: string[]; eligibilityDays?: number }): Promise<{ converted: { id: string; eligibilityId: string }[] }> {
      await requireAdmin(deps, actor, 'standing.convert');
      const ids = [...new Set(input.ids ?? [])];
      if (ids.length === 0 || ids.length > MAX_CONVERT) throw new Invalid('invalid_request', `give 1 to ${MAX_CONVERT} ids`, { field: 'ids' });
      const days = input.eligibilityDays;
      if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new Invalid('invalid_request', 'eligibilityDays is a whole number of days from 1 to 3650', { field: 'eligibilityDays' });
      const now = clock.now();
      return store.transaction(async (tx) => {
        const converted: { id: string; eligibilityId: string }[] = [];
        for (const id of ids) {
          try {
            const a: Assignment | null = await store.assignments.get(tx, id);
            if (a) {
              const r = await convertToEligibleInTx(deps, tx, actor, id, now, days !== undefined ? { eligibilityEndsAt: now + days * DAY } : {});
              converted.push({ id, eligibilityId: r.eligibility.id });
              continue;
            }
            const [row] = await store.inventory.imports(tx, { ids: [id], includeConverted: true, forUpdate: true });
            if (!row) throw new NotFound('not_found', `no standing access ${id}`);
            if (row.convertedAt !== null) throw new Conflict('already_converted', `the imported row ${id} was converted already`);
            if (row.roleId === null) throw new Conflict('not_convertible', `the imported row ${id} maps to no Elevate role (give a role column when importing)`);
            if (row.principalId === null || !(await store.principals.get(tx, row.principalId))) {
              throw new Conflict('not_convertible', `the imported row ${id} names ${row.principalName}, who is not an Elevate principal`);
            }
            const { e, created } = await eligibilityFor(tx, actor, row, now, days);
            await store.inventory.markConverted(tx, row.id, e.id, now);
            await writeAudit(audit, tx, now, actor, { principalId: row.principalId, roleId: row.roleId, scope: row.scope }, [
              draft('standing.import_converted', 'info', { importId: row.id, system: row.system, privilege: row.privilege, eligibilityId: e.id, eligibilityCreated: created, eligibleUntil: e.endsAt }),
            ]);
            converted.push({ id, eligibilityId: e.id });
          } catch (err) {
            // Name the item that stopped the batch; the transaction rolls everything back.
            if (err instanceof DomainError) {
              const E = err.constructor as new (code: string, message: string, details: Record<string, unknown>) => DomainError;
              throw new E(err.code, `${id}: ${err.message}`, { ...err.details, id });
            }
            throw err;
          }
        }
        await writeAudit(audit, tx, now, actor, {}, [draft('standing.converted', 'info', { count: converted.length, converted, eligibilityDays: days ?? null })]);
        return { converted };
      });
    },

    /** Admins: per-role rollout mode and readiness figures. */
    async rollout(actor: Actor): Promise<RolloutItem[]> {
      await requireAdmin(deps, actor, 'rollout.list');
      return store.transaction((tx) => rolloutInTx(tx));
    },

    /** Admins: set a role's rollout mode (audited `role.rollout_changed`). */
    async setRollout(actor: Actor, rawRoleId: string, mode: RolloutMode): Promise<RolloutItem> {
      const roleId = parseId(rawRoleId, 'roleId');
      await requireAdmin(deps, actor, 'role.rollout_change', { roleId });
      if (!MODES.includes(mode)) throw new Invalid('invalid_request', 'mode is none, awareness or enforced', { field: 'mode' });
      const now = clock.now();
      return store.transaction(async (tx) => {
        const role = await store.roles.get(tx, roleId);
        if (!role) throw new NotFound('not_found', `role ${roleId} not found`);
        const prev = await store.inventory.rollout(tx, roleId);
        const from = prev?.mode ?? 'none';
        if (from !== mode) {
          await store.inventory.putRollout(tx, { roleId, mode, changedAt: now, changedBy: actor.principalId });
          await writeAudit(audit, tx, now, actor, { roleId }, [draft('role.rollout_changed', 'info', { from, to: mode })]);
          tx.afterCommit(() => {
            modesVersion++;
            if (aware !== null) {
              if (mode === 'awareness') aware.add(roleId);
              else aware.delete(roleId);
            }
          });
        }
        const [item] = await rolloutInTx(tx, roleId);
        return item!;
      });
    },

    /**
     * Job: write the fallback-use counts gathered by this node (per assignment and UTC day, only for
     * roles in awareness mode when written) and refresh which roles are in awareness mode. Returns
     * rows written. Counts that fail to write are kept for the next run.
     */
    async flushUse(): Promise<number> {
      const now = clock.now();
      const refresh = aware === null || now - modesReadAt >= MODES_REFRESH_MS;
      if (pending.size === 0 && spill.length === 0 && !refresh) return 0;
      const batch = unwritten();
      pending = new Map();
      spill = [];
      const version = modesVersion;
      try {
        return await store.transaction(async (tx) => {
          const awareNow = new Set((await store.inventory.rollouts(tx)).filter((r) => r.mode === 'awareness').map((r) => r.roleId));
          const rows: StandingUseRow[] = [...batch.values()]
            .filter((e) => awareNow.has(e.roleId))
            .map((e) => ({ assignmentId: e.assignmentId, day: e.day, roleId: e.roleId, principalId: e.principalId, uses: e.uses, lastUsedAt: e.last }));
          if (rows.length > 0) await store.inventory.addUse(tx, rows);
          tx.afterCommit(() => {
            modesReadAt = now;
            if (version === modesVersion) aware = awareNow;
          });
          return rows.length;
        });
      } catch (e) {
        spill.push(...batch.values());
        throw e;
      }
    },
  };
}
