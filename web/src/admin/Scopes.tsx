import { useId, useState } from 'react';
import { formatTime, serverNow, toMs } from '../time.js';
import { Empty, Problem, useLoad } from '../ui.js';
import { eligibilities as loadEligibilities, liveAssignments, roles as loadRoles, type Assignment, type Eligibility } from './api.js';

interface Counts {
  eligible: number;
  standing: number;
  active: number;
}
interface Node {
  scope: string;
  segment: string;
  children: Node[];
  here: Counts;
  below: Counts;
  eligibilities: Eligibility[];
  grants: Assignment[];
}

const zero = (): Counts => ({ eligible: 0, standing: 0, active: 0 });
const sum = (c: Counts) => c.eligible + c.standing + c.active;

/** The scopes in use (by eligibilities and live grants) as a tree from `/`, with counts at each and below it. */
function buildTree(eligibilities: Eligibility[], grants: Assignment[]): Node {
  const root: Node = { scope: '/', segment: '/', children: [], here: zero(), below: zero(), eligibilities: [], grants: [] };
  const nodes = new Map<string, Node>([['/', root]]);
  const node = (scope: string): Node => {
    const known = nodes.get(scope);
    if (known) return known;
    const cut = scope.lastIndexOf('/');
    const parent = node(cut === 0 ? '/' : scope.slice(0, cut));
    const n: Node = { scope, segment: scope.slice(cut + 1), children: [], here: zero(), below: zero(), eligibilities: [], grants: [] };
    parent.children.push(n);
    nodes.set(scope, n);
    return n;
  };
  for (const e of eligibilities) {
    const n = node(e.scope);
    n.here.eligible++;
    n.eligibilities.push(e);
  }
  for (const g of grants) {
    const n = node(g.scope);
    if (g.source === 'direct') n.here.standing++;
    else n.here.active++;
    n.grants.push(g);
  }
  const total = (n: Node): Counts => {
    n.children.sort((a, b) => a.segment.localeCompare(b.segment));
    const c = { ...n.here };
    for (const ch of n.children) {
      const t = total(ch);
      c.eligible += t.eligible;
      c.standing += t.standing;
      c.active += t.active;
    }
    n.below = c;
    return c;
  };
  total(root);
  return root;
}

async function load() {
  const now = serverNow();
  const [eligibilities, grants, roles] = await Promise.all([loadEligibilities(), liveAssignments(), loadRoles()]);
  const live = eligibilities.filter((e) => !e.removedAt && (toMs(e.endsAt) ?? Infinity) > now);
  const held = grants.filter((g) => g.status === 'active' || g.status === 'scheduled');
  return { tree: buildTree(live, held), roles: new Map(roles.map((r) => [r.id, r.name])) };
}

function CountsText({ c }: { c: Counts }) {
  const parts = [
    c.eligible ? <span key="e" className="count">{c.eligible === 1 ? '1 eligibility' : `${c.eligible} eligibilities`}</span> : null,
    c.standing ? <span key="s" className="count count-standing">{c.standing} standing</span> : null,
    c.active ? <span key="a" className="count count-active">{c.active} active</span> : null,
  ].filter(Boolean);
  return parts.length ? <>{parts}</> : <span className="muted">nothing here</span>;
}

interface TreeState {
  open: Set<string>;
  selected: string;
  toggle(scope: string): void;
  select(scope: string): void;
}

function Branch({ n, t }: { n: Node; t: TreeState }) {
  const { open, selected, toggle, select } = t;
  const expanded = open.has(n.scope);
  return (
    <li>
      <div className={`tree-row${selected === n.scope ? ' is-selected' : ''}`}>
        {n.children.length ? (
          <button type="button" className="tree-toggle" aria-expanded={expanded} aria-label={`${expanded ? 'Collapse' : 'Expand'} ${n.scope}`} onClick={() => toggle(n.scope)}>
            <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>
          </button>
        ) : (
          <span className="tree-spacer" aria-hidden="true" />
        )}
        <button type="button" className="tree-scope" aria-pressed={selected === n.scope} onClick={() => select(n.scope)}>
          <code>{n.scope}</code>
        </button>
        <span className="tree-counts">
          <CountsText c={n.here} />
          {n.children.length && sum(n.below) !== sum(n.here) ? <span className="muted">{sum(n.below)} here and below</span> : null}
        </span>
      </div>
      {n.children.length && expanded ? (
        <ul className="tree" aria-label={`Below ${n.scope}`}>
          {n.children.map((c) => (
            <Branch key={c.scope} n={c} t={t} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function Scopes() {
  const id = useId();
  const { data, error } = useLoad(load, 30_000);
  const [open, setOpen] = useState<Set<string>>(() => new Set(['/']));
  const [selected, setSelected] = useState<string>('/');

  const toggle = (scope: string) => {
    const next = new Set(open);
    if (next.has(scope)) next.delete(scope);
    else next.add(scope);
    setOpen(next);
  };
  const all = (n: Node, out: string[] = []): string[] => {
    if (n.children.length) out.push(n.scope);
    n.children.forEach((c) => all(c, out));
    return out;
  };
  const find = (n: Node, scope: string): Node | null => (n.scope === scope ? n : n.children.map((c) => find(c, scope)).find(Boolean) ?? null);
  const chosen = data ? find(data.tree, selected) : null;

  return (
    <section aria-labelledby={`${id}-h`}>
      <div className="section-head">
        <h2 id={`${id}-h`}>Scope tree</h2>
        {data ? (
          <span className="row">
            <button type="button" onClick={() => setOpen(new Set(all(data.tree)))}>
              Expand all
            </button>
            <button type="button" onClick={() => setOpen(new Set(['/']))}>
              Collapse all
            </button>
          </span>
        ) : null}
      </div>
      <p className="muted">The scopes eligibilities and grants name. Access at a scope covers every scope below it.</p>
      <Problem error={error} />
      {data === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <div className="scopes">
          <ul className="tree tree-root" aria-label="Scopes">
            <Branch n={data.tree} t={{ open, selected, toggle, select: setSelected }} />
          </ul>
          {chosen ? (
            <section className="panel scope-detail" aria-labelledby={`${id}-detail`} aria-live="polite">
              <h3 id={`${id}-detail`}>
                At <code>{chosen.scope}</code>
              </h3>
              {chosen.eligibilities.length + chosen.grants.length === 0 ? (
                <Empty>Nothing is granted exactly here{chosen.children.length ? '; look below it' : ''}.</Empty>
              ) : (
                <ul className="plain">
                  {chosen.grants
                    .filter((g) => g.source === 'direct')
                    .map((g) => (
                      <li key={g.id}>
                        <span className="tag tag-standing">Standing</span> <span className="name">{g.principalId}</span> holds {data.roles.get(g.roleId) ?? g.roleId}
                        {g.endsAt ? ` until ${formatTime(g.endsAt)}` : ''}
                      </li>
                    ))}
                  {chosen.grants
                    .filter((g) => g.source !== 'direct')
                    .map((g) => (
                      <li key={g.id}>
                        <span className="tag tag-active">Active</span> <span className="name">{g.principalId}</span> has {data.roles.get(g.roleId) ?? g.roleId} until {formatTime(g.endsAt)}
                      </li>
                    ))}
                  {chosen.eligibilities.map((e) => (
                    <li key={e.id}>
                      <span className="tag">Eligible</span> <span className="name">{e.principalId}</span> for {data.roles.get(e.roleId) ?? e.roleId}
                      {e.endsAt ? ` until ${formatTime(e.endsAt)}` : ''}
                    </li>
                  ))}
                </ul>
              )}
            </section>
          ) : null}
        </div>
      )}
    </section>
  );
}
