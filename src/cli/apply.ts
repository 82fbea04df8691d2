import { ApiError, type ElevateClient } from './client.js';
import { CliError, EXIT } from './errors.js';
import { isObject } from './files.js';

/**
 * `elevate apply -f file.yaml`: bulk administration from one document
 *
 *   principals:    [{id, kind, name, email?, managerId? (or manager), adminUnit?}]
 *   groups:        [{id, members: [principalId…]}]
 *   roles:         [{id, name, riskTier, description?, settings?}]
 *   eligibilities: [{principalId (or principal), roleId (or role), scope, endsAt?, justification (or reason)}]
 *
 * applied in that order. A principal, role or eligibility that already exists (409 already_exists)
 * is reported and skipped, so a document can be applied again; any other error stops the run and
 * is reported with what was applied before it.
 */

export const SECTIONS = ['principals', 'groups', 'roles', 'eligibilities'] as const;
export type Section = (typeof SECTIONS)[number];

export type Outcome = 'created' | 'exists' | 'updated' | 'failed';

export interface ApplyResult {
  section: Section;
  id: string;
  outcome: Outcome;
  error?: { code: string; message: string; status: number; details: Record<string, unknown> };
}

export interface ApplySummary {
  results: ApplyResult[];
  counts: Record<Section, Partial<Record<Outcome, number>>>;
}

export type ApplyDoc = Partial<Record<Section, Record<string, unknown>[]>>;

/** Check the document's shape before anything is sent, so a typo changes nothing. */
export function validateApplyDoc(doc: unknown, file: string): ApplyDoc {
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new CliError(EXIT.error, 'invalid_file', `${file}: expected a mapping with principals, groups, roles and/or eligibilities`);
  const out: ApplyDoc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!(SECTIONS as readonly string[]).includes(k)) {
      throw new CliError(EXIT.error, 'invalid_file', `${file}: unknown section "${k}" (expected ${SECTIONS.join(', ')})`, { section: k });
    }
    if (v === null || v === undefined) continue;
    if (!Array.isArray(v)) throw new CliError(EXIT.error, 'invalid_file', `${file}: "${k}" must be a list`, { section: k });
    v.forEach((item, i) => {
      if (!isObject(item)) throw new CliError(EXIT.error, 'invalid_file', `${file}: ${k}[${i}] must be a mapping`, { section: k, index: i });
      if (k === 'groups') {
        if (typeof item.id !== 'string') throw new CliError(EXIT.error, 'invalid_file', `${file}: groups[${i}].id must be a string`, { section: k, index: i });
        if (!Array.isArray(item.members) || !item.members.every((m) => typeof m === 'string')) {
          throw new CliError(EXIT.error, 'invalid_file', `${file}: groups[${i}].members must be a list of principal ids`, { section: k, index: i });
        }
      }
    });
    out[k as Section] = v as Record<string, unknown>[];
  }
  return out;
}

/** Accept the friendlier spellings people write by hand; the API gets its own names. */
function principalBody(p: Record<string, unknown>): Record<string, unknown> {
  const { manager, admin_unit, ...rest } = p;
  const b: Record<string, unknown> = { ...rest };
  if (manager !== undefined && b.managerId === undefined) b.managerId = manager;
  if (admin_unit !== undefined && b.adminUnit === undefined) b.adminUnit = admin_unit;
  return b;
}

function roleBody(r: Record<string, unknown>): Record<string, unknown> {
  const { risk_tier, ...rest } = r;
  const b: Record<string, unknown> = { ...rest };
  if (risk_tier !== undefined && b.riskTier === undefined) b.riskTier = risk_tier;
  return b;
}

function eligibilityBody(e: Record<string, unknown>): Record<string, unknown> {
  const { principal, role, reason, ...rest } = e;
  const b: Record<string, unknown> = { ...rest };
  if (principal !== undefined && b.principalId === undefined) b.principalId = principal;
  if (role !== undefined && b.roleId === undefined) b.roleId = role;
  if (reason !== undefined && b.justification === undefined) b.justification = reason;
  if (b.endsAt === undefined) b.endsAt = null;
  if (b.endsAt instanceof Date) b.endsAt = b.endsAt.toISOString(); // YAML timestamps
  return b;
}

function label(section: Section, item: Record<string, unknown>, index: number): string {
  if (section === 'eligibilities') {
    const b = eligibilityBody(item);
    return `${String(b.principalId)}→${String(b.roleId)}@${String(b.scope)}`;
  }
  return typeof item.id === 'string' ? item.id : `#${index}`;
}

export class ApplyFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly summary: ApplySummary,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'ApplyFailed';
  }
}

export async function applyDocument(client: ElevateClient, doc: ApplyDoc, onResult: (r: ApplyResult) => void = () => {}): Promise<ApplySummary> {
  const summary: ApplySummary = { results: [], counts: { principals: {}, groups: {}, roles: {}, eligibilities: {} } };
  const record = (r: ApplyResult): void => {
    summary.results.push(r);
    summary.counts[r.section][r.outcome] = (summary.counts[r.section][r.outcome] ?? 0) + 1;
    onResult(r);
  };
  for (const section of SECTIONS) {
    const items = doc[section] ?? [];
    for (const [i, item] of items.entries()) {
      const id = label(section, item, i);
      try {
        switch (section) {
          case 'principals':
            await client.createPrincipal(principalBody(item));
            record({ section, id, outcome: 'created' });
            break;
          case 'groups':
            await client.setGroupMembers(item.id as string, item.members as string[]);
            record({ section, id, outcome: 'updated' });
            break;
          case 'roles':
            await client.createRole(roleBody(item));
            record({ section, id, outcome: 'created' });
            break;
          case 'eligibilities':
            await client.createEligibility(eligibilityBody(item));
            record({ section, id, outcome: 'created' });
            break;
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 409 && e.code === 'already_exists' && section !== 'groups') {
          record({ section, id, outcome: 'exists' });
          continue;
        }
        if (e instanceof ApiError) {
          record({ section, id, outcome: 'failed', error: { code: e.code, message: e.message, status: e.status, details: e.details } });
        }
        throw new ApplyFailed(e, summary);
      }
    }
  }
  return summary;
}
