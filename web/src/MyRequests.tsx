import { useEffect, useId, useState } from 'react';
import { ApiError, cancelRequest, client, myRequests, roles as loadRoles, type ActivationRequest, type Role } from './api.js';
import { explain, statusWords } from './reasons.js';
import { durationWords, formatTime } from './time.js';
import { Empty, Problem, RoleName, useLoad, useSession } from './ui.js';

const ENDED_BADLY = new Set(['denied', 'cancelled', 'timed_out', 'activation_failed']);
/** States a person's decision can have led to: worth showing who decided and why. */
const DECIDED = new Set(['pending_approval', 'approved', 'scheduled', 'active', 'expired', 'deactivated', 'revoked']);

interface Decision {
  approverId: string;
  decision: 'approve' | 'deny';
  reason: string;
  at: string;
}

/** Who approved or denied, with their own words (from the request's detail; the list does not carry it). */
function useDecisions(r: ActivationRequest, wanted: boolean): Decision[] {
  const [decisions, setDecisions] = useState<Decision[]>([]);
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    client()
      .call<{ approvals?: Decision[] }>('GET', `/api/v1/requests/${encodeURIComponent(r.id)}`)
      .then((d) => live && setDecisions(d.approvals ?? []))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [r.id, r.status, wanted]);
  return decisions;
}

/** The caller's requests, newest first: state, and for a refusal every reason in plain words. */
export function MyRequests() {
  const { data, error, reload } = useLoad(async () => {
    const [roles, requests] = await Promise.all([loadRoles(), myRequests()]);
    return { roles, requests };
  });
  return (
    <>
      <h1 tabIndex={-1}>My requests</h1>
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : data.requests.length === 0 ? <Empty>You have not asked for any role yet.</Empty> : null}
      {data && data.requests.length > 0 ? (
        <ul className="cards">
          {data.requests.map((r, i) => (
            <RequestItem key={r.id} r={r} role={data.roles.get(String(r.roleId))} onChanged={() => void reload()} recent={i < 30} />
          ))}
        </ul>
      ) : null}
    </>
  );
}

function RequestItem({ r, role, onChanged, recent }: { r: ActivationRequest; role: Role | undefined; onChanged: () => void; recent: boolean }) {
  const id = useId();
  const reasonsOf = Array.isArray(r.reasons) ? (r.reasons as string[]) : [];
  const decisions = useDecisions(r, recent && (DECIDED.has(r.status) || reasonsOf.includes('approver_denied')));
  const { signedOut } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const reasons = Array.isArray(r.reasons) ? (r.reasons as string[]) : [];

  async function cancel() {
    setBusy(true);
    setError(null);
    try {
      await cancelRequest(r.id);
      onChanged();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) signedOut('Your session ended. Sign in again.');
      else setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="card request" aria-labelledby={`${id}-title`}>
      <div className="card-main">
        <p className="card-title" id={`${id}-title`}>
          <RoleName role={role} id={String(r.roleId)} />{' '}
          <span className="at">
            at <code>{String(r.scope)}</code>
          </span>
        </p>
        <p className="muted">
          {r.kind === 'extend' ? 'Extension · ' : ''}
          {durationWords(r.duration)} · asked {formatTime(r.createdAt as string)}
          {r.ticket ? ` · ticket ${String(r.ticket)}` : ''}
        </p>
        {r.justification ? <p className="quote">“{String(r.justification)}”</p> : null}
        {ENDED_BADLY.has(r.status) && reasons.length > 0 ? (
          <div className="why">
            <p>{r.status === 'denied' ? 'Denied, because:' : 'Why:'}</p>
            <ul>
              {reasons.map((c) => (
                <li key={c} data-reason={c}>
                  {explain(c).text}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {decisions.length > 0 ? (
          <ul className="decisions">
            {decisions.map((d) => (
              <li key={`${d.approverId}-${d.at}`}>
                {d.decision === 'approve' ? 'Approved' : 'Denied'} by <strong>{d.approverId}</strong> ({formatTime(d.at)}): <span className="quote">“{d.reason}”</span>
              </li>
            ))}
          </ul>
        ) : null}
        {reasons.includes('approver_denied') ? <p className="hint">What to do next: talk to the approver about their reason, then ask again with the context they missed.</p> : null}
        {r.status === 'pending_approval' && r.timeoutAt ? <p className="muted">To be decided by {formatTime(r.timeoutAt as string)}.</p> : null}
        <Problem error={error} />
      </div>
      <div className="card-side">
        <span className={`status status-${r.status}`}>{statusWords(r.status)}</span>
        {r.status === 'pending_approval' || r.status === 'scheduled' ? (
          <button type="button" onClick={() => void cancel()} disabled={busy}>
            Cancel request
          </button>
        ) : null}
      </div>
    </li>
  );
}
