import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, type Role } from '../api.js';
import { summary } from '../rules.js';
import { Empty, Problem, RoleCard, useLoad } from '../ui.js';
import { createRole, roles as loadRoles, updateRole, validateRole, type RoleDraft } from './api.js';
import { EditorActions, useAction } from './form.js';
import { meaningOf } from './meaning.js';

const TIERS = ['low', 'medium', 'high', 'critical'] as const;

const NEW_SETTINGS = `{
  "maxActivation": "PT1H",
  "justification": { "required": true, "minLength": 10 },
  "approval": { "required": false }
}`;

/** Roles: the list, and an editor whose settings the server checks as you type. */
export function Roles() {
  const id = useId();
  const { data, error, reload } = useLoad(loadRoles, 30_000);
  const [editing, setEditing] = useState<{ role: Role | null } | null>(null);
  const [notice, setNotice] = useState<ReactNode>(null);
  const sorted = [...(data ?? [])].sort((a, b) => Number(b.builtin ?? false) - Number(a.builtin ?? false) || a.name.localeCompare(b.name));

  return (
    <section aria-labelledby={`${id}-h`}>
      <div className="section-head">
        <h2 id={`${id}-h`}>Roles</h2>
        <button
          type="button"
          className="primary"
          onClick={() => {
            setNotice(null);
            setEditing({ role: null });
          }}
        >
          New role
        </button>
      </div>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      {editing ? (
        <RoleEditor
          key={editing.role?.id ?? '(new)'}
          role={editing.role}
          onCancel={() => setEditing(null)}
          onSaved={(r, created) => {
            setEditing(null);
            setNotice(
              <>
                {created ? 'Created' : 'Saved'} role <strong className="name">{r.name}</strong> (<code>{r.id}</code>).
              </>,
            );
            void reload();
          }}
        />
      ) : null}
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : sorted.length === 0 ? <Empty>No roles yet.</Empty> : null}
      <ul className="cards">
        {sorted.map((r) => (
          <RoleItem
            key={r.id}
            role={r}
            onEdit={() => {
              setNotice(null);
              setEditing({ role: r });
            }}
          />
        ))}
      </ul>
    </section>
  );
}

function RoleItem({ role, onEdit }: { role: Role; onEdit: () => void }) {
  return (
    <RoleCard
      role={role}
      tags={role.builtin ? <span className="tag">Built in</span> : null}
      action={
        <div className="card-actions">
          <button type="button" onClick={onEdit}>
            Edit
          </button>
        </div>
      }
    >
      <p className="muted">
        <code>{role.id}</code> · {summary(role)}
      </p>
      {role.description ? <p className="muted name">{role.description}</p> : null}
    </RoleCard>
  );
}

type Check =
  | { kind: 'idle' }
  | { kind: 'checking' }
  | { kind: 'json'; message: string }
  | { kind: 'refused'; field: string | null; message: string }
  | { kind: 'ok'; role: Role };

/** The server's refusal as "field: what is wrong" (its message already names the field). */
function refusal(e: unknown): { field: string | null; message: string } {
  if (e instanceof ApiError) {
    const field = typeof e.details.field === 'string' ? e.details.field : null;
    const message = field && e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
    return { field, message };
  }
  return { field: null, message: e instanceof Error ? e.message : String(e) };
}

function parseSettings(text: string): { settings: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { settings: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: 'The settings must be a JSON object: { … }.' };
    return { settings: v as Record<string, unknown> };
  } catch (e) {
    return { error: `This is not valid JSON yet: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function RoleEditor({ role, onCancel, onSaved }: { role: Role | null; onCancel: () => void; onSaved: (r: Role, created: boolean) => void }) {
  const id = useId();
  const creating = role === null;
  const [roleId, setRoleId] = useState(role?.id ?? '');
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [tier, setTier] = useState(role?.riskTier ?? 'low');
  const [text, setText] = useState(role ? JSON.stringify(role.settings, null, 2) : NEW_SETTINGS);
  const [check, setCheck] = useState<Check>({ kind: 'idle' });
  const { busy, error, setError, run } = useAction();
  const head = useRef<HTMLHeadingElement>(null);
  const seq = useRef(0);

  useEffect(() => {
    head.current?.scrollIntoView({ block: 'nearest' });
    head.current?.focus();
  }, []);

  // Validate as you type: JSON syntax here, everything else by the server's dry run (the same
  // normalizeSettings a save runs), after a short pause in typing. Only the newest answer counts.
  useEffect(() => {
    const n = ++seq.current;
    const parsed = parseSettings(text);
    if ('error' in parsed) {
      setCheck({ kind: 'json', message: parsed.error });
      return;
    }
    setCheck((c) => (c.kind === 'ok' ? c : { kind: 'checking' }));
    const t = setTimeout(() => {
      const draft: RoleDraft = { riskTier: tier, settings: parsed.settings, ...(creating && roleId.trim() ? { id: roleId.trim() } : {}) };
      validateRole(draft).then(
        (r) => n === seq.current && setCheck({ kind: 'ok', role: r }),
        (e: unknown) => n === seq.current && setCheck({ kind: 'refused', ...refusal(e) }),
      );
    }, 300);
    return () => clearTimeout(t);
  }, [text, tier, roleId, creating]);

  function save(e: FormEvent) {
    e.preventDefault();
    const parsed = parseSettings(text);
    if ('error' in parsed) {
      setError(new Error(parsed.error));
      return;
    }
    void run(async () => {
      const draft: RoleDraft = { name: name.trim() || undefined, description: description.trim(), riskTier: tier, settings: parsed.settings };
      const r = creating ? await createRole({ ...draft, id: roleId.trim() }) : await updateRole(role.id, draft);
      onSaved(r, creating);
    });
  }

  const bad = check.kind === 'json' || check.kind === 'refused';
  const meaning = check.kind === 'ok' ? meaningOf({ ...check.role, name: name || check.role.name }) : null;
  return (
    <form className="panel editor" onSubmit={save} aria-labelledby={`${id}-h`} noValidate>
      <h3 id={`${id}-h`} ref={head} tabIndex={-1}>
        {creating ? 'New role' : <>Edit role <span className="name">{role.name}</span></>}
      </h3>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-id`}>Role ID</label>
          <input id={`${id}-id`} value={roleId} onChange={(e) => setRoleId(e.target.value)} readOnly={!creating} aria-describedby={`${id}-id-hint`} autoComplete="off" spellCheck={false} />
          <p id={`${id}-id-hint`} className="hint">
            {creating ? 'Lower-case letters, digits and . _ @ -, for example db-admin. It cannot change later.' : 'The ID cannot change.'}
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-name`}>Role name</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-tier`}>Risk tier</label>
          <select id={`${id}-tier`} value={tier} onChange={(e) => setTier(e.target.value)}>
            {TIERS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-desc`}>Description</label>
          <input id={`${id}-desc`} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />
        </div>
      </div>
      <div className="settings-editor">
        <div className="field">
          <label htmlFor={`${id}-settings`}>Settings (JSON)</label>
          <textarea
            id={`${id}-settings`}
            className="code"
            rows={14}
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-invalid={bad}
            aria-describedby={`${id}-check`}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
          />
          <div id={`${id}-check`} className={`check check-${check.kind}`} aria-live="polite" data-testid="settings-check">
            {check.kind === 'checking' ? <p className="muted">Checking with the server…</p> : null}
            {check.kind === 'json' ? <p>{check.message}</p> : null}
            {check.kind === 'refused' ? (
              <p>
                The server refuses these settings: {check.field ? <code className="field-name">{check.field}</code> : null}
                {check.field ? ': ' : ''}
                {check.message}
              </p>
            ) : null}
            {check.kind === 'ok' ? <p>The server accepts these settings. Omitted ones take the safe defaults, spelled out under “What these settings mean”.</p> : null}
          </div>
          <p className="hint">
            Keys: maxActivation, justification, ticket, approval, eligibility, activeAssignment, windows, mfa, mfaFreshness, conditions, breakGlass. Durations are ISO 8601, such as PT30M or P90D.
          </p>
        </div>
        <section className="meaning" aria-labelledby={`${id}-meaning`}>
          <h4 id={`${id}-meaning`}>What these settings mean</h4>
          {meaning ? (
            <>
              <p className="meaning-sub">For the person activating it</p>
              <ul>
                {meaning.activation.map((m) => (
                  <li key={m}>{m}</li>
                ))}
              </ul>
              <p className="meaning-sub">For administrators</p>
              <ul>
                {meaning.administration.map((m) => (
                  <li key={m}>{m}</li>
                ))}
              </ul>
            </>
          ) : (
            <p className="muted">{bad ? 'Fix the settings to see what they mean.' : 'Checking…'}</p>
          )}
        </section>
      </div>
      <EditorActions error={error} title={creating ? 'The role was not created:' : 'The role was not saved:'} busy={busy} onCancel={onCancel}>
        {creating ? 'Create role' : 'Save role'}
      </EditorActions>
    </form>
  );
}
