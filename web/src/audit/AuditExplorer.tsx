import { Fragment, useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, roles as loadRoles } from '../api.js';
import { formatTime } from '../time.js';
import { Empty, Problem, useSession } from '../ui.js';
import { auditPage, latestCheckpoint, PAGE_SIZE, verifyChain, type AuditEventView, type AuditFilters, type LatestCheckpoint, type VerifyResult } from './api.js';
import { EventDetail } from './EventDetail.js';

const FIELDS = ['principal', 'actor', 'role', 'scope', 'type', 'outcome', 'from', 'to'] as const;
type Field = (typeof FIELDS)[number];

/** Event types worth suggesting; `prefix.*` matches every type starting with `prefix.`. */
const TYPES = [
  'request.*', 'request.created', 'request.approved', 'request.denied', 'request.cancelled', 'request.timed_out',
  'approval.*', 'assignment.*', 'assignment.activated', 'assignment.direct_created', 'assignment.expired', 'assignment.revoked',
  'eligibility.*', 'role.*', 'principal.*', 'authz.denied', 'auth.*', 'auth.login', 'auth.login_failed', 'mfa.*', 'breakglass.*',
];

/** Text that may break after each `.` or `_` (event types, reason codes) and nowhere else. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[._])/);
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 ? <wbr /> : null}
        </Fragment>
      ))}
    </>
  );
}

/** The filters in the address bar (?principal=alice&type=request.*), so a view can be shared and survives a reload. */
function filtersFromUrl(): AuditFilters {
  const q = new URLSearchParams(location.search);
  const f: AuditFilters = {};
  for (const k of FIELDS) {
    const v = q.get(k)?.trim();
    if (v) f[k] = v;
  }
  return f;
}

function filtersToUrl(f: AuditFilters): void {
  const q = new URLSearchParams();
  for (const k of FIELDS) if (f[k]) q.set(k, f[k]!);
  const search = q.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
}

/** ISO → the value of a datetime-local field (local time, to the minute). */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value (local time) → ISO; `endOfMinute` makes "to 10:00" take in all of 10:00. */
function fromLocalInput(v: string, endOfMinute = false): string | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? undefined : new Date(t + (endOfMinute ? 59_999 : 0)).toISOString();
}

/**
 * The audit explorer: the hash-chained log filtered by person, actor, role, scope, type, outcome and time,
 * oldest first, a page at a time; each event in full on request; and whether the chain verifies.
 */
export function AuditExplorer() {
  const id = useId();
  const { signedOut } = useSession();
  const [applied, setApplied] = useState<AuditFilters>(filtersFromUrl);
  const [draft, setDraft] = useState<Record<Field, string>>(() => {
    const f = filtersFromUrl();
    return { principal: f.principal ?? '', actor: f.actor ?? '', role: f.role ?? '', scope: f.scope ?? '', type: f.type ?? '', outcome: f.outcome ?? '', from: toLocalInput(f.from), to: toLocalInput(f.to) };
  });
  const [events, setEvents] = useState<AuditEventView[] | null>(null);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<AuditEventView | null>(null);
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const generation = useRef(0);

  const failed = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) signedOut('Your session ended. Sign in again.');
      else setError(e);
    },
    [signedOut],
  );

  /** The first page for the filters, or the next one after the events shown. */
  const load = useCallback(
    async (f: AuditFilters, after: AuditEventView[] | null) => {
      const mine = after ? generation.current : ++generation.current;
      setBusy(true);
      setError(null);
      try {
        const page = await auditPage(f, after && after.length > 0 ? after[after.length - 1]!.seq : undefined);
        if (mine !== generation.current) return; // the filters changed meanwhile
        setEvents([...(after ?? []), ...page]);
        setMore(page.length === PAGE_SIZE);
      } catch (e) {
        if (mine === generation.current) failed(e);
      } finally {
        if (mine === generation.current) setBusy(false);
      }
    },
    [failed],
  );

  useEffect(() => {
    void load(applied, null);
  }, [applied, load]);

  useEffect(() => {
    loadRoles().then((m) => setRoleIds([...m.keys()].sort()), () => undefined);
  }, []);

  function apply(next: AuditFilters) {
    filtersToUrl(next);
    setEvents(null);
    setApplied(next);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const f: AuditFilters = {};
    for (const k of ['principal', 'actor', 'role', 'scope', 'type', 'outcome'] as const) if (draft[k].trim()) f[k] = draft[k].trim();
    const from = fromLocalInput(draft.from);
    const to = fromLocalInput(draft.to, true);
    if (from) f.from = from;
    if (to) f.to = to;
    apply(f);
  }

  function clear() {
    setDraft({ principal: '', actor: '', role: '', scope: '', type: '', outcome: '', from: '', to: '' });
    apply({});
  }

  const field = (k: Field) => ({
    id: `${id}-${k}`,
    value: draft[k],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value })),
  });
  const active = FIELDS.filter((k) => applied[k]);

  return (
    <>
      <h1 tabIndex={-1}>Audit</h1>
      <ChainState onSignedOut={failed} />

      <form className="filters panel" role="search" aria-label="Filter events" onSubmit={submit} noValidate>
        <div className="filter-grid">
          <div className="field">
            <label htmlFor={`${id}-principal`}>Person</label>
            <input {...field('principal')} autoComplete="off" aria-describedby={`${id}-principal-hint`} />
            <p className="hint" id={`${id}-principal-hint`}>
              Whose access the event is about (principal id)
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-actor`}>Actor</label>
            <input {...field('actor')} autoComplete="off" aria-describedby={`${id}-actor-hint`} />
            <p className="hint" id={`${id}-actor-hint`}>
              Who did it
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>Role</label>
            <input {...field('role')} list={`${id}-roles`} autoComplete="off" />
            <datalist id={`${id}-roles`}>
              {roleIds.map((r) => (
                <option key={r} value={r} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={`${id}-scope`}>Scope</label>
            <input {...field('scope')} autoComplete="off" placeholder="/prod" aria-describedby={`${id}-scope-hint`} />
            <p id={`${id}-scope-hint`} className="hint">
              This scope and everything below it
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-type`}>Event type</label>
            <input {...field('type')} list={`${id}-types`} autoComplete="off" aria-describedby={`${id}-type-hint`} />
            <datalist id={`${id}-types`}>
              {TYPES.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            <p className="hint" id={`${id}-type-hint`}>
              Exact, or <code>request.*</code> for a family
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-outcome`}>Outcome</label>
            <select {...field('outcome')}>
              <option value="">Any</option>
              <option value="allowed">Allowed</option>
              <option value="denied">Denied</option>
              <option value="info">Info</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-from`}>From</label>
            <input type="datetime-local" {...field('from')} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-to`}>To</label>
            <input type="datetime-local" {...field('to')} />
          </div>
        </div>
        <div className="actions">
          <button type="button" onClick={clear} disabled={busy && events === null}>
            Clear
          </button>
          <button type="submit" className="primary">
            Apply filters
          </button>
        </div>
      </form>

      <Problem error={error} />
      <p className="muted" role="status">
        {events === null
          ? 'Loading events…'
          : `${events.length === 0 ? 'No events' : `${events.length}${more ? '+' : ''} event${events.length === 1 ? '' : 's'}`}${active.length ? ` matching ${active.map((k) => `${k} ${k === 'from' || k === 'to' ? formatTime(applied[k]) : applied[k]}`).join(', ')}` : ''}, oldest first.`}
      </p>
      {events !== null && events.length === 0 ? <Empty>No event matches these filters.</Empty> : null}
      {events && events.length > 0 ? (
        <div className="table-wrap" role="region" aria-label="Audit events" tabIndex={0}>
          <table className="events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Outcome</th>
                <th scope="col">Actor</th>
                <th scope="col">Person</th>
                <th scope="col">Role</th>
                <th scope="col">Scope</th>
                <th scope="col">Reasons</th>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.seq} aria-label={`Event ${e.seq}: ${e.type}`} className={e.outcome === 'denied' ? 'is-denied' : undefined}>
                  <td className="nowrap" data-label="Time">
                    <time dateTime={String(e.at ?? '')}>{formatTime(e.at as string)}</time>
                  </td>
                  <td data-label="Event">
                    <code>
                      <Breakable text={e.type} />
                    </code>
                  </td>
                  <td data-label="Outcome">
                    <span className={`outcome outcome-${e.outcome}`}>{e.outcome}</span>
                  </td>
                  <td className="id" data-label="Actor">{e.actorId ?? '—'}</td>
                  <td className="id" data-label="Person">{e.principalId ?? '—'}</td>
                  <td className="id" data-label="Role">{e.roleId ?? '—'}</td>
                  <td className="id" data-label="Scope">{e.scope ? <code>{e.scope}</code> : '—'}</td>
                  <td className="reasons" data-label="Reasons">
                    {e.reasons.map((r, i) => (
                      <Fragment key={r}>
                        {i > 0 ? ', ' : null}
                        <Breakable text={r} />
                      </Fragment>
                    ))}
                  </td>
                  <td className="row-action">
                    <button type="button" className="small" aria-label={`Details of event ${e.seq}`} onClick={() => setSelected(e)}>
                      Details
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {more ? (
        <div className="actions start">
          <button type="button" onClick={() => void load(applied, events)} disabled={busy}>
            {busy ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
      {selected ? (
        <EventDetail
          event={selected}
          onClose={() => setSelected(null)}
          onFilterPerson={(p) => {
            setSelected(null);
            setDraft((d) => ({ ...d, principal: p }));
            apply({ ...applied, principal: p });
          }}
        />
      ) : null}
    </>
  );
}

/** Whether the chain verifies, in plain words: how many events, and who signed the last checkpoint when. */
function ChainState({ onSignedOut }: { onSignedOut: (e: unknown) => void }) {
  const [state, setState] = useState<{ report: VerifyResult; checkpoint: LatestCheckpoint | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(true);

  const run = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      const [report, checkpoint] = await Promise.all([verifyChain(), latestCheckpoint()]);
      setState({ report, checkpoint });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onSignedOut(e);
      else setError(e);
    } finally {
      setBusy(false);
    }
  }, [onSignedOut]);

  useEffect(() => {
    void run();
  }, [run]);

  const r = state?.report;
  const cp = state?.checkpoint ?? null;
  const n = (x: number) => x.toLocaleString();
  return (
    <section aria-labelledby="chain-h" className={`chain ${r ? (r.ok ? 'chain-ok' : 'chain-bad') : ''}`}>
      <h2 id="chain-h">Chain verification</h2>
      <Problem error={error} title="The chain could not be verified:" />
      {busy && !r ? <p className="muted">Verifying every event and signed checkpoint…</p> : null}
      {r?.ok ? (
        <p className="chain-line" role="status">
          <span aria-hidden="true">✓ </span>
          <strong>Verified:</strong> {n(r.events)} event{r.events === 1 ? '' : 's'}
          {cp ? (
            <>
              , last checkpoint signed by key <code>{cp.keyId}</code> at <time dateTime={cp.at}>{formatTime(cp.at)}</time> (event {n(cp.seq)}).
            </>
          ) : (
            <>. No checkpoint has been signed yet: the hashes link, but no signature pins them.</>
          )}
        </p>
      ) : null}
      {r && !r.ok && r.firstBadEvent ? (
        <div className="chain-line" role="alert">
          <p>
            <span aria-hidden="true">✗ </span>
            <strong>Not verified:</strong> the chain breaks at event {n(r.firstBadEvent.seq)} ({r.firstBadEvent.problem.replace(/_/g, ' ')}).
          </p>
          <p>{r.firstBadEvent.detail}</p>
          {r.firstBadEvent.range ? (
            <p>
              The change lies between events {n(r.firstBadEvent.range[0])} and {n(r.firstBadEvent.range[1])}.
            </p>
          ) : null}
          <p>Events from there on cannot be trusted. {n(r.events)} events were read.</p>
        </div>
      ) : null}
      <div className="actions start">
        <button type="button" className="small" onClick={() => void run()} disabled={busy}>
          {busy && r ? 'Verifying…' : 'Verify again'}
        </button>
      </div>
    </section>
  );
}
