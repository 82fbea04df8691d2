import { stringify } from 'csv-stringify/sync';
import { Invalid } from '../core/errors.js';
import { normalizeId } from '../core/ids.js';
import type { Role } from '../core/model.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { Actor, AppDeps } from './context.js';

/**
 * Evidence reports for a period (issue 5 part 6): who held which role when, at what scope, on whose
 * approval, with what justification. Every assignment whose held period [start, min(end, ended))
 * overlaps [from, to) is in it, whatever its source (activation, direct, break-glass).
 *
 * Generating a report is an audited read (`report.generated`: who asked, the period, filters,
 * format, item count): it discloses who holds privilege. The report carries the audit head taken in
 * the same transaction, after that event was appended, so `auditHead` IS the report.generated event:
 * an auditor finds it at that seq with that hash in the verifiable log (GET /audit/verify, `elevate
 * audit verify`), and everything the report shows was committed before it.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export type ReportFormat = 'json' | 'csv' | 'html';
const TIERS: Role['riskTier'][] = ['low', 'medium', 'high', 'critical'];
/** Longest period one report covers, and most rows: narrow the period or filter beyond that. */
export const MAX_REPORT_PERIOD_MS = 3 * 366 * 86_400_000;
export const MAX_REPORT_ITEMS = 50_000;

export interface EvidenceApproval {
  approverId: string;
  approverName: string;
  decision: 'approve' | 'deny';
  reason: string;
  at: number;
}

export interface EvidenceItem {
  assignmentId: string;
  principalId: string;
  principalName: string;
  roleId: string;
  roleName: string;
  riskTier: string;
  scope: string;
  source: string;
  startsAt: number;
  endsAt: number | null;
  endedAt: number | null;
  status: string;
  requestId: string | null;
  justification: string;
  ticket: string | null;
  approvals: EvidenceApproval[];
}

export interface EvidenceReport {
  from: number;
  to: number;
  generatedAt: number;
  generatedBy: string;
  roleId: string | null;
  minTier: Role['riskTier'] | null;
  auditHead: { seq: number; hash: string };
  items: EvidenceItem[];
}

export interface EvidenceQuery {
  from: number;
  to: number;
  roleId?: string;
  minTier?: Role['riskTier'];
  format?: ReportFormat;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

export function makeReports(deps: Deps) {
  const { store, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  return {
    async evidence(actor: Actor, query: EvidenceQuery): Promise<EvidenceReport> {
      await requireAdmin(deps, actor, 'report.generate');
      const { from, to } = query;
      if (!Number.isFinite(from) || !Number.isFinite(to)) throw new Invalid('invalid_request', 'from and to are ISO 8601 date-times', { field: !Number.isFinite(from) ? 'from' : 'to' });
      if (from >= to) throw new Invalid('invalid_period', 'from must be before to', { field: 'to' });
      if (to - from > MAX_REPORT_PERIOD_MS) throw new Invalid('invalid_period', 'a report covers at most three years; ask for shorter periods', { field: 'from' });
      if (query.minTier !== undefined && !TIERS.includes(query.minTier)) throw new Invalid('invalid_request', 'minTier is low, medium, high or critical', { field: 'minTier' });
      const roleId = query.roleId ? normalizeId(query.roleId) : undefined;
      const tiers = query.minTier ? TIERS.slice(TIERS.indexOf(query.minTier)) : undefined;
      const now = clock.now();
      return store.transaction(async (tx) => {
        const fetched = await store.inventory.evidence(tx, from, to, { roleId, tiers, limit: MAX_REPORT_ITEMS + 1 });
        // Refuse on what the query found, before dropping grants that ended before they began: a
        // report is complete or refused, never silently cut short.
        if (fetched.length > MAX_REPORT_ITEMS) throw new Invalid('report_too_large', `more than ${MAX_REPORT_ITEMS} assignments: narrow the period or filter by role or tier`, { limit: MAX_REPORT_ITEMS });
        const rows = fetched.filter((r) => {
          // Held at all, and not only before `from` (an early end cuts the held period short).
          const a = r.assignment;
          const heldUntil = Math.min(a.endsAt ?? Infinity, a.endedAt ?? Infinity);
          return a.startsAt < heldUntil && heldUntil > from;
        });
        const approvals = await store.inventory.approvalsFor(tx, rows.flatMap((r) => r.requestIds));
        const names = await store.inventory.principalNames(tx, approvals.map((a) => a.approverId));
        const byRequest = new Map<string, EvidenceApproval[]>();
        for (const a of approvals) {
          const l = byRequest.get(a.requestId) ?? [];
          l.push({ approverId: a.approverId, approverName: names.get(a.approverId) ?? a.approverId, decision: a.decision, reason: a.reason, at: a.createdAt });
          byRequest.set(a.requestId, l);
        }
        const items: EvidenceItem[] = rows.map((r) => {
          const a = r.assignment;
          // Exact at generation, as at the decision point: a grant past its end is expired even before the job books it.
          const live = a.status === 'active' || a.status === 'scheduled';
          const status = live && a.endsAt !== null && a.endsAt <= now ? 'expired' : live && a.startsAt <= now ? 'active' : a.status;
          return {
            assignmentId: a.id, principalId: a.principalId, principalName: r.principalName ?? a.principalId, roleId: a.roleId, roleName: r.roleName ?? a.roleId,
            riskTier: r.riskTier ?? 'unknown', scope: a.scope, source: a.source, startsAt: a.startsAt, endsAt: a.endsAt, endedAt: a.endedAt, status,
            requestId: a.requestId, justification: r.justification, ticket: r.ticket,
            approvals: r.requestIds.flatMap((id) => byRequest.get(id) ?? []).sort((x, y) => x.at - y.at),
          };
        });
        await writeAudit(audit, tx, now, actor, { roleId: roleId ?? null }, [
          draft('report.generated', 'info', { report: 'evidence', from, to, roleId: roleId ?? null, minTier: query.minTier ?? null, format: query.format ?? 'json', items: items.length }),
        ]);
        const auditHead = await store.audit.head(tx);
        return { from, to, generatedAt: now, generatedBy: actor.principalId, roleId: roleId ?? null, minTier: query.minTier ?? null, auditHead, items };
      });
    },
  };
}

// ---- rendering (pure) ------------------------------------------------------------------------

export const EVIDENCE_CSV_COLUMNS = [
  'assignmentId', 'principalId', 'principalName', 'roleId', 'roleName', 'riskTier', 'scope', 'source', 'startsAt', 'endsAt', 'endedAt', 'status',
  'requestId', 'justification', 'ticket', 'approvals',
] as const;

/** A spreadsheet must not run what a holder typed: text starting with = + - @ (or a tab/CR) gets a leading quote. */
const cell = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);

const approvalText = (a: EvidenceApproval) => `${a.decision} by ${a.approverName} (${a.approverId}) at ${iso(a.at)}: ${a.reason}`;

/** CSV, one row per assignment; approvals flattened into one cell ("approve by Name (id) at time: reason", joined by " | "). */
export function evidenceCsv(r: EvidenceReport): string {
  const rows = r.items.map((i) => [
    i.assignmentId, i.principalId, i.principalName, i.roleId, i.roleName, i.riskTier, i.scope, i.source, iso(i.startsAt), iso(i.endsAt), iso(i.endedAt), i.status,
    i.requestId ?? '', i.justification, i.ticket ?? '', i.approvals.map(approvalText).join(' | '),
  ].map(cell));
  return stringify([[...EVIDENCE_CSV_COLUMNS], ...rows], { record_delimiter: '\r\n' });
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** A printable page: every value escaped, print CSS, no script. */
export function evidenceHtml(r: EvidenceReport): string {
  const filter = [r.roleId ? `role ${r.roleId}` : 'all roles', r.minTier ? `risk tier ${r.minTier} and above` : 'all risk tiers'].join(', ');
  const rows = r.items
    .map((i) => {
      const approvals = i.approvals.length ? `<ul>${i.approvals.map((a) => `<li>${esc(approvalText(a))}</li>`).join('')}</ul>` : '<span class="none">none</span>';
      return `<tr>
<td>${esc(i.principalName)}<br><span class="id">${esc(i.principalId)}</span></td>
<td>${esc(i.roleName)}<br><span class="id">${esc(i.roleId)}</span></td>
<td>${esc(i.riskTier)}</td><td>${esc(i.scope)}</td><td>${esc(i.source)}</td>
<td>${esc(iso(i.startsAt))}</td><td>${esc(iso(i.endsAt) || 'no end')}</td><td>${esc(iso(i.endedAt))}</td><td>${esc(i.status)}</td>
<td>${esc(i.justification)}${i.ticket ? `<br><span class="id">ticket ${esc(i.ticket)}</span>` : ''}</td>
<td>${approvals}</td>
<td class="id">${esc(i.assignmentId)}${i.requestId ? `<br>request ${esc(i.requestId)}` : ''}</td>
</tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Elevate evidence report ${esc(iso(r.from))} to ${esc(iso(r.to))}</title>
<style>
body { font: 11pt/1.35 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 16pt; margin: 0 0 .3em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 0 0 1em; }
dt { font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #999; padding: .25em .4em; vertical-align: top; text-align: left; }
th { background: #eee; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
ul { margin: 0; padding-left: 1.1em; }
.id { color: #555; font-family: ui-monospace, monospace; font-size: 8pt; word-break: break-all; }
.none { color: #777; }
@page { size: A4 landscape; margin: 12mm; }
@media print { body { margin: 0; } th { background: none; } }
</style>
</head>
<body>
<h1>Evidence report: privileged access held</h1>
<dl>
<dt>Period</dt><dd>${esc(iso(r.from))} to ${esc(iso(r.to))} (end excluded)</dd>
<dt>Filter</dt><dd>${esc(filter)}</dd>
<dt>Generated</dt><dd>${esc(iso(r.generatedAt))} by ${esc(r.generatedBy)}</dd>
<dt>Audit head</dt><dd>seq ${r.auditHead.seq}, hash <span class="id">${esc(r.auditHead.hash)}</span> (the report.generated event; verify with <code>elevate audit verify</code>)</dd>
<dt>Assignments</dt><dd>${r.items.length}</dd>
</dl>
<table>
<thead><tr><th>Principal</th><th>Role</th><th>Tier</th><th>Scope</th><th>Source</th><th>Start</th><th>End</th><th>Ended</th><th>Status</th><th>Justification</th><th>Approvals</th><th>Ids</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="12" class="none">No assignment overlapped this period.</td></tr>'}
</tbody>
</table>
</body>
</html>
`;
}
