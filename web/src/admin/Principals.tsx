import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Empty, Problem, useLoad } from '../ui.js';
import { createPrincipal, groupMembers, principals as loadPrincipals, setGroupMembers, setPrincipalStatus, type Principal } from './api.js';
import { EditorActions, PrincipalList, useAction, useFields } from './form.js';

type Kind = 'user' | 'group' | 'service';
const KIND_WORDS: Record<Kind, string> = { user: 'User', group: 'Group', service: 'Service' };
const PLURAL: Record<Kind, string> = { user: 'users', group: 'groups', service: 'services' };

/** Who Elevate knows: users, groups (with their members) and services; create, suspend, reactivate. */
export function Principals() {
  const id = useId();
  const { data, error, reload } = useLoad(loadPrincipals, 30_000);
  const [query, setQuery] = useState('');
  const [kind, setKind] = useState<Kind | 'all'>('all');
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<ReactNode>(null);

  const all = data ?? [];
  const q = query.trim().toLowerCase();
  const shown = all
    .filter((p) => kind === 'all' || p.kind === kind)
    .filter((p) => !q || [p.id, p.name, p.email ?? '', p.adminUnit ?? ''].some((v) => String(v).toLowerCase().includes(q)))
    .sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
  const counts = (['user', 'group', 'service'] as const)
    .map((k) => {
      const n = all.filter((p) => p.kind === k).length;
      return `${n} ${n === 1 ? k : PLURAL[k]}`;
    })
    .join(', ');

  return (
    <section aria-labelledby={`${id}-h`}>
      <div className="section-head">
        <h2 id={`${id}-h`}>Principals and groups</h2>
        <button type="button" className="primary" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
          New principal
        </button>
      </div>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      {creating ? (
        <NewPrincipal
          users={all.filter((p) => p.kind === 'user')}
          onCancel={() => setCreating(false)}
          onCreated={(p) => {
            setCreating(false);
            setNotice(
              <>
                Created {KIND_WORDS[p.kind as Kind]?.toLowerCase() ?? p.kind} <strong className="name">{p.name || p.id}</strong>
                {p.name && p.name !== p.id ? (
                  <>
                    {' '}
                    (<code>{p.id}</code>)
                  </>
                ) : null}
                .
              </>,
            );
            void reload();
          }}
        />
      ) : null}
      <Problem error={error} />
      <div className="admin-filters">
        <div className="field">
          <label htmlFor={`${id}-q`}>Search principals</label>
          <input id={`${id}-q`} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="ID, name, email or admin unit" autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as Kind | 'all')}>
            <option value="all">All kinds</option>
            <option value="user">Users</option>
            <option value="group">Groups</option>
            <option value="service">Services</option>
          </select>
        </div>
      </div>
      {data === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted" aria-live="polite">
          Showing {shown.length} of {all.length} ({counts}).
        </p>
      )}
      {data !== null && shown.length === 0 ? <Empty>No principal matches.</Empty> : null}
      <ul className="cards">
        {shown.map((p) => (
          <PrincipalItem key={p.id} p={p} everyone={all} onChanged={(n) => { setNotice(n); void reload(); }} />
        ))}
      </ul>
    </section>
  );
}

function PrincipalItem({ p, everyone, onChanged }: { p: Principal; everyone: Principal[]; onChanged: (notice: ReactNode) => void }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [editing, setEditing] = useState(false);
  const suspended = p.status === 'suspended';
  const name = <strong className="name">{p.name || p.id}</strong>;

  const toggle = () =>
    run(async () => {
      await setPrincipalStatus(p.id, suspended ? 'active' : 'suspended');
      onChanged(suspended ? <>{name} is active again.</> : <>{name} is suspended: every grant of theirs stops counting now.</>);
    });

  const details = [p.email, p.managerId ? `manager ${p.managerId}` : null, p.adminUnit ? `admin unit ${p.adminUnit}` : null].filter(Boolean).join(' · ');
  return (
    <li className={`card principal${suspended ? ' is-suspended' : ''}`} aria-labelledby={`${id}-name`}>
      <div className="card-main">
        <p className="card-title">
          <span id={`${id}-name`} className="name">
            {p.name || p.id}
          </span>{' '}
          <span className={`tag tag-${p.kind}`}>{KIND_WORDS[p.kind as Kind] ?? p.kind}</span>
          {suspended ? <span className="tag tag-suspended">Suspended</span> : null}
        </p>
        {p.name && p.name !== p.id ? (
          <p className="muted">
            <code>{p.id}</code>
            {details ? <span className="name"> · {details}</span> : null}
          </p>
        ) : details ? (
          <p className="muted name">{details}</p>
        ) : null}
      </div>
      <div className="card-actions">
        {p.kind === 'group' ? (
          <button type="button" aria-expanded={editing} aria-controls={`${id}-members`} onClick={() => setEditing((x) => !x)}>
            Edit members
          </button>
        ) : null}
        <button type="button" className={suspended ? '' : 'danger'} disabled={busy} onClick={() => void toggle()}>
          {suspended ? 'Reactivate' : 'Suspend'}
        </button>
      </div>
      {error ? (
        <div className="card-full">
          <Problem error={error} title={`${suspended ? 'Reactivating' : 'Suspending'} ${p.name || p.id} was refused:`} />
        </div>
      ) : null}
      {editing ? (
        <div className="card-full" id={`${id}-members`}>
          <GroupMembers
            group={p}
            everyone={everyone}
            onClose={() => setEditing(false)}
            onSaved={(members) => {
              setEditing(false);
              onChanged(
                <>
                  {name} now has {members.length === 1 ? '1 direct member' : `${members.length} direct members`}.
                </>,
              );
            }}
          />
        </div>
      ) : null}
    </li>
  );
}

/** Replace a group's direct members: the server checks for cycles and ends grants that lose cover. */
function GroupMembers({ group, everyone, onClose, onSaved }: { group: Principal; everyone: Principal[]; onClose: () => void; onSaved: (members: string[]) => void }) {
  const id = useId();
  const [members, setMembers] = useState<string[] | null>(null);
  const [adding, setAdding] = useState('');
  const { busy, error, setError, run } = useAction();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let live = true;
    groupMembers(group.id).then(
      (m) => live && setMembers(m),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [group.id]);

  const byId = new Map(everyone.map((p) => [p.id, p]));
  const candidates = everyone.filter((p) => p.id !== group.id && !(members ?? []).includes(p.id));

  function add(e?: FormEvent) {
    e?.preventDefault();
    const v = adding.trim().toLowerCase();
    if (!v || !members) return;
    if (!members.includes(v)) setMembers([...members, v]);
    setAdding('');
    input.current?.focus();
  }

  function save() {
    if (members) void run(async () => onSaved(await setGroupMembers(group.id, members)));
  }

  return (
    <section className="members" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>
        Members of <span className="name">{group.name || group.id}</span>
      </h3>
      {members === null && !error ? <p className="muted">Loading…</p> : null}
      {members !== null ? (
        members.length === 0 ? (
          <p className="muted">No members yet.</p>
        ) : (
          <ul className="chips" aria-label={`Members of ${group.name || group.id}`}>
            {members.map((m) => (
              <li key={m} className="chip">
                <span className="name">{byId.get(m)?.name || m}</span>
                {byId.get(m)?.name && byId.get(m)?.name !== m ? <code className="muted">{m}</code> : null}
                <button type="button" className="chip-remove" aria-label={`Remove ${m}`} onClick={() => setMembers(members.filter((x) => x !== m))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        )
      ) : null}
      <div className="row add-member">
        <label htmlFor={`${id}-add`} className="visually-hidden">
          Add member
        </label>
        <input
          id={`${id}-add`}
          ref={input}
          list={`${id}-candidates`}
          value={adding}
          placeholder="Add a member by ID"
          onChange={(e) => setAdding(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') add(e);
          }}
          autoComplete="off"
          spellCheck={false}
          disabled={members === null}
        />
        <PrincipalList id={`${id}-candidates`} principals={candidates} />
        <button type="button" onClick={() => add()} disabled={members === null}>
          Add
        </button>
      </div>
      <p className="hint">Saving replaces the direct members. Members who leave lose what they held through the group at once.</p>
      <Problem error={error} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={busy || members === null} onClick={save}>
          Save members
        </button>
      </div>
    </section>
  );
}

function NewPrincipal({ users, onCancel, onCreated }: { users: Principal[]; onCancel: () => void; onCreated: (p: Principal) => void }) {
  const id = useId();
  const [f, set] = useFields({ id: '', kind: 'user' as Kind, name: '', email: '', managerId: '', adminUnit: '' });
  const { busy, error, run } = useAction();
  const head = useRef<HTMLHeadingElement>(null);
  useEffect(() => head.current?.focus(), []);

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      const p = await createPrincipal({
        id: f.id.trim(),
        kind: f.kind,
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        ...(f.kind === 'user' && f.email.trim() ? { email: f.email.trim() } : {}),
        ...(f.kind === 'user' && f.managerId.trim() ? { managerId: f.managerId.trim() } : {}),
        ...(f.adminUnit.trim() ? { adminUnit: f.adminUnit.trim() } : {}),
      });
      onCreated(p);
    });
  }

  return (
    <form className="panel editor" onSubmit={submit} aria-labelledby={`${id}-h`} noValidate>
      <h3 id={`${id}-h`} ref={head} tabIndex={-1}>
        New principal
      </h3>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-id`}>ID</label>
          <input id={`${id}-id`} value={f.id} onChange={set('id')} required aria-describedby={`${id}-id-hint`} autoComplete="off" spellCheck={false} />
          <p id={`${id}-id-hint`} className="hint">
            Lower-case letters, digits and . _ @ -, for example <code>alice</code> or <code>dba-leads</code>.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={f.kind} onChange={set('kind')}>
            <option value="user">User (a person)</option>
            <option value="group">Group</option>
            <option value="service">Service (a workload)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-name`}>Display name</label>
          <input id={`${id}-name`} value={f.name} onChange={set('name')} autoComplete="off" />
        </div>
        {f.kind === 'user' ? (
          <>
            <div className="field">
              <label htmlFor={`${id}-email`}>Email</label>
              <input id={`${id}-email`} type="email" value={f.email} onChange={set('email')} autoComplete="off" />
            </div>
            <div className="field">
              <label htmlFor={`${id}-manager`}>Manager</label>
              <input id={`${id}-manager`} list={`${id}-users`} value={f.managerId} onChange={set('managerId')} aria-describedby={`${id}-manager-hint`} autoComplete="off" spellCheck={false} />
              <PrincipalList id={`${id}-users`} principals={users} />
              <p id={`${id}-manager-hint`} className="hint">
                Optional: a user&apos;s ID. Roles can ask for the manager&apos;s approval.
              </p>
            </div>
          </>
        ) : null}
        <div className="field">
          <label htmlFor={`${id}-unit`}>Admin unit</label>
          <input id={`${id}-unit`} value={f.adminUnit} onChange={set('adminUnit')} aria-describedby={`${id}-unit-hint`} autoComplete="off" />
          <p id={`${id}-unit-hint`} className="hint">
            Optional. Roles can require approvers from different units.
          </p>
        </div>
      </div>
      <EditorActions error={error} title="The principal was not created:" busy={busy} onCancel={onCancel}>
        Create principal
      </EditorActions>
    </form>
  );
}
