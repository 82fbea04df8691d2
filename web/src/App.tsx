import { useCallback, useEffect, useMemo, useRef, useState, type JSX } from 'react';
import { AdminCheck, useIsAdmin } from './admin-check.js';
import { ADMIN_PAGE } from './admin/Admin.js';
import { ApiError, authConfig, me as loadMe, signOut, type PortalMe } from './api.js';
import { INSIGHT_PAGES } from './audit/nav.js';
import { GOVERNANCE_PAGES, REVIEWS_PAGE } from './governance/nav.js';
import { Approvals } from './Approvals.js';
import { MyAccess } from './MyAccess.js';
import { MyRequests } from './MyRequests.js';
import { Security } from './Security.js';
import { SignIn } from './SignIn.js';
import { Link, Problem, SessionContext, type Session } from './ui.js';

type PageEntry = { path: string; title: string; Page: () => JSX.Element };

const PAGES: PageEntry[] = [
  { path: '/', title: 'My access', Page: MyAccess },
  { path: '/requests', title: 'My requests', Page: MyRequests },
  { path: '/approvals', title: 'Approvals', Page: Approvals },
  REVIEWS_PAGE,
  { path: '/security', title: 'Security', Page: Security },
];

/** Routed for everyone (the server refuses others); linked only while the server says this person is an administrator. */
const ADMIN_PAGES: PageEntry[] = [ADMIN_PAGE, ...INSIGHT_PAGES, ...GOVERNANCE_PAGES];

function NavItems({ pages }: { pages: PageEntry[] }) {
  return pages.map((p) => (
    <li key={p.path}>
      <Link href={p.path}>{p.title}</Link>
    </li>
  ));
}

function AdminNavItems() {
  return useIsAdmin() ? <NavItems pages={ADMIN_PAGES} /> : null;
}

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'signedOut'; oidc: boolean; note: string | null }
  | { kind: 'signedIn'; me: PortalMe };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [path, setPath] = useState(location.pathname);
  const main = useRef<HTMLElement>(null);

  const start = useCallback(async (note: string | null = null) => {
    try {
      const me = await loadMe();
      setState({ kind: 'signedIn', me });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) return setState({ kind: 'failed', error: e });
      try {
        const { oidc } = await authConfig();
        setState({ kind: 'signedOut', oidc, note });
      } catch (e2) {
        setState({ kind: 'failed', error: e2 });
      }
    }
  }, []);

  useEffect(() => {
    void start();
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, [start]);

  const navigate = useCallback((to: string) => {
    if (to !== location.pathname) history.pushState(null, '', to);
    setPath(to);
    // Move focus to the new page's heading, as a page load would.
    requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
  }, []);

  const session = useMemo<Session | null>(
    () => (state.kind === 'signedIn' ? { me: state.me, signedOut: (note) => void start(note ?? null), navigate } : null),
    [state, start, navigate],
  );

  const page = [...PAGES, ...ADMIN_PAGES].find((p) => p.path === path);
  useEffect(() => {
    document.title = state.kind === 'signedIn' ? `${page?.title ?? 'Not found'} · Elevate` : 'Sign in · Elevate';
  }, [state.kind, page]);

  if (state.kind === 'loading') return <p className="loading">Loading…</p>;
  if (state.kind === 'failed')
    return (
      <main className="signin" id="main">
        <h1>Elevate</h1>
        <Problem error={state.error} title="The portal cannot load:" />
        <button type="button" onClick={() => void start()}>
          Try again
        </button>
      </main>
    );
  if (state.kind === 'signedOut') return <SignIn oidc={state.oidc} note={state.note} onSignedIn={() => void start()} />;

  const who = state.me.principal;
  return (
    <SessionContext.Provider value={session}>
      <AdminCheck>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <div className="top-inner">
            <a className="brand" href="/" onClick={(e) => { e.preventDefault(); navigate('/'); }}>
              Elevate
            </a>
            <nav aria-label="Main">
              <ul>
                <NavItems pages={PAGES} />
                <AdminNavItems />
              </ul>
            </nav>
            <div className="who">
              <span className="who-name" title={who.id}>
                {who.name || who.id}
              </span>
              <button
                type="button"
                onClick={() =>
                  void signOut()
                    .catch(() => undefined)
                    .then(() => start('You are signed out.'))
                }
              >
                Sign out
              </button>
            </div>
          </div>
        </header>
        <main id="main" ref={main} className="page">
          {page ? (
            <page.Page key={page.path} />
          ) : (
            <>
              <h1 tabIndex={-1}>Page not found</h1>
              <p>
                There is nothing at <code>{path}</code>. Go to <Link href="/">My access</Link>.
              </p>
            </>
          )}
        </main>
      </AdminCheck>
    </SessionContext.Provider>
  );
}
