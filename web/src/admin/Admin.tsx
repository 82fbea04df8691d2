import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useIsAdmin } from '../admin-check.js';
import { Link } from '../ui.js';
import { Access } from './Access.js';
import { Principals } from './Principals.js';
import { Roles } from './Roles.js';
import { Scopes } from './Scopes.js';

/**
 * Administration: principals and groups, roles, eligibilities and standing access, the scope tree.
 * Offered only to someone the server says holds elevate-admin at / (the decision point, asked about
 * oneself); the server checks every call anyway.
 */
const TABS = [
  { id: 'principals', title: 'Principals', Panel: Principals },
  { id: 'roles', title: 'Roles', Panel: Roles },
  { id: 'access', title: 'Access', Panel: Access },
  { id: 'scopes', title: 'Scopes', Panel: Scopes },
] as const;
type TabId = (typeof TABS)[number]['id'];

function tabFromUrl(): TabId {
  const t = new URLSearchParams(location.search).get('tab');
  return TABS.some((x) => x.id === t) ? (t as TabId) : 'principals';
}

export function Admin() {
  const id = useId();
  const admin = useIsAdmin();
  const [tab, setTab] = useState<TabId>(tabFromUrl);
  const tabs = useRef<Record<string, HTMLButtonElement | null>>({});

  useEffect(() => {
    const onPop = () => setTab(tabFromUrl());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const choose = useCallback((t: TabId, focus = false) => {
    setTab(t);
    const url = t === 'principals' ? location.pathname : `${location.pathname}?tab=${t}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    if (focus) tabs.current[t]?.focus();
  }, []);

  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the panel.
  function onKey(e: KeyboardEvent) {
    const i = TABS.findIndex((x) => x.id === tab);
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    choose(TABS[(next + TABS.length) % TABS.length]!.id, true);
  }

  if (admin === null)
    return (
      <>
        <h1 tabIndex={-1}>Administration</h1>
        <p className="muted">Loading…</p>
      </>
    );
  if (!admin)
    return (
      <>
        <h1 tabIndex={-1}>Administration</h1>
        <p className="empty">
          Administration is for holders of the elevate-admin role. If you are eligible for it, activate it on <Link href="/">My access</Link> first.
        </p>
      </>
    );

  const current = TABS.find((t) => t.id === tab)!;
  return (
    <>
      <h1 tabIndex={-1}>Administration</h1>
      <div role="tablist" aria-label="Administration sections" className="tabs" onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`${id}-tab-${t.id}`}
            aria-selected={t.id === tab}
            aria-controls={`${id}-panel`}
            tabIndex={t.id === tab ? 0 : -1}
            onClick={() => choose(t.id)}
          >
            {t.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${current.id}`} className="tabpanel">
        <current.Panel key={current.id} />
      </div>
    </>
  );
}

export const ADMIN_PAGE = { path: '/admin', title: 'Administration', Page: Admin };
