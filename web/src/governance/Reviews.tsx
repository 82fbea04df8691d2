import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useIsAdmin } from '../admin-check.js';
import { roles as loadRoles, type Role } from '../api.js';
import { EditorActions, PrincipalList, useAction } from '../admin/form.js';
import { Empty, Problem, Risk, useLoad, useSession } from '../ui.js';
import {
  campaignItems,
  campaigns as loadCampaigns,
  cancelCampaign,
  completeCampaign,
  createCampaign,
  decideItem,
  decideItems,
  exportUrl,
  principalsForSuggest,
  type Campaign,
  type NewCampaign,
  type ReviewDecision,
  type ReviewItem,
} from './api.js';
import { Cell } from './Cell.js';
import { ago, CAMPAIGN_STATUS, DEFAULT_DECISION, recommendationReason, recommendationText, RECURRENCE, REVIEWERS, when } from './words.js';

/**
 * Access reviews. Everyone who reviews sees their queue: the items of open campaigns they decide,
 * pending first, each with what the server recommends and why; approve (keep) or deny (remove) one
 * at a time or many at once with one reason. Administrators also see every campaign, start new ones,
 * end them early (the decisions are applied then) or cancel them, and export the results.
 */
export function Reviews() {
  const admin = useIsAdmin();
  const [notice, setNotice] = useState<ReactNode>(null);
  const [version, setVersion] = useState(0);
  const changed = (n: ReactNode) => {
    setNotice(n);
    setVersion((v) => v + 1);
  };
  return (
    <>
      <h1 tabIndex={-1}>Access reviews</h1>
      <div role="status" className={notice ? 'notice' : 'visually-hidden'}>
        {notice}
      </div>
      <MyReviews version={version} onChanged={changed} />
      {admin ? <Campaigns version={version} onChanged={changed} /> : null}
    </>
  );
}

const label = (i: ReviewItem) => `${i.principalName || i.principalId}, ${i.roleName || i.roleId} at ${i.scope}`;
const pendingFirst = (a: ReviewItem, b: ReviewItem) =>
  Number(a.decision !== null) - Number(b.decision !== null) || (a.principalName || a.principalId).localeCompare(b.principalName || b.principalId) || a.scope.localeCompare(b.scope);

// ---- my reviews: the queue --------------------------------------------------------------------------

function MyReviews({ version, onChanged }: { version: number; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const { data, error, reload } = useLoad(async () => {
    const open = (await loadCampaigns()).filter((c) => c.status === 'active');
    const items = await Promise.all(open.map((c) => campaignItems(c.id, true)));
    return open.map((c, i) => ({ campaign: c, items: (items[i] ?? []).sort(pendingFirst) })).filter((x) => x.items.length > 0);
  }, 30_000);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else void reload();
  }, [version, reload]);

  const pending = (data ?? []).reduce((n, x) => n + x.items.filter((i) => i.decision === null).length, 0);
  return (
    <section aria-labelledby={`${id}-h`} className="block">
      <h2 id={`${id}-h`}>My reviews{data ? ` (${pending} to decide)` : ''}</h2>
      <p className="muted">
        For each person’s access, decide whether they still need it: <strong>keep</strong> it (approve) or <strong>remove</strong> it (deny). What nobody decides by the end gets the campaign’s
        default.
      </p>
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : data.length === 0 ? <Empty>Nothing is waiting for your review.</Empty> : null}
      {data?.map((x) => <Queue key={x.campaign.id} campaign={x.campaign} items={x.items} onChanged={onChanged} />)}
    </section>
  );
}

function Queue({ campaign, items, onChanged }: { campaign: Campaign; items: ReviewItem[]; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const { busy, error, run } = useAction();
  const pending = items.filter((i) => i.decision === null);
  // Only what is still pending stays selected.
  const chosen = pending.filter((i) => selected.has(i.id)).map((i) => i.id);
  const all = pending.length > 0 && chosen.length === pending.length;

  const toggle = (itemId: string, on: boolean) =>
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(itemId);
      else n.delete(itemId);
      return n;
    });

  const bulk = (decision: ReviewDecision) =>
    run(async () => {
      const done = await decideItems(campaign.id, chosen, decision, reason.trim());
      setSelected(new Set());
      setReason('');
      onChanged(`${decision === 'approve' ? 'Kept' : 'Removal recorded for'} ${done.length} item${done.length === 1 ? '' : 's'} in ${campaign.name}.`);
    });

  return (
    <section aria-labelledby={`${id}-h`} className="panel review-queue">
      <div className="section-head">
        <h3 id={`${id}-h`}>{campaign.name}</h3>
        <span className="muted">
          {pending.length} of {items.length} to decide · ends {when(campaign.endsAt)}
        </span>
      </div>
      {pending.length > 0 ? (
        <form
          className="bulk"
          aria-label={`Decide the selected items of ${campaign.name}`}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <label className="choice">
            <input type="checkbox" checked={all} onChange={(e) => setSelected(e.target.checked ? new Set(pending.map((i) => i.id)) : new Set())} />
            Select all {pending.length} pending
          </label>
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason for the selected</label>
            <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} autoComplete="off" maxLength={1000} aria-describedby={`${id}-hint`} />
            <p id={`${id}-hint`} className="hint">
              For the audit trail; required to remove access.
            </p>
          </div>
          <div className="actions start">
            <button type="button" className="primary" disabled={busy || chosen.length === 0} onClick={() => void bulk('approve')}>
              Keep selected ({chosen.length})
            </button>
            <button type="button" className="danger" disabled={busy || chosen.length === 0} onClick={() => void bulk('deny')}>
              Remove selected ({chosen.length})
            </button>
          </div>
          <Problem error={error} title="Nothing was recorded:" />
        </form>
      ) : null}
      <ul className="cards">
        {items.map((i) => (
          <ItemCard key={i.id} item={i} selected={selected.has(i.id)} onSelect={(on) => toggle(i.id, on)} onChanged={onChanged} />
        ))}
      </ul>
    </section>
  );
}

function Recommendation({ r }: { r: ReviewItem['recommendation'] }) {
  return (
    <div className={`recommend recommend-${r.decision}`}>
      <p>
        <strong>Recommended: {r.decision === 'approve' ? 'keep' : 'remove'}.</strong> {recommendationText(r.message)}
      </p>
      {r.reasons.length > 0 ? (
        <p className="recommend-reasons">
          {r.reasons.map((c) => (
            <span key={c} className="tag" data-reason={c}>
              {recommendationReason(c)}
            </span>
          ))}
        </p>
      ) : null}
    </div>
  );
}

function Decided({ item }: { item: ReviewItem }) {
  const { me } = useSession();
  const d = item.decision;
  if (!d) return null;
  const who = d.by === me.principal.id ? 'You' : d.by;
  return (
    <p className={`decided decided-${d.decision}`}>
      <span className={`tag tag-decision-${d.decision}`}>{d.decision === 'approve' ? 'Decided: keep' : 'Decided: remove'}</span> {who} {d.decision === 'approve' ? 'approved' : 'denied'} {when(d.at)}
      {d.reason ? (
        <>
          : <span className="quote">“{d.reason}”</span>
        </>
      ) : null}
      {item.outcome ? <span className={`tag tag-outcome-${item.outcome}`}>{item.outcome === 'removed' ? 'Removed' : 'Kept'}</span> : null}
    </p>
  );
}

function ItemFacts({ item }: { item: ReviewItem }) {
  return (
    <dl className="facts compact">
      <dt>Access</dt>
      <dd>
        {item.subject.kind === 'eligibility' ? 'Eligible (activates when needed)' : 'Active assignment'}
        {item.standing ? (
          <>
            {' '}
            <span className="tag tag-standing">Standing access</span>
          </>
        ) : null}
      </dd>
      <dt>Since</dt>
      <dd>{when(item.since)}</dd>
      <dt>Ends</dt>
      <dd>{when(item.endsAt, 'no end date')}</dd>
      <dt>Last activation</dt>
      <dd title={when(item.lastActivationAt, '')}>{ago(item.lastActivationAt)}</dd>
      <dt>Last sign-in</dt>
      <dd title={when(item.lastSignInAt, '')}>{ago(item.lastSignInAt)}</dd>
    </dl>
  );
}

function ItemCard({ item, selected, onSelect, onChanged }: { item: ReviewItem; selected: boolean; onSelect: (on: boolean) => void; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [reason, setReason] = useState('');
  const { busy, error, run } = useAction(true);
  const pending = item.decision === null;

  const decide = (decision: ReviewDecision) =>
    run(async () => {
      await decideItem(item.campaignId, item.id, decision, reason.trim());
      onChanged(`${decision === 'approve' ? 'Kept' : 'Removal recorded for'}: ${label(item)}.`);
    });

  return (
    <li className={`card review-item${pending ? '' : ' is-decided'}${item.standing ? ' standing-card' : ''}`} aria-labelledby={`${id}-title`}>
      {pending ? (
        <div className="select">
          <input id={`${id}-sel`} type="checkbox" checked={selected} onChange={(e) => onSelect(e.target.checked)} />
          <label htmlFor={`${id}-sel`} className="visually-hidden">
            Select {label(item)}
          </label>
        </div>
      ) : null}
      <div className="card-main">
        <p className="card-title" id={`${id}-title`}>
          {item.principalName || item.principalId} <span className="at">·</span> <span className="role-name">{item.roleName || item.roleId}</span> <span className="at">at</span>{' '}
          <code>{item.scope}</code>
        </p>
        <p>
          <Risk tier={item.riskTier} />
          {item.principalKind !== 'user' ? <span className={`tag tag-${item.principalKind}`}>{item.principalKind}</span> : null}
          {item.principalName && item.principalName !== item.principalId ? <span className="muted"> {item.principalId}</span> : null}
        </p>
        <ItemFacts item={item} />
        <Recommendation r={item.recommendation} />
        <Decided item={item} />
      </div>
      {pending ? (
        <form
          className="card-full decide"
          aria-label={`Decide ${label(item)}`}
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void decide('approve');
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason</label>
            <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} autoComplete="off" maxLength={1000} />
          </div>
          <Problem error={error} title="Not recorded:" />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Keep
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => void decide('deny')}>
              Remove
            </button>
          </div>
        </form>
      ) : null}
    </li>
  );
}

// ---- administrators: every campaign ------------------------------------------------------------------

function Campaigns({ version, onChanged }: { version: number; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const { data, error, reload } = useLoad(async () => (await loadCampaigns()).sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))), 30_000);
  const [adding, setAdding] = useState(false);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else void reload();
  }, [version, reload]);

  return (
    <section aria-labelledby={`${id}-h`} className="block">
      <div className="section-head">
        <h2 id={`${id}-h`}>Campaigns{data ? ` (${data.length})` : ''}</h2>
        <button type="button" aria-expanded={adding} onClick={() => setAdding((x) => !x)}>
          New campaign
        </button>
      </div>
      {adding ? (
        <NewCampaignForm
          onCancel={() => setAdding(false)}
          onCreated={(c) => {
            setAdding(false);
            onChanged(`Started the review “${c.name}”: ${c.counts.total} item${c.counts.total === 1 ? '' : 's'} to review, until ${when(c.endsAt)}.`);
          }}
        />
      ) : null}
      <Problem error={error} />
      {data === null ? <p className="muted">Loading…</p> : data.length === 0 ? <Empty>No review campaign yet. Start one to have access confirmed or removed.</Empty> : null}
      <ul className="cards">
        {data?.map((c) => <CampaignCard key={c.id} c={c} onChanged={onChanged} />)}
      </ul>
    </section>
  );
}

function CampaignCard({ c, onChanged }: { c: Campaign; onChanged: (n: ReactNode) => void }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState<null | 'complete' | 'cancel'>(null);
  const { busy, error, run } = useAction();
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirm) yes.current?.focus();
  }, [confirm]);
  const live = c.status === 'active' || c.status === 'scheduled';
  const n = c.counts;

  const act = (what: 'complete' | 'cancel') =>
    run(async () => {
      const out = what === 'complete' ? await completeCampaign(c.id) : await cancelCampaign(c.id);
      setConfirm(null);
      onChanged(what === 'complete' ? `Completed “${out.name}”: the decisions are ${out.autoApply ? 'applied' : 'recorded'}.` : `Cancelled “${out.name}”: nothing is applied.`);
    });

  return (
    <li className={`card campaign campaign-${c.status}`} aria-labelledby={`${id}-title`}>
      <div className="card-main">
        <p className="card-title" id={`${id}-title`}>
          {c.name} <span className={`tag tag-campaign-${c.status}`}>{CAMPAIGN_STATUS[c.status] ?? c.status}</span>
        </p>
        <p className="counts" aria-label="Counts">
          <span className="count">{n.total} item{n.total === 1 ? '' : 's'}</span> <span className="count">{n.decided} decided</span> <span className="count count-active">
            {n.approved} {c.status === 'completed' ? 'kept' : 'to keep'}
          </span>{' '}
          <span className="count count-standing">
            {n.denied} {c.status === 'completed' ? 'removed' : 'to remove'}
          </span> <span className="count">{n.pending} pending</span>
        </p>
        <p className="muted">
          {REVIEWERS[c.reviewers.kind] ?? c.reviewers.kind}
          {c.reviewers.principals?.length ? `: ${c.reviewers.principals.join(', ')}` : ''} · {when(c.startsAt)} to {when(c.endsAt)} · {RECURRENCE[c.recurrence ?? ''] ?? c.recurrence} · when
          nobody decides: {(DEFAULT_DECISION[c.defaultDecision] ?? c.defaultDecision).toLowerCase()} · {c.autoApply ? 'applied automatically at the end' : 'not applied automatically'}
          {c.completedAt ? ` · ended ${when(c.completedAt)}` : ''}
        </p>
      </div>
      <div className="card-actions">
        <button type="button" aria-expanded={open} aria-controls={`${id}-items`} onClick={() => setOpen((x) => !x)}>
          {open ? 'Hide items' : 'Show items'}
        </button>
        <a className="button" href={exportUrl(c.id, 'csv')} download>
          Export CSV
        </a>
        <a className="button" href={exportUrl(c.id, 'json')} download>
          Export JSON
        </a>
        {live && !confirm ? (
          <>
            <button type="button" onClick={() => setConfirm('complete')}>
              Complete now
            </button>
            <button type="button" className="danger" onClick={() => setConfirm('cancel')}>
              Cancel campaign
            </button>
          </>
        ) : null}
      </div>
      {confirm ? (
        <div className="card-full confirm" role="group" aria-label={confirm === 'complete' ? 'Confirm completing' : 'Confirm cancelling'}>
          <p>
            {confirm === 'complete'
              ? `End “${c.name}” now? Undecided items get the default (${(DEFAULT_DECISION[c.defaultDecision] ?? c.defaultDecision).toLowerCase()})${c.autoApply ? ', and removals are applied at once' : ''}.`
              : `Cancel “${c.name}”? Decisions made so far are not applied.`}
          </p>
          <div className="actions start">
            <button ref={yes} type="button" className={confirm === 'complete' ? 'primary' : 'danger'} disabled={busy} onClick={() => void act(confirm)}>
              {confirm === 'complete' ? 'Complete and apply' : 'Cancel the campaign'}
            </button>
            <button type="button" onClick={() => setConfirm(null)}>
              Keep it open
            </button>
          </div>
        </div>
      ) : null}
      {error ? (
        <div className="card-full">
          <Problem error={error} title="Not done:" />
        </div>
      ) : null}
      <div id={`${id}-items`} className="card-full" hidden={!open}>
        {open ? <CampaignItems campaign={c} /> : null}
      </div>
    </li>
  );
}

function CampaignItems({ campaign }: { campaign: Campaign }) {
  const { data, error } = useLoad(async () => (await campaignItems(campaign.id)).sort(pendingFirst), 15_000);
  if (error) return <Problem error={error} />;
  if (data === null) return <p className="muted">Loading…</p>;
  if (data.length === 0) return <Empty>This campaign has no items.</Empty>;
  return (
    <div className="table-wrap">
      <table className="review-items">
        <caption className="visually-hidden">Items of {campaign.name}</caption>
        <thead>
          <tr>
            <th scope="col">Principal</th>
            <th scope="col">Role</th>
            <th scope="col">Scope</th>
            <th scope="col">Reviewers</th>
            <th scope="col">Recommended</th>
            <th scope="col">Decision</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {data.map((i) => (
            <tr key={i.id}>
              <Cell label="Principal">{i.principalName || i.principalId}</Cell>
              <Cell label="Role">
                {i.roleName || i.roleId} <Risk tier={i.riskTier} />
                {i.standing ? <span className="tag tag-standing">Standing</span> : null}
              </Cell>
              <Cell label="Scope">
                <code>{i.scope}</code>
              </Cell>
              <Cell label="Reviewers">{i.reviewers.join(', ') || '—'}</Cell>
              <Cell label="Recommended" title={i.recommendation.message}>
                {i.recommendation.decision === 'approve' ? 'Keep' : 'Remove'}
              </Cell>
              <Cell label="Decision">
                {i.decision ? (
                  <>
                    {i.decision.decision === 'approve' ? 'Keep' : 'Remove'}, by {i.decision.by}
                    {i.decision.reason ? <span className="quote"> “{i.decision.reason}”</span> : null}
                  </>
                ) : i.finalDecision ? (
                  <>By default: {i.finalDecision === 'approve' ? 'keep' : 'remove'}</>
                ) : (
                  <span className="muted">Pending</span>
                )}
              </Cell>
              <Cell label="Outcome">{i.outcome === 'removed' ? <span className="tag tag-outcome-removed">Removed</span> : i.outcome === 'kept' ? <span className="tag tag-outcome-kept">Kept</span> : '—'}</Cell>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ---- a new campaign ------------------------------------------------------------------------------------

const list = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function CheckList<T extends string>({ legend, hint, options, value, onChange }: { legend: string; hint?: string; options: { value: T; label: ReactNode }[]; value: T[]; onChange: (v: T[]) => void }) {
  const id = useId();
  return (
    <fieldset className="field" aria-describedby={hint ? `${id}-hint` : undefined}>
      <legend>{legend}</legend>
      <div className="choices">
        {options.map((o) => (
          <label key={o.value} className="choice">
            <input type="checkbox" checked={value.includes(o.value)} onChange={(e) => onChange(e.target.checked ? [...value, o.value] : value.filter((x) => x !== o.value))} />
            {o.label}
          </label>
        ))}
      </div>
      {hint ? (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
    </fieldset>
  );
}

function NewCampaignForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (c: Campaign) => void }) {
  const id = useId();
  const { busy, error, run } = useAction();
  const [roles, setRoles] = useState<Role[]>([]);
  const [principals, setPrincipals] = useState<Awaited<ReturnType<typeof principalsForSuggest>>>([]);
  useEffect(() => {
    loadRoles().then((m) => setRoles([...m.values()].sort((a, b) => a.name.localeCompare(b.name))), () => undefined);
    principalsForSuggest().then(setPrincipals, () => undefined);
  }, []);

  const [name, setName] = useState('');
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [scopes, setScopes] = useState('');
  const [kinds, setKinds] = useState<('user' | 'group' | 'service')[]>([]);
  const [include, setInclude] = useState<('eligibilities' | 'assignments')[]>(['eligibilities', 'assignments']);
  const [standingOnly, setStandingOnly] = useState(false);
  const [reviewers, setReviewers] = useState<NewCampaign['reviewers']['kind']>('manager');
  const [named, setNamed] = useState('');
  const [fallback, setFallback] = useState('');
  const [days, setDays] = useState('14');
  const [recurrence, setRecurrence] = useState('');
  const [defaultDecision, setDefaultDecision] = useState<NewCampaign['defaultDecision']>('recommendation');
  const [unusedDays, setUnusedDays] = useState('90');
  const [inactiveDays, setInactiveDays] = useState('30');
  const [autoApply, setAutoApply] = useState(true);

  const sorted = useMemo(() => [...principals].sort((a, b) => a.id.localeCompare(b.id)), [principals]);
  const num = (s: string) => (s.trim() === '' ? undefined : Number(s));

  function submit(e: FormEvent) {
    e.preventDefault();
    const filter: NonNullable<NewCampaign['filter']> = {
      ...(roleIds.length ? { roles: roleIds } : {}),
      ...(list(scopes).length ? { scopes: list(scopes) } : {}),
      ...(kinds.length ? { principalKinds: kinds } : {}),
      ...(standingOnly ? { standingOnly: true } : {}),
      include,
    };
    const people = list(named);
    const body: NewCampaign = {
      name: name.trim(),
      filter,
      reviewers: {
        kind: reviewers,
        ...(reviewers === 'principals' ? { principals: people } : {}),
        ...(list(fallback).length && (reviewers === 'manager' || reviewers === 'role_owners') ? { fallback: list(fallback) } : {}),
      },
      durationDays: Number(days),
      recurrence: (recurrence || null) as NewCampaign['recurrence'],
      defaultDecision,
      recommend: { ...(num(unusedDays) !== undefined ? { unusedDays: num(unusedDays) } : {}), ...(num(inactiveDays) !== undefined ? { inactiveDays: num(inactiveDays) } : {}) },
      autoApply,
    };
    void run(async () => onCreated(await createCampaign(body)));
  }

  return (
    <form className="panel editor campaign-form" onSubmit={submit} aria-labelledby={`${id}-h`} noValidate>
      <h3 id={`${id}-h`}>New review campaign</h3>
      <div className="field">
        <label htmlFor={`${id}-name`}>Campaign name</label>
        <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" placeholder="for example: Q2 production access" />
      </div>

      <h4>What to review</h4>
      <CheckList legend="Roles" hint="None chosen: every role." options={roles.map((r) => ({ value: r.id, label: `${r.name} (${r.riskTier})` }))} value={roleIds} onChange={setRoleIds} />
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-scopes`}>Scopes</label>
          <input id={`${id}-scopes`} value={scopes} onChange={(e) => setScopes(e.target.value)} aria-describedby={`${id}-scopes-hint`} autoComplete="off" spellCheck={false} />
          <p id={`${id}-scopes-hint`} className="hint">
            Access at or below these scopes, separated by commas, for example <code>/prod</code>. Empty: everywhere.
          </p>
        </div>
        <CheckList
          legend="Principal kinds"
          hint="None chosen: all kinds."
          options={[
            { value: 'user', label: 'People' },
            { value: 'group', label: 'Groups' },
            { value: 'service', label: 'Services' },
          ]}
          value={kinds}
          onChange={setKinds}
        />
      </div>
      <CheckList
        legend="Include"
        options={[
          { value: 'eligibilities', label: 'Eligibilities' },
          { value: 'assignments', label: 'Active assignments' },
        ]}
        value={include}
        onChange={setInclude}
      />
      <div className="field">
        <label className="choice">
          <input type="checkbox" checked={standingOnly} onChange={(e) => setStandingOnly(e.target.checked)} />
          Standing access only (permanent direct assignments)
        </label>
      </div>

      <h4>Who reviews</h4>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-reviewers`}>Reviewers</label>
          <select id={`${id}-reviewers`} value={reviewers} onChange={(e) => setReviewers(e.target.value as typeof reviewers)}>
            {Object.entries(REVIEWERS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        {reviewers === 'principals' ? (
          <div className="field">
            <label htmlFor={`${id}-named`}>Reviewer principals</label>
            <input id={`${id}-named`} list={`${id}-ps`} value={named} onChange={(e) => setNamed(e.target.value)} aria-describedby={`${id}-named-hint`} autoComplete="off" spellCheck={false} />
            <p id={`${id}-named-hint`} className="hint">
              Principal or group IDs, separated by commas.
            </p>
          </div>
        ) : reviewers === 'manager' || reviewers === 'role_owners' ? (
          <div className="field">
            <label htmlFor={`${id}-fallback`}>Fallback reviewers</label>
            <input id={`${id}-fallback`} list={`${id}-ps`} value={fallback} onChange={(e) => setFallback(e.target.value)} aria-describedby={`${id}-fallback-hint`} autoComplete="off" spellCheck={false} />
            <p id={`${id}-fallback-hint`} className="hint">
              Who reviews when there is no {reviewers === 'manager' ? 'manager' : 'role owner'}: principal or group IDs, separated by commas.
            </p>
          </div>
        ) : (
          <p className="hint">Nobody else sees these items; a holder cannot review anyone else’s access.</p>
        )}
        <PrincipalList id={`${id}-ps`} principals={sorted} />
      </div>

      <h4>Timing and outcome</h4>
      <div className="grid2">
        <div className="field">
          <label htmlFor={`${id}-days`}>Duration in days</label>
          <input id={`${id}-days`} type="number" min={1} max={180} value={days} onChange={(e) => setDays(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-rec`}>Recurrence</label>
          <select id={`${id}-rec`} value={recurrence} onChange={(e) => setRecurrence(e.target.value)}>
            {Object.entries(RECURRENCE).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-default`}>When nobody decides</label>
          <select id={`${id}-default`} value={defaultDecision} onChange={(e) => setDefaultDecision(e.target.value as typeof defaultDecision)}>
            {Object.entries(DEFAULT_DECISION).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-unused`}>Recommend removal when not activated for (days)</label>
          <input id={`${id}-unused`} type="number" min={1} value={unusedDays} onChange={(e) => setUnusedDays(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-inactive`}>Recommend removal when not signed in for (days)</label>
          <input id={`${id}-inactive`} type="number" min={1} value={inactiveDays} onChange={(e) => setInactiveDays(e.target.value)} />
        </div>
      </div>
      <div className="field">
        <label className="choice">
          <input type="checkbox" checked={autoApply} onChange={(e) => setAutoApply(e.target.checked)} aria-describedby={`${id}-apply-hint`} />
          Apply the decisions automatically at the end
        </label>
        <p id={`${id}-apply-hint`} className="hint">
          Removed eligibilities end and removed assignments are revoked, each in the audit trail.
        </p>
      </div>
      <EditorActions error={error} title="Not started:" busy={busy} onCancel={onCancel}>
        Start campaign
      </EditorActions>
    </form>
  );
}
