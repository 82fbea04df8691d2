import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { useIsAdmin } from '../admin-check.js';
import { ApiError, roles as loadRoles, type Role } from '../api.js';
import { serverNow } from '../time.js';
import { Empty, Problem, Risk, useSession } from '../ui.js';
import { evidence, evidenceUrl, type EvidenceQuery, type EvidenceReport } from './api.js';
import { Cell } from './Cell.js';
import { AdminOnly } from './AdminOnly.js';
import { when } from './words.js';

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const validDay = (s: string | null | undefined) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) ? s : '');

/** A period as UTC days (both included), and what to narrow it to. */
interface Choice {
  from: string;
  to: string;
  roleId: string;
  minTier: string;
}

function choiceFromUrl(): Choice {
  const q = new URLSearchParams(location.search);
  const today = isoDay(serverNow());
  return { from: validDay(q.get('from')) || isoDay(serverNow() - 29 * DAY), to: validDay(q.get('to')) || today, roleId: q.get('roleId') ?? '', minTier: q.get('minTier') ?? '' };
}

/** The API's half-open [from, to) from inclusive UTC days. */
function toQuery(c: Choice): EvidenceQuery {
  return {
    from: `${c.from}T00:00:00.000Z`,
    to: new Date(Date.parse(`${c.to}T00:00:00Z`) + DAY).toISOString(),
    ...(c.roleId ? { roleId: c.roleId } : {}),
    ...(c.minTier ? { minTier: c.minTier } : {}),
  };
}

/**
 * Evidence for auditors: for a period, who held which privileged role when, at what scope, on whose
 * approval and with what justification. The server builds the report (and says the audit chain's head
 * it was built against); here it is shown, downloaded as CSV or JSON, or opened as a printable page.
 */
export function Reports() {
  const id = useId();
  const admin = useIsAdmin();
  const { signedOut } = useSession();
  const [choice, setChoice] = useState<Choice>(choiceFromUrl);
  const [draft, setDraft] = useState<Choice>(choice);
  const [roles, setRoles] = useState<Role[]>([]);
  const [data, setData] = useState<EvidenceReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(
    async (c: Choice) => {
      setBusy(true);
      setError(null);
      try {
        setData(await evidence(toQuery(c)));
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) signedOut('Your session ended. Sign in again.');
        else setError(e);
      } finally {
        setBusy(false);
      }
    },
    [signedOut],
  );

  useEffect(() => {
    if (admin) void load(choice);
  }, [admin, choice, load]);
  useEffect(() => {
    loadRoles().then((m) => setRoles([...m.values()].sort((a, b) => a.name.localeCompare(b.name))), () => undefined);
  }, []);

  if (!admin) return <AdminOnly title="Reports" admin={admin} />;

  function choose(c: Choice) {
    const q = new URLSearchParams({ from: c.from, to: c.to });
    if (c.roleId) q.set('roleId', c.roleId);
    if (c.minTier) q.set('minTier', c.minTier);
    history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
    setDraft(c);
    setChoice(c);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const today = isoDay(serverNow());
    choose({ ...draft, from: validDay(draft.from) || today, to: validDay(draft.to) || today });
  }

  const quick = (days: number) => {
    const today = isoDay(serverNow());
    choose({ ...draft, from: isoDay(Date.parse(`${today}T00:00:00Z`) - (days - 1) * DAY), to: today });
  };
  const q = toQuery(choice);

  return (
    <>
      <h1 tabIndex={-1}>Reports</h1>
      <form className="filters panel period" aria-label="Report period" onSubmit={submit} noValidate>
        <div className="row period-row">
          <div className="field">
            <label htmlFor={`${id}-from`}>From</label>
            <input id={`${id}-from`} type="date" value={draft.from} onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-to`}>To</label>
            <input id={`${id}-to`} type="date" value={draft.to} onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>Role</label>
            <select id={`${id}-role`} value={draft.roleId} onChange={(e) => setDraft((d) => ({ ...d, roleId: e.target.value }))}>
              <option value="">Every role</option>
              {roles.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-tier`}>Lowest risk tier</label>
            <select id={`${id}-tier`} value={draft.minTier} onChange={(e) => setDraft((d) => ({ ...d, minTier: e.target.value }))}>
              <option value="">Any</option>
              <option value="low">Low</option>
              <option value="medium">Medium</option>
              <option value="high">High</option>
              <option value="critical">Critical</option>
            </select>
          </div>
          <button type="submit" className="primary">
            Show
          </button>
        </div>
        <div className="row">
          <span className="muted">Quick:</span>
          <button type="button" className="small" onClick={() => quick(1)}>
            Today
          </button>
          {[7, 30, 90].map((n) => (
            <button key={n} type="button" className="small" onClick={() => quick(n)}>
              Last {n} days
            </button>
          ))}
        </div>
        <p className="hint">Days are UTC days; both dates are included.</p>
      </form>

      <section aria-labelledby={`${id}-h`} className="block">
        <div className="section-head">
          <h2 id={`${id}-h`}>
            Evidence, {choice.from === choice.to ? choice.from : `${choice.from} to ${choice.to}`}
            {data ? ` (${data.items.length})` : ''}
          </h2>
          <div className="card-actions">
            <a className="button" href={evidenceUrl(q, 'csv')} download>
              Download CSV
            </a>
            <a className="button" href={evidenceUrl(q, 'json')} download>
              Download JSON
            </a>
            <a className="button" href={evidenceUrl(q, 'html')} target="_blank" rel="noopener noreferrer">
              Printable page
            </a>
          </div>
        </div>
        <Problem error={error} />
        <p className="muted" role="status">
          {busy ? 'Building the report…' : data ? `Generated ${when(data.generatedAt)} against audit event #${data.auditHead.seq} (${data.auditHead.hash.slice(0, 16)}…).` : ''}
        </p>
        {data && data.items.length === 0 ? <Empty>Nobody held a privileged role in this period{choice.roleId || choice.minTier ? ' that matches' : ''}.</Empty> : null}
        {data && data.items.length > 0 ? (
          <div className="table-wrap">
            <table className="evidence">
              <caption className="visually-hidden">Who held which role when</caption>
              <thead>
                <tr>
                  <th scope="col">Principal</th>
                  <th scope="col">Role</th>
                  <th scope="col">Scope</th>
                  <th scope="col">How</th>
                  <th scope="col">Held</th>
                  <th scope="col">Approved by</th>
                  <th scope="col">Justification</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((i) => (
                  <tr key={i.assignmentId}>
                    <Cell label="Principal">
                      {i.principalName || i.principalId}
                      {i.principalName && i.principalName !== i.principalId ? <span className="muted"> · {i.principalId}</span> : null}
                    </Cell>
                    <Cell label="Role">
                      {i.roleName || i.roleId} <Risk tier={i.riskTier} />
                    </Cell>
                    <Cell label="Scope">
                      <code>{i.scope}</code>
                    </Cell>
                    <Cell label="How">
                      {i.source === 'direct' ? 'Standing (direct)' : i.source === 'breakglass' ? 'Break-glass' : i.source === 'activation' ? 'Activated' : i.source}
                      <span className="muted"> · {i.status.replace(/_/g, ' ')}</span>
                    </Cell>
                    <Cell label="Held">
                      from {when(i.startsAt)}
                      <br />
                      {i.endedAt ? `to ${when(i.endedAt)} (ended early)` : i.endsAt ? `to ${when(i.endsAt)}` : 'no end date'}
                    </Cell>
                    <Cell label="Approved by">
                      {i.approvals.length === 0 ? (
                        <span className="muted">no approval</span>
                      ) : (
                        <ul className="decisions">
                          {i.approvals.map((a, n) => (
                            <li key={n}>
                              {a.approverName || a.approverId}: {a.decision}
                              {a.reason ? <span className="quote"> “{a.reason}”</span> : null} <span className="muted">({when(a.at)})</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </Cell>
                    <Cell label="Justification">
                      {i.justification ? <span className="quote">“{i.justification}”</span> : <span className="muted">none</span>}
                      {i.ticket ? <span className="muted"> · {i.ticket}</span> : null}
                    </Cell>
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
