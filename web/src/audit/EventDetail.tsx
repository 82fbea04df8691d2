import { useEffect, useId, useRef, type ReactNode } from 'react';
import { explain } from '../reasons.js';
import { formatTime } from '../time.js';
import type { AuditEventView } from './api.js';

/** One audit event in full: every field, the reasons in plain words, and its data pretty-printed. */
export function EventDetail({ event: e, onClose, onFilterPerson }: { event: AuditEventView; onClose: () => void; onFilterPerson: (principalId: string) => void }) {
  const id = useId();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const at = String(e.at ?? '');
  const row = (label: string, value: ReactNode) => (
    <>
      <dt>{label}</dt>
      <dd>{value === null || value === undefined || value === '' ? <span className="muted">—</span> : value}</dd>
    </>
  );
  return (
    <dialog ref={ref} className="dialog event-detail" aria-labelledby={`${id}-title`} onCancel={onClose} onClose={onClose}>
      <form method="dialog">
        <header className="dialog-head">
          <h2 id={`${id}-title`}>
            Event {e.seq}: <code>{e.type}</code>
          </h2>
          <span className={`outcome outcome-${e.outcome}`}>{e.outcome}</span>
        </header>
        <dl className="facts">
          {row('Time', <><time dateTime={at}>{formatTime(at)}</time> <code className="muted">{at}</code></>)}
          {row('Sequence', String(e.seq))}
          {row('Event id', <code>{e.id}</code>)}
          {row('Type', <code>{e.type}</code>)}
          {row('Outcome', e.outcome)}
          {row('Actor', e.actorId)}
          {row('Person', e.principalId)}
          {row('Role', e.roleId)}
          {row('Scope', e.scope ? <code>{e.scope}</code> : null)}
          {row('Request', e.requestId ? <code>{e.requestId}</code> : null)}
          {row(
            'Reasons',
            e.reasons.length ? (
              <ul className="reasons">
                {e.reasons.map((c) => (
                  <li key={c}>
                    <code>{c}</code>: {explain(c).text}
                  </li>
                ))}
              </ul>
            ) : null,
          )}
          {row('Previous hash', <code className="hash">{String(e.prevHash ?? '')}</code>)}
          {row('Hash', <code className="hash">{String(e.hash ?? '')}</code>)}
        </dl>
        <h3 id={`${id}-data`}>Data</h3>
        <pre className="data" aria-labelledby={`${id}-data`} tabIndex={0}>
          {JSON.stringify(e.data, null, 2)}
        </pre>
        <div className="actions">
          {e.principalId ? (
            <button type="button" onClick={() => onFilterPerson(e.principalId!)}>
              Only {e.principalId}’s events
            </button>
          ) : null}
          <button type="submit" className="primary" autoFocus>
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}
