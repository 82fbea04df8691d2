import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ActivateDialog } from './ActivateDialog.js';
import { myEligibilities, myGrants, roles as loadRoles, type ActivationRequest, type Assignment, type Eligibility, type Role } from './api.js';
import { summary } from './rules.js';
import { formatRemaining, formatTime, serverNow, toMs, useNow } from './time.js';
import { Empty, Link, Problem, RoleCard, RoleName, useLoad, useSession } from './ui.js';

const WEEK = 7 * 86_400_000;

/** Eligible roles by scope, each with "Activate"; grants active now, with a countdown to their end. */
export function MyAccess() {
  const { me } = useSession();
  const { data, error, reload } = useLoad(async () => {
    const [roles, eligibilities, grants] = await Promise.all([loadRoles(), myEligibilities(), myGrants()]);
    return { roles, eligibilities, grants };
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
      <Eligible eligibilities={data?.eligibilities ?? null} roles={roles} me={me.principal.id} onActivate={(role, scope) => {
        setNotice(null);
        setDialog({ role, scope });
      }} />
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

function Eligible({ eligibilities, roles, me, onActivate }: { eligibilities: Eligibility[] | null; roles: Map<string, Role>; me: string; onActivate: (role: Role, scope: string) => void }) {
  const now = serverNow();
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
                <EligibleRole key={e.id} e={e} role={roles.get(e.roleId)!} me={me} now={now} onActivate={() => onActivate(roles.get(e.roleId)!, e.scope)} />
              ))}
          </ul>
        </section>
      ))}
    </section>
  );
}

function EligibleRole({ e, role, me, now, onActivate }: { e: Eligibility; role: Role; me: string; now: number; onActivate: () => void }) {
  const end = toMs(e.endsAt);
  const start = toMs(e.startsAt);
  const soon = end !== null && end - now < WEEK;
  return (
    <RoleCard
      role={role}
      action={
        <button type="button" className="primary" onClick={onActivate}>
          Activate
        </button>
      }
    >
      <p className="muted">{summary(role)}</p>
      <p className={soon ? 'warn' : 'muted'}>
        {start !== null && start > now ? `Eligible from ${formatTime(e.startsAt)}; ` : ''}
        {end === null ? 'Eligible with no end date' : `Eligible until ${formatTime(e.endsAt)}${soon ? ': ask an administrator to renew it' : ''}`}
        {e.principalId !== me ? ` · through group ${e.principalId}` : ''}
      </p>
    </RoleCard>
  );
}
