import { useIsAdmin } from '../admin-check.js';
import { Tabs } from '../tabs.js';
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

export function Admin() {
  const admin = useIsAdmin();

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

  return (
    <>
      <h1 tabIndex={-1}>Administration</h1>
      <Tabs tabs={TABS} label="Administration sections" />
    </>
  );
}

export const ADMIN_PAGE = { path: '/admin', title: 'Administration', Page: Admin };
