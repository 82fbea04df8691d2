import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { durationWords, formatSpan, formatTime, parseDuration, serverNow, toMs } from '../time.js';
import { Empty, Problem, Risk, useLoad, useSession } from '../ui.js';
import {
  convertToEligible,
  createEligibility,
  decideRenewal,
  eligibilities as loadEligibilities,
  liveAssignments,
  pendingRenewals,
  principals as loadPrincipals,
  removeEligibility,
  roles as loadRoles,
  type Assignment,
  type Eligibility,
  type Principal,
  type Renewal,
  type Role,
} from './api.js';
import { EditorActions, PrincipalList, useAction, useFields } from './form.js';

interface Data {
  eligibilities: Eligibility[];
  grants: Assignment[];
  roles: Map<string, Role>;
  principals: Map<string, Principal>;
  renewals: Renewal[];
}

async function load(): Promise<Data> {
  const [eligibilities, grants, roles, principals, renewals] = await Promise.all([loadEligibilities(), liveAssignments(), loadRoles(), loadPrincipals(), pendingRenewals()]);
  return { eligibilities, grants, roles: new Map(roles.map((r) => [r.id, r])), principals: new Map(principals.map((p) => [p.id, p])), renewals };
}

const until = (t: Assignment['endsAt']) => (t === null || t === undefined ? 'no end date' : `until ${formatTime(t)}`);
const ends = (t: Assignment['endsAt']) => (t ? formatTime(t) : 'no end date');

/** What the role's settings say a conversion gives (the server decides; this only says it beforehand). */
function eligibilityAfterConvert(role: Role | undefined): string {
  const e = (role?.settings.eligibility ?? {}) as { allowPermanent?: boolean; maxDuration?: string | null };
  if (e.allowPermanent === false && e.maxDuration) return `for ${durationWords(e.maxDuration)} (the role's longest eligibility)`;
  return 'with no end date';
}

/**
 * What approving a renewal gives, from the role's settings (the server decides and says the new end):
 * the role's longest eligibility added to the current end, or, where permanent eligibility is
 * allowed, the eligibility's own length again.
 */
function renewalExtension(role: Role | undefined, e: Eligibility | undefined): number | null {
  const rule = (role?.settings.eligibility ?? {}) as { allowPermanent?: boolean; maxDuration?: string | null };
  const start = toMs(e?.startsAt);
  const end = toMs(e?.endsAt);
  if (start === null || end === null) return null;
  return rule.allowPermanent === false ? parseDuration(rule.maxDuration) : end - start;
}

/** Eligibilities and live assignments; standing (direct) ones stand out and convert to eligibility in one click. */
export function Access() {
  const id = useId();
  const { data, error, reload } = useLoad(load, 30_000);
  const [query, setQuery] = useState('');
  const [notice, setNotice] = useState<ReactNode>(null);
  const [adding, setAdding] = useState(false);

  const q = query.trim().toLowerCase();
  const names = (x: { principalId: string; roleId: string; scope: string }) =>
    [x.principalId, data?.principals.get(x.principalId)?.name ?? '', x.roleId, data?.roles.get(x.roleId)?.name ?? '', x.scope].join('\u0000').toLowerCase();
  const match = (x: { principalId: string; roleId: string; scope: string }) => !q || names(x).includes(q);
  const byScope = <T extends { scope: string; principalId: string; roleId: string }>(a: T, b: T) => a.scope.localeCompare(b.scope) || a.principalId.localeCompare(b.principalId) || a.roleId.localeCompare(b.roleId);

  const now = serverNow();
  const grants = (data?.grants ?? []).filter((g) => g.status === 'active' || g.status === 'scheduled');
  const standing = grants.filter((g) => g.source === 'direct' && match(g)).sort(byScope);
  const jit = grants.filter((g) => g.source !== 'direct' && match(g)).sort(byScope);
  const eligs = (data?.eligibilities ?? []).filter((e) => !e.removedAt && (toMs(e.endsAt) ?? Infinity) > now && match(e)).sort(byScope);
  const renewals = (data?.renewals ?? []).filter(match).sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const who = (pid: string) => <Who p={data?.principals.get(pid)} id={pid} />;
  const what = (rid: string) => <span className="role-name">{data?.roles.get(rid)?.name ?? rid}</span>;

  return (
    <section aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Eligibilities and assignments</h2>
      <p className="muted">
        Standing access is what Elevate exists to drive to zero: convert each direct assignment to an eligibility, and the person activates the role when they need it.
      </p>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <Problem error={error} />
      <div className="admin-filters">
        <div className="field">
          <label htmlFor={`${id}-q`}>Filter by principal, role or scope</label>
          <input id={`${id}-q`} type="search" value={query} onChange={(e) => setQuery(e.target.value)} autoComplete="off" spellCheck={false} />
        </div>
      </div>

      <section aria-labelledby={`${id}-renewals`} className="block">
        <h3 id={`${id}-renewals`}>Renewal requests{data ? ` (${renewals.length})` : ''}</h3>
        <p className="muted">People ask to keep an eligibility in its last 14 days. Approving moves its end on; the person who asked cannot decide their own request.</p>
        {data !== null && renewals.length === 0 ? <Empty>No renewal is waiting{q ? ' that matches' : ''}.</Empty> : null}
        <ul className="cards">
          {renewals.map((r) => (
            <RenewalItem
              key={r.id}
              r={r}
              e={data?.eligibilities.find((x) => x.id === r.eligibilityId)}
              role={data?.roles.get(r.roleId)}
              who={who(r.principalId)}
              what={what(r.roleId)}
              onDecided={(n) => {
                setNotice(n);
                void reload();
              }}
            />
          ))}
        </ul>
      </section>

      <section aria-labelledby={`${id}-standing`} className="block">
        <h3 id={`${id}-standing`}>Standing access{data ? ` (${standing.length})` : ''}</h3>
        {data === null ? <p className="muted">Loading…</p> : standing.length === 0 ? <Empty>No standing access{q ? ' matches' : ''}. Everyone activates what they need.</Empty> : null}
        <ul className="cards">
          {standing.map((g) => (
            <StandingItem
              key={g.id}
              grant={g}
              role={data?.roles.get(g.roleId)}
              who={who(g.principalId)}
              what={what(g.roleId)}
              onConverted={(n) => {
                setNotice(n);
                void reload();
              }}
            />
          ))}
        </ul>
      </section>

      <section aria-labelledby={`${id}-jit`} className="block">
        <h3 id={`${id}-jit`}>Active just-in-time grants{data ? ` (${jit.length})` : ''}</h3>
        {data !== null && jit.length === 0 ? <Empty>Nobody has a role activated right now{q ? ' that matches' : ''}.</Empty> : null}
        {jit.length > 0 ? (
          <AccessTable
            columns={
              <>
                <th scope="col">How</th>
                <th scope="col">Ends</th>
              </>
            }
          >
            {jit.map((g) => (
              <tr key={g.id}>
                <AccessCells who={who(g.principalId)} what={what(g.roleId)} scope={g.scope} />
                <td data-label="How">{g.source === 'breakglass' ? 'Break-glass' : g.status === 'scheduled' ? 'Activated (scheduled)' : 'Activated'}</td>
                <td data-label="Ends">{ends(g.endsAt)}</td>
              </tr>
            ))}
          </AccessTable>
        ) : null}
      </section>

      <section aria-labelledby={`${id}-elig`} className="block">
        <div className="section-head">
          <h3 id={`${id}-elig`}>Eligibilities{data ? ` (${eligs.length})` : ''}</h3>
          <button type="button" aria-expanded={adding} onClick={() => setAdding((x) => !x)}>
            Make eligible
          </button>
        </div>
        {adding && data ? (
          <NewEligibility
            data={data}
            onCancel={() => setAdding(false)}
            onCreated={(e) => {
              setAdding(false);
              setNotice(
                <>
                  {who(e.principalId)} is now eligible for {what(e.roleId)} at <code>{e.scope}</code> {until(e.endsAt)}.
                </>,
              );
              void reload();
            }}
          />
        ) : null}
        {data !== null && eligs.length === 0 ? <Empty>No eligibility{q ? ' matches' : ''}.</Empty> : null}
        {eligs.length > 0 ? (
          <AccessTable
            columns={
              <>
                <th scope="col">Until</th>
                <th scope="col" className="col-act">
                  <span className="visually-hidden">Actions</span>
                </th>
              </>
            }
          >
            {eligs.map((e) => (
              <EligibilityRow
                key={e.id}
                e={e}
                who={who(e.principalId)}
                what={what(e.roleId)}
                label={`${data?.principals.get(e.principalId)?.name || e.principalId}, ${data?.roles.get(e.roleId)?.name ?? e.roleId} at ${e.scope}`}
                onRemoved={(n) => {
                  setNotice(n);
                  void reload();
                }}
              />
            ))}
          </AccessTable>
        ) : null}
      </section>
    </section>
  );
}

/** A table of grants or eligibilities: who, what and where, then the caller's columns; rows start with AccessCells. */
function AccessTable({ columns, children }: { columns: ReactNode; children: ReactNode }) {
  return (
    <table className="admin-table">
      <thead>
        <tr>
          <th scope="col" className="col-who">Principal</th>
          <th scope="col">Role</th>
          <th scope="col">Scope</th>
          {columns}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

function AccessCells({ who, what, scope }: { who: ReactNode; what: ReactNode; scope: string }) {
  return (
    <>
      <td data-label="Principal">{who}</td>
      <td data-label="Role">{what}</td>
      <td data-label="Scope">
        <code>{scope}</code>
      </td>
    </>
  );
}

function Who({ p, id }: { p: Principal | undefined; id: string }) {
  return (
    <span className="name">
      {p?.name || id}
      {p?.kind === 'group' ? ' (group)' : ''}
      {p?.name && p.name !== id ? <span className="muted"> · {id}</span> : null}
    </span>
  );
}

function StandingItem({ grant, role, who, what, onConverted }: { grant: Assignment; role: Role | undefined; who: ReactNode; what: ReactNode; onConverted: (n: ReactNode) => void }) {
  const id = useId();
  const { busy, error, run } = useAction(true);

  const convert = () =>
    run(async () => {
      const r = await convertToEligible(grant.id);
      onConverted(
        <>
          Converted: {who} no longer holds {what} at <code>{grant.scope}</code> standing, and is {r.eligibilityCreated ? 'now' : 'still'} eligible for it {until(r.eligibility.endsAt)}
          {r.eligibilityCreated ? '' : ' (the eligibility already there was kept)'}.
        </>,
      );
    });

  return (
    <li className="card standing-card" aria-labelledby={`${id}-title`}>
      <div className="card-main">
        <p className="card-title" id={`${id}-title`}>
          {who} <span className="at">holds</span> {what} <span className="at">at</span> <code>{grant.scope}</code>
        </p>
        <p>
          <span className="tag tag-standing">Standing access</span> <Risk tier={role?.riskTier} />
        </p>
        <p className="muted">
          {grant.status === 'scheduled' ? `Starts ${formatTime(grant.startsAt)}, ` : `Since ${formatTime(grant.startsAt)}, `}
          {until(grant.endsAt)}
          {typeof grant.justification === 'string' && grant.justification ? (
            <>
              {' · '}
              <span className="quote">“{grant.justification}”</span>
            </>
          ) : null}
        </p>
        <p className="hint" id={`${id}-hint`}>
          Converting ends this grant now and makes them eligible {eligibilityAfterConvert(role)}: they activate it, justified and time-boxed, when they need it.
        </p>
      </div>
      <div className="card-actions">
        <button type="button" className="primary" disabled={busy} aria-describedby={`${id}-hint`} onClick={() => void convert()}>
          Convert to eligible
        </button>
      </div>
      {error ? (
        <div className="card-full">
          <Problem error={error} title="Not converted:" />
        </div>
      ) : null}
    </li>
  );
}

function RenewalItem({ r, e, role, who, what, onDecided }: { r: Renewal; e: Eligibility | undefined; role: Role | undefined; who: ReactNode; what: ReactNode; onDecided: (n: ReactNode) => void }) {
  const id = useId();
  const { me } = useSession();
  const [reason, setReason] = useState('');
  const { busy, error, run } = useAction(true);
  const own = r.principalId === me.principal.id;
  const end = toMs(e?.endsAt);
  const by = renewalExtension(role, e);
  const to = end !== null && by !== null ? Math.max(end, serverNow()) + by : null;

  const decide = (decision: 'approve' | 'deny') =>
    run(async () => {
      const out = await decideRenewal(r.id, decision, reason);
      onDecided(
        decision === 'approve' ? (
          <>
            Renewed: {who} is eligible for {what} at <code>{r.scope}</code> {until(out.eligibility.endsAt)}.
          </>
        ) : (
          <>
            Renewal denied: {who} stays eligible for {what} at <code>{r.scope}</code> {until(out.eligibility.endsAt)} only.
          </>
        ),
      );
    });

  return (
    <li className="card renewal-card" aria-labelledby={`${id}-title`}>
      <div className="card-main">
        <p className="card-title" id={`${id}-title`}>
          {who} <span className="at">asks to renew</span> {what} <span className="at">at</span> <code>{r.scope}</code>
        </p>
        <p>
          <Risk tier={role?.riskTier} /> <span className="warn">Ends {e ? ends(e.endsAt) : 'unknown'}</span>
          <span className="muted"> · asked {formatTime(r.createdAt)}</span>
        </p>
        <p>
          <span className="quote">“{r.justification}”</span>
        </p>
        <p className="hint" id={`${id}-hint`}>
          {by !== null && to !== null ? `Approving extends it by ${formatSpan(by)}, to ${formatTime(to)}.` : 'Approving extends it by the role’s longest eligibility.'}
        </p>
      </div>
      {own ? (
        <p className="card-full hint">This is your own request: another administrator decides it.</p>
      ) : (
        <form
          className="card-full decide"
          aria-label={`Decide the renewal for ${r.principalId}`}
          onSubmit={(ev) => {
            ev.preventDefault();
            void decide('approve');
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason</label>
            <input id={`${id}-reason`} value={reason} onChange={(ev) => setReason(ev.target.value)} autoComplete="off" maxLength={1000} />
          </div>
          <Problem error={error} title="Not decided:" />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy} aria-describedby={`${id}-hint`}>
              Approve renewal
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => void decide('deny')}>
              Deny renewal
            </button>
          </div>
        </form>
      )}
    </li>
  );
}

function EligibilityRow({ e, who, what, label, onRemoved }: { e: Eligibility; who: ReactNode; what: ReactNode; label: string; onRemoved: (n: ReactNode) => void }) {
  const [confirm, setConfirm] = useState(false);
  const { busy, error, run } = useAction(true);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirm) yes.current?.focus();
  }, [confirm]);

  const remove = () =>
    run(async () => {
      await removeEligibility(e.id);
      onRemoved(
        <>
          Removed: {who} is no longer eligible for {what} at <code>{e.scope}</code>; grants activated under it ended.
        </>,
      );
    });

  return (
    <tr>
      <AccessCells who={who} what={what} scope={e.scope} />
      <td data-label="Until">{ends(e.endsAt)}</td>
      <td className="cell-actions">
        {confirm ? (
          <span className="row">
            <button ref={yes} type="button" className="danger" disabled={busy} aria-label={`Confirm removing ${label}`} onClick={() => void remove()}>
              Remove now
            </button>
            <button type="button" onClick={() => setConfirm(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" aria-label={`Remove ${label}`} onClick={() => setConfirm(true)}>
            Remove
          </button>
        )}
        {error ? <Problem error={error} /> : null}
      </td>
    </tr>
  );
}

function NewEligibility({ data, onCancel, onCreated }: { data: Data; onCancel: () => void; onCreated: (e: Eligibility) => void }) {
  const id = useId();
  const [f, set] = useFields({ principalId: '', roleId: '', scope: '/', until: '', justification: '' });
  const { busy, error, run } = useAction();
  const role = data.roles.get(f.roleId);
  const rule = (role?.settings.eligibility ?? {}) as { allowPermanent?: boolean; maxDuration?: string | null };

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      const endsAt = f.until ? new Date(`${f.until}T23:59:59`).toISOString() : null;
      onCreated(await createEligibility({ principalId: f.principalId.trim(), roleId: f.roleId, scope: f.scope.trim(), endsAt, justification: f.justification }));
    });
  }

  const principals = [...data.principals.values()].sort((a, b) => a.id.localeCompare(b.id));
  const roles = [...data.roles.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <form className="panel editor" onSubmit={submit} aria-labelledby={`${id}-h`} noValidate>
      <h4 id={`${id}-h`}>Make someone eligible</h4>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-p`}>Principal</label>
          <input id={`${id}-p`} list={`${id}-ps`} value={f.principalId} onChange={set('principalId')} autoComplete="off" spellCheck={false} />
          <PrincipalList id={`${id}-ps`} principals={principals} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-r`}>Role</label>
          <select id={`${id}-r`} value={f.roleId} onChange={set('roleId')}>
            <option value="">Choose a role…</option>
            {roles.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({r.riskTier} risk)
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-s`}>Scope</label>
          <input id={`${id}-s`} value={f.scope} onChange={set('scope')} aria-describedby={`${id}-s-hint`} autoComplete="off" spellCheck={false} />
          <p id={`${id}-s-hint`} className="hint">
            It covers this scope and everything below it, for example <code>/prod</code>.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-u`}>Eligible until</label>
          <input id={`${id}-u`} type="date" value={f.until} onChange={set('until')} aria-describedby={`${id}-u-hint`} />
          <p id={`${id}-u-hint`} className="hint">
            {role && rule.allowPermanent === false
              ? `Required: this role allows eligibility for at most ${durationWords(rule.maxDuration ?? '')}.`
              : 'Empty: no end date.'}
          </p>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${id}-j`}>Justification</label>
        <input id={`${id}-j`} value={f.justification} onChange={set('justification')} placeholder="for example: on-call DBA rota" autoComplete="off" />
      </div>
      <EditorActions error={error} title="Not made eligible:" busy={busy} onCancel={onCancel}>
        Make eligible
      </EditorActions>
    </form>
  );
}
