import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { useIsAdmin } from '../admin-check.js';
import { ApiError } from '../api.js';
import { useAction } from '../admin/form.js';
import { formatSpan } from '../time.js';
import { Empty, Problem, Risk, useLoad } from '../ui.js';
import { convertStanding, importStanding, rollout as loadRollout, setRollout, standing as loadStanding, type RolloutItem, type RolloutMode, type StandingItem } from './api.js';
import { Cell } from './Cell.js';
import { AdminOnly } from './AdminOnly.js';
import { ago, ROLLOUT, when } from './words.js';

/**
 * The road from standing to just-in-time: every standing (direct) assignment in Elevate and what was
 * imported from other systems, who holds what where, since when, last used, why; convert the chosen
 * ones to eligibilities in one go. Per role, the rollout mode (awareness, then enforced) with the
 * figures that say whether the role is ready for it.
 */
export function Standing() {
  const admin = useIsAdmin();
  const [notice, setNotice] = useState<ReactNode>(null);
  const [version, setVersion] = useState(0);
  if (!admin) return <AdminOnly title="Standing access" admin={admin} />;
  const changed = (n: ReactNode) => {
    setNotice(n);
    setVersion((v) => v + 1);
  };
  return (
    <>
      <h1 tabIndex={-1}>Standing access</h1>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <Inventory version={version} onChanged={changed} />
      <Import onChanged={changed} />
      <Rollout version={version} onChanged={changed} />
    </>
  );
}

const FLAGS: Record<string, string> = { rollout_enforced: 'Role is enforced just-in-time' };
const flagWords = (r: string | null) => (r ? (FLAGS[r] ?? r.replace(/_/g, ' ')) : 'Flagged');

const itemLabel = (i: StandingItem) => `${i.principalName || i.principalId || '?'}, ${i.privilege} at ${i.scope}`;

function Inventory({ version, onChanged }: { version: number; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [source, setSource] = useState<'' | 'elevate' | 'import'>('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [days, setDays] = useState('');
  const { busy, error: actError, run } = useAction();
  const { data, error, reload } = useLoad(() => loadStanding({ source }), 30_000);
  useEffect(() => {
    void reload();
  }, [source, version, reload]);

  const items = data ?? [];
  const convertible = items.filter((i) => i.convertible);
  const chosen = convertible.filter((i) => selected.has(i.id)).map((i) => i.id);
  const flagged = items.filter((i) => i.flagged).length;
  const toggle = (itemId: string, on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(itemId);
      else n.delete(itemId);
      return n;
    });

  const convert = () =>
    run(async () => {
      const n = days.trim() ? Number(days) : undefined;
      const r = await convertStanding(chosen, n);
      setSelected(new Set());
      onChanged(`Converted ${r.converted.length} standing grant${r.converted.length === 1 ? '' : 's'} to eligibilit${r.converted.length === 1 ? 'y' : 'ies'}: they activate it when they need it.`);
    });

  return (
    <section aria-labelledby={`${id}-h`} className="block">
      <h2 id={`${id}-h`}>Inventory{data ? ` (${items.length})` : ''}</h2>
      <p className="muted">
        Standing access in Elevate (direct assignments) and what you imported from other systems.{flagged ? ` ${flagged} flagged.` : ''}
      </p>
      <div className="admin-filters">
        <div className="field">
          <label htmlFor={`${id}-source`}>Source</label>
          <select id={`${id}-source`} value={source} onChange={(e) => setSource(e.target.value as typeof source)}>
            <option value="">Everything</option>
            <option value="elevate">In Elevate</option>
            <option value="import">Imported</option>
          </select>
        </div>
      </div>
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : items.length === 0 ? <Empty>No standing access{source ? ' from this source' : ''}. Everyone activates what they need.</Empty> : null}
      {items.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="inventory">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">Select</span>
                  </th>
                  <th scope="col">Source</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Where</th>
                  <th scope="col">Since</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Justification</th>
                  <th scope="col">Flagged</th>
                </tr>
              </thead>
              <tbody>
                {items.map((i) => (
                  <tr key={i.id} className={i.flagged ? 'is-flagged' : undefined}>
                    <td className="row-select">
                      {i.convertible ? (
                        <input type="checkbox" aria-label={`Select ${itemLabel(i)}`} checked={selected.has(i.id)} onChange={(e) => toggle(i.id, e.target.checked)} />
                      ) : null}
                    </td>
                    <Cell label="Source">{i.source === 'elevate' ? 'Elevate' : `Imported: ${i.system}`}</Cell>
                    <Cell label="Who">
                      {i.principalName || i.principalId || '—'}
                      {i.principalId && i.principalName && i.principalName !== i.principalId ? <span className="muted"> · {i.principalId}</span> : null}
                    </Cell>
                    <Cell label="What">{i.privilege}</Cell>
                    <Cell label="Where">
                      <code>{i.scope}</code>
                    </Cell>
                    <Cell label="Since">{when(i.since)}</Cell>
                    <Cell label="Last used" title={when(i.lastUsedAt, '')}>
                      {ago(i.lastUsedAt)}
                    </Cell>
                    <Cell label="Justification">{i.justification ? <span className="quote">“{i.justification}”</span> : <span className="muted">none given</span>}</Cell>
                    <Cell label="Flagged">{i.flagged ? <span className="tag tag-standing">{flagWords(i.flagReason)}</span> : '—'}</Cell>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="bulk row">
            <div className="field">
              <label htmlFor={`${id}-days`}>Eligible for (days)</label>
              <input id={`${id}-days`} type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} aria-describedby={`${id}-days-hint`} />
              <p id={`${id}-days-hint`} className="hint">
                Empty: the role’s longest eligibility.
              </p>
            </div>
            <button type="button" className="primary" disabled={busy || chosen.length === 0} onClick={() => void convert()}>
              Convert to eligible ({chosen.length})
            </button>
            {convertible.length === 0 ? <p className="hint">Only standing access to an Elevate role, held by a known principal, converts.</p> : null}
          </div>
          <Problem error={actError} title="Nothing was converted:" />
        </>
      ) : null}
    </section>
  );
}

function Import({ onChanged }: { onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [system, setSystem] = useState('');
  const [format, setFormat] = useState<'csv' | 'json'>('csv');
  const [text, setText] = useState('');
  const { busy, error, run } = useAction();

  async function pick(file: File | undefined) {
    if (!file) return;
    setText(await file.text());
    if (/\.json$/i.test(file.name)) setFormat('json');
    else if (/\.csv$/i.test(file.name)) setFormat('csv');
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      const r = await importStanding({ system: system.trim(), format, data: text });
      setText('');
      onChanged(`Imported ${r.imported} standing grant${r.imported === 1 ? '' : 's'} from ${system.trim()}.`);
    });
  }

  const line = error instanceof ApiError && typeof error.details.line === 'number' ? error.details.line : null;
  return (
    <section aria-labelledby={`${id}-h`} className="block">
      <form className="panel editor" aria-labelledby={`${id}-h`} onSubmit={submit} noValidate>
        <h2 id={`${id}-h`}>Import from another system</h2>
        <p className="muted">
          What exists elsewhere (database grants, cloud roles), so it is in the inventory too. CSV with the header <code>principal,privilege,scope,since,last_used,justification</code> (and optionally <code>role</code>, an Elevate role ID), or a JSON array of objects with those fields. Nothing is imported when a
          line is wrong.
        </p>
        <div className="grid2">
          <div className="field">
            <label htmlFor={`${id}-system`}>System</label>
            <input id={`${id}-system`} value={system} onChange={(e) => setSystem(e.target.value)} autoComplete="off" spellCheck={false} placeholder="for example: postgres-prod" />
          </div>
          <fieldset className="field">
            <legend>Format</legend>
            <div className="choices">
              {(['csv', 'json'] as const).map((f) => (
                <label key={f} className="choice">
                  <input type="radio" name={`${id}-format`} value={f} checked={format === f} onChange={() => setFormat(f)} />
                  {f.toUpperCase()}
                </label>
              ))}
            </div>
          </fieldset>
        </div>
        <div className="field">
          <label htmlFor={`${id}-data`}>Data</label>
          <textarea id={`${id}-data`} className="code" rows={6} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} aria-invalid={line !== null} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-file`}>Or choose a file</label>
          <input id={`${id}-file`} type="file" accept=".csv,.json,text/csv,application/json" onChange={(e) => void pick(e.target.files?.[0])} />
        </div>
        <Problem error={error} title={line !== null ? `Nothing imported: line ${line} is wrong.` : 'Nothing imported:'} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Import
          </button>
        </div>
      </form>
    </section>
  );
}

const span = (ms: number | null) => (ms === null ? '—' : formatSpan(ms));

function Rollout({ version, onChanged }: { version: number; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const { data, error, reload } = useLoad(async () => (await loadRollout()).sort((a, b) => a.roleName.localeCompare(b.roleName)), 30_000);
  useEffect(() => {
    void reload();
  }, [version, reload]);
  return (
    <section aria-labelledby={`${id}-h`} className="block">
      <h2 id={`${id}-h`}>Rollout by role</h2>
      <ul className="plain rollout-legend">
        {Object.entries(ROLLOUT).map(([k, v]) => (
          <li key={k}>
            <strong>{v.title}:</strong> {v.text}
          </li>
        ))}
      </ul>
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : data.length === 0 ? <Empty>No roles yet.</Empty> : null}
      {data && data.length > 0 ? (
        <div className="table-wrap">
          <table className="rollout">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Mode</th>
                <th scope="col" className="num">
                  Standing
                </th>
                <th scope="col" className="num">
                  Eligible
                </th>
                <th scope="col" className="num">
                  Flagged
                </th>
                <th scope="col" className="num">
                  <abbr title="Activations in the last 30 days">Activations</abbr>
                </th>
                <th scope="col">Approval median / p90</th>
                <th scope="col" className="num">
                  <abbr title="Uses of standing access in the last 30 days (awareness mode)">Fallback uses</abbr>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((r) => (
                <RolloutRow key={r.roleId} r={r} onChanged={onChanged} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function RolloutRow({ r, onChanged }: { r: RolloutItem; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [mode, setMode] = useState<RolloutMode>(r.mode);
  useEffect(() => setMode(r.mode), [r.mode]);
  const { busy, error, run } = useAction();
  const save = () =>
    run(async () => {
      const out = await setRollout(r.roleId, mode);
      onChanged(`${out.roleName || r.roleName} is now in ${ROLLOUT[out.mode]?.title.toLowerCase() ?? out.mode} mode. ${ROLLOUT[out.mode]?.text ?? ''}`);
    });
  return (
    <tr>
      <th scope="row" data-label="Role">
        <div className="cell">
        {r.roleName} <Risk tier={r.riskTier} />
        {r.changedAt ? (
          <p className="hint">
            Changed {when(r.changedAt)}
            {r.changedBy ? ` by ${r.changedBy}` : ''}
          </p>
        ) : null}
        </div>
      </th>
      <Cell label="Mode">
        <div className="row nowrap">
          <label htmlFor={`${id}-mode`} className="visually-hidden">
            Rollout mode for {r.roleName}
          </label>
          <select id={`${id}-mode`} value={mode} onChange={(e) => setMode(e.target.value as RolloutMode)} className="mode-select">
            {Object.entries(ROLLOUT).map(([k, v]) => (
              <option key={k} value={k}>
                {v.title}
              </option>
            ))}
          </select>
          <button type="button" className="small" disabled={busy || mode === r.mode} aria-label={`Set the rollout mode of ${r.roleName}`} onClick={() => void save()}>
            Set
          </button>
        </div>
        <Problem error={error} />
      </Cell>
      <Cell label="Standing" className="num">
        {r.standingHolders}
      </Cell>
      <Cell label="Eligible" className="num">
        {r.eligibleHolders}
      </Cell>
      <Cell label="Flagged" className="num">
        {r.flagged}
      </Cell>
      <Cell label="Activations (30 days)" className="num">
        {r.readiness.activations30d}
      </Cell>
      <Cell label="Approval time">
        {span(r.readiness.approvalMedianMs)} / {span(r.readiness.approvalP90Ms)}
      </Cell>
      <Cell label="Fallback uses (30 days)" className="num">
        {r.readiness.fallbackUses30d}
      </Cell>
    </tr>
  );
}
