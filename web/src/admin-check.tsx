import { createContext, useContext, type ReactNode } from 'react';
import { holdsAdmin } from './api.js';
import { useLoad, useSession } from './ui.js';

/**
 * Whether the signed-in person is an administrator now: the server's decision point, asked about
 * oneself (elevate-admin at /). The administrators' pages (Administration, Audit, Dashboard) are
 * linked and offered only then; the server still checks every call.
 */
const AdminContext = createContext<boolean | null>(null);

/** Asks once for the whole portal, at sign-in and again every minute (an activated admin role ends by itself). */
export function AdminCheck({ children }: { children: ReactNode }) {
  const { me } = useSession();
  const { data } = useLoad(() => holdsAdmin(me.principal.id), 60_000);
  return <AdminContext.Provider value={data}>{children}</AdminContext.Provider>;
}

/** The answer under AdminCheck: null until the server has answered. */
export const useIsAdmin = (): boolean | null => useContext(AdminContext);
