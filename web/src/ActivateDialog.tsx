import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { activate, ApiError, type ActivationRequest, type Role } from './api.js';
import { describeRules, maxActivationMs, mfaStrength, needsApproval, settingsOf, wantsTicket } from './rules.js';
import { StepUp } from './StepUp.js';
import { formatSpan } from './time.js';
import { Problem, Risk, useSession } from './ui.js';

const QUICK = [30, 60, 90];

/**
 * Activate (or request) a role at a scope. The rules are explained before anything is sent; the
 * server decides. A refusal is shown reason by reason; one that only needs MFA is met inline and
 * the request is sent again.
 */
export function ActivateDialog({ role, scope, onClose, onDone }: { role: Role; scope: string; onClose: () => void; onDone: (r: ActivationRequest) => void }) {
  const id = useId();
  const { signedOut } = useSession();
  const ref = useRef<HTMLDialogElement>(null);
  const s = settingsOf(role);
  const maxMin = Math.max(1, Math.floor(maxActivationMs(s) / 60_000));
  const quick = QUICK.filter((m) => m <= maxMin);
  const approval = needsApproval(s);
  const ticketField = wantsTicket(s);
  const minLength = s.justification?.minLength ?? 10;

  const [target, setTarget] = useState(scope);
  const [choice, setChoice] = useState<string>(quick.length > 0 ? String(quick[0]) : 'custom');
  const [custom, setCustom] = useState(String(Math.min(maxMin, 30)));
  const [justification, setJustification] = useState('');
  const [ticket, setTicket] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [stepUp, setStepUp] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  // A refusal appears below the fields: bring it into view.
  const problem = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) problem.current?.scrollIntoView({ block: 'nearest' });
  }, [error]);

  const minutes = choice === 'custom' ? Number(custom) : Number(choice);

  async function send() {
    setBusy(true);
    setError(null);
    try {
      const r = await activate({
        roleId: role.id,
        scope: target.trim(),
        duration: `PT${Number.isFinite(minutes) && minutes > 0 ? Math.round(minutes) : 0}M`,
        justification,
        ...(ticketField && ticket.trim() ? { ticket: ticket.trim() } : {}),
      });
      onDone(r);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signedOut('Your session ended. Sign in again.');
      setError(e);
      const reasons = e instanceof ApiError && Array.isArray(e.details.reasons) ? (e.details.reasons as string[]) : [];
      setStepUp(e instanceof ApiError && (reasons.includes('mfa_required') || reasons.includes('mfa_too_weak') || e.code === 'mfa_required' || e.code === 'mfa_too_weak'));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void send();
  }

  const strength = mfaStrength(s);
  const rules = describeRules(role);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-scope`} onCancel={onClose} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <header className="dialog-head">
          <h2 id={`${id}-title`}>
            {approval ? 'Request' : 'Activate'} {role.name}
          </h2>
          <Risk tier={role.riskTier} />
        </header>
        <p id={`${id}-scope`} className="muted">
          You are eligible at <code>{scope}</code>.
        </p>
        <section className="rules" aria-labelledby={`${id}-rules`}>
          <h3 id={`${id}-rules`}>Rules for this role</h3>
          <ul>
            {rules.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </section>

        <div className="field">
          <label htmlFor={`${id}-target`}>Scope</label>
          <input id={`${id}-target`} value={target} onChange={(e) => setTarget(e.target.value)} aria-describedby={`${id}-target-hint`} autoComplete="off" spellCheck={false} />
          <p id={`${id}-target-hint`} className="hint">
            {scope} or a scope below it, for example {scope === '/' ? '/prod' : `${scope}/…`}
          </p>
        </div>

        <fieldset className="field" aria-labelledby={`${id}-duration`} aria-describedby={`${id}-duration-hint`}>
          <legend id={`${id}-duration`}>Duration</legend>
          <div className="choices">
            {quick.map((m) => (
              <label key={m} className="choice">
                <input type="radio" name={`${id}-duration`} value={m} checked={choice === String(m)} onChange={() => setChoice(String(m))} />
                {m} minutes
              </label>
            ))}
            <label className="choice">
              <input type="radio" name={`${id}-duration`} value="custom" checked={choice === 'custom'} onChange={() => setChoice('custom')} />
              Custom
            </label>
          </div>
          {choice === 'custom' ? (
            <div className="custom">
              <label htmlFor={`${id}-minutes`}>Minutes</label>
              <input id={`${id}-minutes`} type="number" inputMode="numeric" min={1} max={maxMin} step={1} value={custom} onChange={(e) => setCustom(e.target.value)} />
            </div>
          ) : null}
          <p id={`${id}-duration-hint`} className="hint">
            At most {formatSpan(maxMin * 60_000)}.
          </p>
        </fieldset>

        <div className="field">
          <label htmlFor={`${id}-justification`}>Justification</label>
          <textarea id={`${id}-justification`} rows={2} value={justification} onChange={(e) => setJustification(e.target.value)} aria-describedby={`${id}-justification-hint`} />
          <p id={`${id}-justification-hint`} className="hint">
            {s.justification?.required === false ? 'Optional. ' : ''}Say why you need it: the incident, change or task. At least {minLength} characters ({[...justification.trim()].length} so far).
          </p>
        </div>

        {ticketField ? (
          <div className="field">
            <label htmlFor={`${id}-ticket`}>Ticket</label>
            <input id={`${id}-ticket`} value={ticket} onChange={(e) => setTicket(e.target.value)} aria-describedby={`${id}-ticket-hint`} autoComplete="off" spellCheck={false} />
            <p id={`${id}-ticket-hint`} className="hint">
              {s.ticket?.required ? 'Required' : 'Optional'}
              {s.ticket?.pattern ? `, in the form ${s.ticket.pattern}` : ''}.
            </p>
          </div>
        ) : null}

        <div ref={problem} className="scroll-target">
          <Problem error={error} title={error instanceof ApiError && error.status === 403 ? 'Denied, because:' : 'Not sent:'} />
        </div>
        {stepUp && strength !== 'none' ? <StepUp strength={strength} onVerified={() => void send()} /> : null}

        <div className="actions">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {approval ? 'Request' : 'Activate'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
