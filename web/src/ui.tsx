import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, type PortalMe, type Role } from './api.js';
import { explainError, type Explained } from './reasons.js';

// ---- the signed-in session -----------------------------------------------------------------

export interface Session {
  me: PortalMe;
  /** The server said the session is gone (401): show the sign-in page with a note. */
  signedOut(note?: string): void;
  navigate(path: string): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

// ---- loading data, again every few seconds while someone is using the page -----------------

// Polling is a request like any other and keeps the session alive; it stops when nobody has
// touched the page for a while, so the server's idle timeout still ends an abandoned session.
const IDLE_MS = 10 * 60_000;
let lastInput = Date.now();
for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart', 'focus']) {
  addEventListener(ev, () => (lastInput = Date.now()), { passive: true, capture: true });
}
const someoneIsHere = () => document.visibilityState === 'visible' && Date.now() - lastInput < IDLE_MS;

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  reload(): Promise<void>;
}

export function useLoad<T>(load: () => Promise<T>, everyMs = 10_000): Loaded<T> {
  const { signedOut } = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const reload = useCallback(async () => {
    try {
      const d = await loadRef.current();
      setData(d);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) signedOut('Your session ended. Sign in again.');
      else setError(e);
    }
  }, [signedOut]);
  useEffect(() => {
    void reload();
    const t = setInterval(() => {
      if (someoneIsHere()) void reload();
    }, everyMs);
    return () => clearInterval(t);
  }, [reload, everyMs]);
  return { data, error, reload };
}

// ---- showing what went wrong, in plain words -------------------------------------------------

export function explained(e: unknown): Explained[] {
  if (e instanceof ApiError) {
    if (e.status === 0) return [{ code: e.code, text: 'Elevate cannot be reached. Check your connection and try again.' }];
    return explainError(e);
  }
  return [{ code: 'error', text: e instanceof Error ? e.message : String(e) }];
}

/** A refusal or failure: every reason as a sentence, announced to screen readers. */
export function Problem({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const reasons = explained(error);
  return (
    <div className="problem" role="alert">
      {title ? <p className="problem-title">{title}</p> : null}
      <ul>
        {reasons.map((r) => (
          <li key={r.code} data-reason={r.code}>
            {r.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A role as a card in a list, named by the role's name for assistive technology; its risk (and `tags`) by the name. */
export function RoleCard({ role, tags, action, children }: { role: Role; tags?: ReactNode; action: ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <li className="card" aria-labelledby={`${id}-name`}>
      <div className="card-main">
        <p className="card-title">
          <span id={`${id}-name`} className="role-name">
            {role.name}
          </span>{' '}
          <Risk tier={role.riskTier} />
          {tags}
        </p>
        {children}
      </div>
      {action}
    </li>
  );
}

export function RoleName({ role, id }: { role: Role | undefined; id: string }) {
  return <span className="role-name">{role?.name ?? id}</span>;
}

export function Risk({ tier }: { tier: string | undefined }) {
  if (!tier) return null;
  return <span className={`risk risk-${tier}`}>{tier} risk</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A link inside the app: changes the page without reloading it. */
export function Link({ href, children, className }: { href: string; children: ReactNode; className?: string }) {
  const { navigate } = useSession();
  return (
    <a
      href={href}
      className={className}
      aria-current={location.pathname === href ? 'page' : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
