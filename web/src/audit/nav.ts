import { useEffect, useState } from 'react';
import { AuditExplorer } from './AuditExplorer.js';
import { holdsAdmin } from './api.js';
import { Dashboard } from '../dashboard/Dashboard.js';

/** The administrators' read-only pages. Routed for everyone (the server refuses others); linked only for admins. */
export const INSIGHT_PAGES = [
  { path: '/audit', title: 'Audit', Page: AuditExplorer },
  { path: '/dashboard', title: 'Dashboard', Page: Dashboard },
];

/**
 * True while the server says this principal holds elevate-admin at /: asked at sign-in and again
 * every minute (an activated admin role ends by itself).
 */
export function useAdminViews(principalId: string | null): boolean {
  const [allowed, setAllowed] = useState<{ who: string; ok: boolean } | null>(null);
  useEffect(() => {
    if (!principalId) return;
    let live = true;
    const ask = () =>
      void holdsAdmin(principalId).then((ok) => {
        if (live) setAllowed({ who: principalId, ok });
      });
    ask();
    const t = setInterval(ask, 60_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [principalId]);
  return allowed !== null && allowed.who === principalId && allowed.ok;
}
