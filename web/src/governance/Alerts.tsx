import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useIsAdmin } from '../admin-check.js';
import { useAction } from '../admin/form.js';
import { Empty, Problem, useLoad } from '../ui.js';
import { acknowledgeAlert, alert as loadAlert, alerts as loadAlerts, resolveAlert, type Alert, type AlertSeverity, type AlertStatus } from './api.js';
import { Tabs } from '../tabs.js';
import { Cell } from './Cell.js';
import { AdminOnly } from './AdminOnly.js';
import { DetectionRules } from './DetectionRules.js';
import { ExportAudit } from './ExportAudit.js';
import { ago, ALERT_STATUS, capital, SEVERITY_ORDER, when } from './words.js';

const STATUS_ORDER: Record<string, number> = { open: 0, acknowledged: 1, resolved: 2 };
const byUrgency = (a: Alert, b: Alert) =>
  (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) || (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) || String(b.lastSeenAt).localeCompare(String(a.lastSeenAt));

const ruleWords = (rule: string) => capital(rule.replace(/[_.]/g, ' '));

export function Severity({ s }: { s: string }) {
  return <span className={`risk risk-${s} severity`}>{s}</span>;
}

const TABS = [
  { id: 'alerts', title: 'Alerts', Panel: AlertList },
  { id: 'rules', title: 'Detection rules', Panel: DetectionRules },
  { id: 'export', title: 'Export and self-audit', Panel: ExportAudit },
] as const;
/**
 * The administrators' detection page: the alerts (first), the detection rules that raise them, and
 * where the audit log goes (SIEM outputs, dead letters) with the false-allow self-audit. Tabs, as on
 * the Administration page, so the main navigation stays as long as it is; `?tab=` names the tab.
 */
export function Alerts() {
  const admin = useIsAdmin();
  if (!admin) return <AdminOnly title="Alerts" admin={admin} />;
  return (
    <>
      <h1 tabIndex={-1}>Alerts</h1>
      <Tabs tabs={TABS} label="Alerts sections" />
    </>
  );
}

/**
 * Detection alerts: what the rules found (severity, status, how often, whom it concerns), newest and
 * most severe open ones first. Open one to see the audit events that triggered it; acknowledge it
 * (someone is on it) or resolve it, with a note for the next person.
 */
function AlertList() {
  const id = useId();
  const admin = useIsAdmin();
  const [status, setStatus] = useState<AlertStatus | ''>('');
  const [severity, setSeverity] = useState<AlertSeverity | ''>('');
  const [selected, setSelected] = useState<string | null>(null);
  const [notice, setNotice] = useState<ReactNode>(null);
  const { data, error, reload } = useLoad(async () => (admin ? (await loadAlerts({ status, severity })).sort(byUrgency) : null), 15_000);
  useEffect(() => {
    void reload();
  }, [status, severity, admin, reload]);

  const open = (data ?? []).filter((a) => a.status === 'open').length;

  return (
    <>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <div className="admin-filters" role="search" aria-label="Filter alerts">
        <div className="field">
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={status} onChange={(e) => setStatus(e.target.value as AlertStatus | '')}>
            <option value="">Any status</option>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="resolved">Resolved</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-severity`}>Severity</label>
          <select id={`${id}-severity`} value={severity} onChange={(e) => setSeverity(e.target.value as AlertSeverity | '')}>
            <option value="">Any severity</option>
            <option value="critical">Critical</option>
            <option value="high">High</option>
            <option value="medium">Medium</option>
            <option value="low">Low</option>
          </select>
        </div>
      </div>
      <Problem error={error} />
      {selected ? (
        <AlertDetail
          key={selected}
          id={selected}
          onClose={() => setSelected(null)}
          onChanged={(n) => {
            setNotice(n);
            void reload();
          }}
        />
      ) : null}
      <section aria-labelledby={`${id}-h`} className="block">
        <h2 id={`${id}-h`}>{data ? `${data.length} alert${data.length === 1 ? '' : 's'}${open ? `, ${open} open` : ''}` : 'Alerts'}</h2>
        {data === null ? <p className="muted">Loading…</p> : data.length === 0 ? <Empty>No alert{status || severity ? ' matches these filters' : ''}. The detection rules have found nothing to look at.</Empty> : null}
        {data && data.length > 0 ? (
          <div className="table-wrap">
            <table className="alerts">
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Status</th>
                  <th scope="col">Alert</th>
                  <th scope="col">Principals</th>
                  <th scope="col" className="num">
                    Count
                  </th>
                  <th scope="col">Last seen</th>
                  <th scope="col">
                    <span className="visually-hidden">Open</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.map((a) => (
                  <tr key={a.id} className={`alert-row alert-${a.status}${a.id === selected ? ' is-selected' : ''}`}>
                    <Cell label="Severity">
                      <Severity s={a.severity} />
                    </Cell>
                    <Cell label="Status">
                      <span className={`status status-alert-${a.status}`}>{ALERT_STATUS[a.status] ?? a.status}</span>
                    </Cell>
                    <Cell label="Alert">
                      <strong>{a.title}</strong>
                      <p className="muted">{a.summary}</p>
                      <p className="hint">
                        Rule: <code>{a.rule}</code>
                      </p>
                    </Cell>
                    <Cell label="Principals">{a.principals.join(', ') || '—'}</Cell>
                    <Cell label="Count" className="num">
                      {a.count}
                    </Cell>
                    <Cell label="Last seen" title={when(a.lastSeenAt)}>
                      {ago(a.lastSeenAt)}
                    </Cell>
                    <td className="row-action">
                      <button type="button" className="small" aria-label={`Open alert: ${a.title}`} aria-pressed={a.id === selected} onClick={() => setSelected(a.id === selected ? null : a.id)}>
                        Open
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </>
  );
}

function AlertDetail({ id: alertId, onClose, onChanged }: { id: string; onClose: () => void; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const { data: a, error, reload } = useLoad(() => loadAlert(alertId), 15_000);
  const [note, setNote] = useState('');
  const { busy, error: actError, run } = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [a?.id]);

  const act = (what: 'acknowledge' | 'resolve') =>
    run(async () => {
      const out = what === 'acknowledge' ? await acknowledgeAlert(alertId, note) : await resolveAlert(alertId, note);
      setNote('');
      await reload();
      onChanged(`${what === 'acknowledge' ? 'Acknowledged' : 'Resolved'}: ${out.title}.`);
    });

  return (
    <section className="panel alert-detail" aria-labelledby={`${id}-h`}>
      <div className="section-head">
        <h2 id={`${id}-h`} ref={heading} tabIndex={-1}>
          {a ? a.title : 'Alert'}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <Problem error={error} />
      {a ? (
        <>
          <p>
            <Severity s={a.severity} /> <span className={`status status-alert-${a.status}`}>{ALERT_STATUS[a.status] ?? a.status}</span> {a.summary}
          </p>
          <dl className="facts">
            <dt>Rule</dt>
            <dd>
              {ruleWords(a.rule)} (<code>{a.rule}</code>)
            </dd>
            <dt>Principals</dt>
            <dd>{a.principals.join(', ') || '—'}</dd>
            {a.roleId ? (
              <>
                <dt>Role</dt>
                <dd>{a.roleId}</dd>
              </>
            ) : null}
            {a.scope ? (
              <>
                <dt>Scope</dt>
                <dd>
                  <code>{a.scope}</code>
                </dd>
              </>
            ) : null}
            <dt>Seen</dt>
            <dd>
              {a.count} time{a.count === 1 ? '' : 's'}, first {when(a.firstSeenAt)}, last {when(a.lastSeenAt)}
            </dd>
            {a.acknowledgedBy ? (
              <>
                <dt>Acknowledged</dt>
                <dd>
                  by {a.acknowledgedBy}, {when(a.acknowledgedAt)}
                </dd>
              </>
            ) : null}
            {a.resolvedBy ? (
              <>
                <dt>Resolved</dt>
                <dd>
                  by {a.resolvedBy}, {when(a.resolvedAt)}
                </dd>
              </>
            ) : null}
            {a.note ? (
              <>
                <dt>Note</dt>
                <dd className="quote">“{a.note}”</dd>
              </>
            ) : null}
          </dl>
          <h3>The events that triggered it ({a.eventRecords.length})</h3>
          {a.eventRecords.length === 0 ? (
            <Empty>No audit event is attached.</Empty>
          ) : (
            <div className="table-wrap">
              <table className="events">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Event</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Principal</th>
                    <th scope="col">Role and scope</th>
                    <th scope="col">Reasons</th>
                  </tr>
                </thead>
                <tbody>
                  {a.eventRecords.map((e) => (
                    <tr key={e.id}>
                      <Cell label="Time" className="nowrap">
                        {when(e.ts)}
                      </Cell>
                      <Cell label="Event">
                        <code>{e.type}</code>
                        <span className="visually-hidden"> #{e.seq}</span>
                      </Cell>
                      <Cell label="Outcome">
                        <span className={`outcome outcome-${e.outcome}`}>{e.outcome}</span>
                      </Cell>
                      <Cell label="Actor">{e.actorId ?? '—'}</Cell>
                      <Cell label="Principal">{e.principalId ?? '—'}</Cell>
                      <Cell label="Role and scope">
                        {e.roleId ?? '—'}
                        {e.scope ? (
                          <>
                            {' at '}
                            <code>{e.scope}</code>
                          </>
                        ) : null}
                      </Cell>
                      <Cell label="Reasons" className="reasons">
                        {e.reasons.join(', ')}
                      </Cell>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {a.status !== 'resolved' ? (
            <form
              className="decide"
              aria-label="Handle this alert"
              noValidate
              onSubmit={(e) => {
                e.preventDefault();
              }}
            >
              <div className="field">
                <label htmlFor={`${id}-note`}>Note</label>
                <input id={`${id}-note`} value={note} onChange={(e) => setNote(e.target.value)} autoComplete="off" maxLength={2000} aria-describedby={`${id}-note-hint`} />
                <p id={`${id}-note-hint`} className="hint">
                  What you found or did; required to resolve.
                </p>
              </div>
              <Problem error={actError} title="Not changed:" />
              <div className="actions start">
                {a.status === 'open' ? (
                  <button type="button" className="primary" disabled={busy} onClick={() => void act('acknowledge')}>
                    Acknowledge
                  </button>
                ) : null}
                <button type="button" disabled={busy} onClick={() => void act('resolve')}>
                  Resolve
                </button>
              </div>
            </form>
          ) : null}
        </>
      ) : error ? null : (
        <p className="muted">Loading…</p>
      )}
    </section>
  );
}
