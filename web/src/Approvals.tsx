import { useEffect, useId, useState, type ReactNode } from 'react';
import { ApiError, approvable, approve, client, deny, roles as loadRoles, type ActivationRequest, type Role } from './api.js';
import { mfaStrength, settingsOf } from './rules.js';
import { StepUp } from './StepUp.js';
import { durationWords, formatTime } from './time.js';
import { Empty, Problem, Risk, useLoad, useSession } from './ui.js';

/**
 * The approvals inbox: pending requests the server says this person may decide (never their own),
 * with what an approver needs to judge them. Approve or deny, each with a reason.
 */
export function Approvals() {
  const { data, error, reload } = useLoad(async () => {
    const [roles, pending] = await Promise.all([loadRoles(), approvable()]);
    return { roles, pending };
  });
  const [notice, setNotice] = useState<ReactNode>(null);
  return (
    <>
      <h1 tabIndex={-1}>Approvals</h1>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : data.pending.length === 0 ? <Empty>Nothing is waiting for your decision.</Empty> : null}
      {data && data.pending.length > 0 ? (
        <ul className="cards">
          {data.pending.map((r) => (
            <Decision
              key={r.id}
              r={r}
              role={data.roles.get(String(r.roleId))}
              onDecided={(verb, role) => {
                setNotice(
                  <>
                    You {verb} {String(r.principalId)}’s request for {role?.name ?? String(r.roleId)} at <code>{String(r.scope)}</code>.
                  </>,
                );
                void reload();
              }}
            />
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** What the server adds for an approver: who else may decide, and the requester's recent requests. */
interface ApproverContext {
  otherApprovers: string[];
  recentRequests: { id: string; roleId: string; scope: string; status: string; duration: string; createdAt: string }[];
}

function useApproverContext(requestId: string): ApproverContext | null {
  const [ctx, setCtx] = useState<ApproverContext | null>(null);
  useEffect(() => {
    let live = true;
    client()
      .call<{ context?: ApproverContext | null }>('GET', `/api/v1/requests/${encodeURIComponent(requestId)}`)
      .then((r) => live && setCtx(r.context ?? null))
      .catch(() => undefined); // the card still shows the request itself
    return () => {
      live = false;
    };
  }, [requestId]);
  return ctx;
}

function Decision({ r, role, onDecided }: { r: ActivationRequest; role: Role | undefined; onDecided: (verb: 'approved' | 'denied', role: Role | undefined) => void }) {
  const id = useId();
  const { signedOut } = useSession();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [stepUp, setStepUp] = useState<null | 'approve' | 'deny'>(null);
  const strength = mfaStrength(settingsOf(role));
  const ctx = useApproverContext(r.id);

  async function decide(what: 'approve' | 'deny') {
    setBusy(true);
    setError(null);
    try {
      await (what === 'approve' ? approve : deny)(r.id, reason.trim());
      setStepUp(null);
      onDecided(what === 'approve' ? 'approved' : 'denied', role);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signedOut('Your session ended. Sign in again.');
      setError(e);
      setStepUp(e instanceof ApiError && (e.code === 'mfa_required' || e.code === 'mfa_too_weak') ? what : null);
    } finally {
      setBusy(false);
    }
  }

  const who = String(r.principalId);
  return (
    <li className="card decision" aria-labelledby={`${id}-title`}>
      <div className="card-main">
        <h2 className="card-title" id={`${id}-title`}>
          {who} asks for {role?.name ?? String(r.roleId)}
        </h2>
        <dl className="facts">
          <dt>Requester</dt>
          <dd>{who}</dd>
          <dt>Role</dt>
          <dd>
            {role?.name ?? String(r.roleId)} <Risk tier={role?.riskTier} />
          </dd>
          <dt>Scope</dt>
          <dd>
            <code>{String(r.scope)}</code>
          </dd>
          <dt>Duration</dt>
          <dd>{durationWords(r.duration)}</dd>
          <dt>Justification</dt>
          <dd className="quote">{r.justification ? `“${String(r.justification)}”` : '(none)'}</dd>
          <dt>Ticket</dt>
          <dd>{r.ticket ? String(r.ticket) : '(none)'}</dd>
          <dt>Asked</dt>
          <dd>{formatTime(r.createdAt as string)}</dd>
          {r.timeoutAt ? (
            <>
              <dt>Decide by</dt>
              <dd>{formatTime(r.timeoutAt as string)}</dd>
            </>
          ) : null}
          {ctx ? (
            <>
              <dt>Others who can approve</dt>
              <dd>{ctx.otherApprovers.length ? ctx.otherApprovers.join(', ') : 'only you'}</dd>
              <dt>Recent requests</dt>
              <dd>
                {ctx.recentRequests.length === 0 ? (
                  'none before this one'
                ) : (
                  <ul className="recent">
                    {ctx.recentRequests.map((x) => (
                      <li key={x.id}>
                        {x.roleId} at <code>{x.scope}</code>, {durationWords(x.duration)}: {x.status.replace(/_/g, ' ')} ({formatTime(x.createdAt)})
                      </li>
                    ))}
                  </ul>
                )}
              </dd>
            </>
          ) : null}
        </dl>
        <form
          className="decide"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason</label>
            <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby={`${id}-reason-hint`} autoComplete="off" />
            <p id={`${id}-reason-hint`} className="hint">
              Required, for the audit trail: why you approve or deny.
            </p>
          </div>
          <div className="actions">
            <button type="button" className="primary" onClick={() => void decide('approve')} disabled={busy}>
              Approve
            </button>
            <button type="button" className="danger" onClick={() => void decide('deny')} disabled={busy}>
              Deny
            </button>
          </div>
        </form>
        <Problem error={error} title={error instanceof ApiError && error.status === 403 ? 'Not recorded, because:' : undefined} />
        {stepUp && strength !== 'none' ? <StepUp strength={strength} onVerified={() => void decide(stepUp)} /> : null}
      </div>
    </li>
  );
}
