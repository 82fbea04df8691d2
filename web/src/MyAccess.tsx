import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ActivateDialog } from './ActivateDialog.js';
import {
  myEligibilities,
  myGrants,
  myRenewals,
  RENEWAL_WINDOW_MS,
  requestRenewal,
  roles as loadRoles,
  type ActivationRequest,
  type Assignment,
  type Eligibility,
  type Renewal,
  type Role,
} from './api.js';
import { summary } from './rules.js';
import { formatRemaining, formatTime, serverNow, toMs, useNow } from './time.js';
import { Empty, Link, Problem, RoleCard, RoleName, useLoad, useSession } from './ui.js';

/**
 * Eligible roles by scope, each with "Activate" (and "Renew" in its last 14 days); grants active now,
 * with a countdown to their end.
 */
export function MyAccess() {
  const { me } = useSession();
  const { data, error, reload } = useLoad(async () => {
    const [roles, eligibilities, grants, renewals] = await Promise.all([loadRoles(), myEligibilities(), myGrants(), myRenewals()]);
    return { roles, eligibilities, grants, renewals };
  });
  const [dialog, setDialog] = useState<{ role: Role; scope: string } | null>(null);
  const [notice, setNotice] = useState<ReactNode>(null);

  function done(role: Role, r: ActivationRequest) {
    setDialog(null);
    const at = <code>{r.scope}</code>;
    if (r.status === 'active') setNotice(<>{role.name} is active at {at} until {formatTime(r.expiresAt ?? null)}.</>);
    else if (r.status === 'scheduled') setNotice(<>{role.name} at {at} is scheduled.</>);
    else if (r.status === 'pending_approval')
      setNotice(
        <>
          Your request for {role.name} at {at} is waiting for approval. Follow it on <Link href="/requests">My requests</Link>.
        </>,
      );
    else setNotice(<>Your request for {role.name} is {r.status}.</>);
    void reload();
  }

  const roles = data?.roles ?? new Map<string, Role>();
  return (
    <>
      <h1 tabIndex={-1}>My access</h1>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <Problem error={error} />
      <Grants grants={data?.grants ?? null} roles={roles} onEnded={() => void reload()} />
      <Eligible
        eligibilities={data?.eligibilities ?? null}
        renewals={data?.renewals ?? []}
        roles={roles}
        me={me.principal.id}
        onActivate={(role, scope) => {
          setNotice(null);
          setDialog({ role, scope });
        }}
        onRenewRequested={(role, scope) => {
          setNotice(
            <>
              You asked to renew {role.name} at <code>{scope}</code>. An administrator decides; this page shows the new end date once it is approved.
            </>,
          );
          void reload();
        }}
      />
      {dialog ? <ActivateDialog role={dialog.role} scope={dialog.scope} onClose={() => setDialog(null)} onDone={(r) => done(dialog.role, r)} /> : null}
    </>
  );
}

function Grants({ grants, roles, onEnded }: { grants: Assignment[] | null; roles: Map<string, Role>; onEnded: () => void }) {
  const now = useNow();
  const sorted = [...(grants ?? [])].sort((a, b) => (toMs(a.endsAt) ?? Infinity) - (toMs(b.endsAt) ?? Infinity));
  return (
    <section aria-labelledby="active-h" className="block">
      <h2 id="active-h">Active now</h2>
      {grants === null ? <p className="muted">Loading…</p> : sorted.length === 0 ? <Empty>No role is active for you now. Activate one below when you need it.</Empty> : null}
      {sorted.length > 0 ? (
        <ul className="cards">
          {sorted.map((g) => (
            <Grant key={g.id} grant={g} role={roles.get(g.roleId)} now={now} onEnded={onEnded} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Grant({ grant, role, now, onEnded }: { grant: Assignment; role: Role | undefined; now: number; onEnded: () => void }) {
  const id = useId();
  const end = toMs(grant.endsAt);
  const start = toMs(grant.startsAt);
  const left = end === null ? null : end - now;
  const expired = left !== null && left <= 0;
  const notStarted = start !== null && start > now;
  // When the countdown reaches zero, ask the server again (it decides when access ends).
  const reported = useRef(false);
  useEffect(() => {
    if (expired && !reported.current) {
      reported.current = true;
      onEnded();
    }
  }, [expired, onEnded]);
  return (
    <li className={`card grant${expired ? ' ended' : ''}`} aria-labelledby={`${id}-name`}>
      <div className="card-main">
        <p className="card-title">
          <span id={`${id}-name`}>
            <RoleName role={role} id={grant.roleId} />
          </span>{' '}
          <span className="at">
            at <code>{grant.scope}</code>
          </span>
        </p>
        <p className="muted">
          {grant.source === 'direct' ? 'Standing assignment · ' : grant.source === 'breakglass' ? 'Break-glass · ' : ''}
          {notStarted ? `Starts ${formatTime(grant.startsAt)} · ` : ''}
          {end === null ? 'No end date' : `${expired ? 'Ended' : 'Ends'} ${formatTime(grant.endsAt)}`}
        </p>
      </div>
      {left !== null ? (
        <p className={`countdown${expired ? ' is-expired' : ''}`} role="timer" aria-labelledby={`${id}-name`}>
          {expired ? 'expired' : `${formatRemaining(left)} left`}
        </p>
      ) : (
        <p className="countdown standing">standing</p>
      )}
    </li>
  );
}

interface EligibleProps {
  eligibilities: Eligibility[] | null;
  renewals: Renewal[];
  roles: Map<string, Role>;
  me: string;
  onActivate: (role: Role, scope: string) => void;
  onRenewRequested: (role: Role, scope: string) => void;
}

function Eligible({ eligibilities, renewals, roles, me, onActivate, onRenewRequested }: EligibleProps) {
  const now = serverNow();
  // The latest renewal request of each eligibility (ids sort by time).
  const renewalOf = new Map<string, Renewal>();
  for (const r of [...renewals].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))) renewalOf.set(r.eligibilityId, r);
  // One entry per role and scope (direct or through a group), the one lasting longest.
  const best = new Map<string, Eligibility>();
  for (const e of eligibilities ?? []) {
    const end = toMs(e.endsAt);
    if (e.removedAt || (end !== null && end <= now) || !roles.has(e.roleId)) continue;
    const key = `${e.scope}\u0000${e.roleId}`;
    const prev = best.get(key);
    const prevEnd = prev ? toMs(prev.endsAt) : 0;
    if (!prev || (prevEnd !== null && (end === null || end > prevEnd))) best.set(key, e);
  }
  const byScope = new Map<string, Eligibility[]>();
  for (const e of best.values()) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e]);
  const scopes = [...byScope.keys()].sort();
  return (
    <section aria-labelledby="eligible-h" className="block">
      <h2 id="eligible-h">Eligible roles</h2>
      {eligibilities === null ? <p className="muted">Loading…</p> : scopes.length === 0 ? <Empty>You are not eligible for any role yet. An administrator makes you eligible.</Empty> : null}
      {scopes.map((scope) => (
        <section key={scope} className="scope" aria-label={`Scope ${scope}`}>
          <h3>
            Scope <code>{scope}</code>
          </h3>
          <ul className="cards">
            {byScope
              .get(scope)!
              .sort((a, b) => (roles.get(a.roleId)?.name ?? a.roleId).localeCompare(roles.get(b.roleId)?.name ?? b.roleId))
              .map((e) => (
                <EligibleRole
                  key={e.id}
                  e={e}
                  role={roles.get(e.roleId)!}
                  renewal={renewalOf.get(e.id)}
                  me={me}
                  now={now}
                  onActivate={() => onActivate(roles.get(e.roleId)!, e.scope)}
                  onRenewRequested={() => onRenewRequested(roles.get(e.roleId)!, e.scope)}
                />
              ))}
          </ul>
        </section>
      ))}
    </section>
  );
}

interface EligibleRoleProps {
  e: Eligibility;
  role: Role;
  renewal: Renewal | undefined;
  me: string;
  now: number;
  onActivate: () => void;
  onRenewRequested: () => void;
}

function EligibleRole({ e, role, renewal, me, now, onActivate, onRenewRequested }: EligibleRoleProps) {
  const id = useId();
  const [renewing, setRenewing] = useState(false);
  const end = toMs(e.endsAt);
  const start = toMs(e.startsAt);
  // Its last 14 days: the server accepts a renewal request from then on.
  const soon = end !== null && end - now < RENEWAL_WINDOW_MS;
  const direct = e.principalId === me;
  const pending = renewal?.status === 'pending';
  const denied = soon && renewal?.status === 'denied' ? renewal : null;
  const canRenew = soon && direct && !pending;
  return (
    <RoleCard
      role={role}
      tags={pending ? <span className="tag tag-renewal">Renewal requested</span> : null}
      action={
        <>
          <div className="card-actions">
            {canRenew ? (
              <button type="button" aria-expanded={renewing} aria-controls={renewing ? `${id}-renew` : undefined} aria-describedby={`${id}-until`} onClick={() => setRenewing((x) => !x)}>
                Renew
              </button>
            ) : null}
            <button type="button" className="primary" onClick={onActivate}>
              Activate
            </button>
          </div>
          {renewing && canRenew ? (
            <RenewForm
              id={`${id}-renew`}
              e={e}
              role={role}
              onCancel={() => setRenewing(false)}
              onDone={() => {
                setRenewing(false);
                onRenewRequested();
              }}
            />
          ) : null}
        </>
      }
    >
      <p className="muted">{summary(role)}</p>
      <p className="muted" id={`${id}-until`}>
        {start !== null && start > now ? `Eligible from ${formatTime(e.startsAt)}; ` : ''}
        {end === null ? (
          'Eligible with no end date'
        ) : (
          <>
            Eligible until <strong className={soon ? 'warn ends-soon' : undefined}>{formatTime(e.endsAt)}</strong>
            {soon ? ` (${formatRemaining(end - now)} left)` : ''}
          </>
        )}
        {direct ? '' : ` · through group ${e.principalId}`}
      </p>
      {pending ? (
        <p className="warn renewal-state">You asked to renew it {formatTime(renewal.createdAt)}; an administrator decides.</p>
      ) : denied ? (
        <p className="renewal-state">
          Your renewal was denied{denied.reason ? (
            <>
              : <span className="quote">“{denied.reason}”</span>
            </>
          ) : null}
          . You can ask again with more detail.
        </p>
      ) : soon && !direct ? (
        <p className="hint">It ends soon. You hold it through a group, so an administrator renews the group&apos;s eligibility: ask them.</p>
      ) : null}
    </RoleCard>
  );
}

/** The small renewal form: why the person still needs it; the server checks it like an activation's justification. */
function RenewForm({ id, e, role, onCancel, onDone }: { id: string; e: Eligibility; role: Role; onCancel: () => void; onDone: () => void }) {
  const [why, setWhy] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await requestRenewal(e.id, why);
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <form id={id} className="card-full renew-form" onSubmit={(ev) => void submit(ev)} aria-label={`Renew ${role.name} at ${e.scope}`} noValidate>
      <div className="field">
        <label htmlFor={`${id}-why`}>Why you still need it</label>
        <textarea
          id={`${id}-why`}
          ref={input}
          rows={2}
          value={why}
          onChange={(ev) => setWhy(ev.target.value)}
          aria-describedby={`${id}-hint`}
          aria-invalid={error ? true : undefined}
          maxLength={1000}
        />
        <p className="hint" id={`${id}-hint`}>
          An administrator reads this and decides. Name the work, for example the rota or project you are on.
        </p>
      </div>
      <Problem error={error} title="Not asked:" />
      <div className="actions start">
        <button type="submit" className="primary" disabled={busy}>
          Ask to renew
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
