import { AuditExplorer } from './AuditExplorer.js';
import { Dashboard } from '../dashboard/Dashboard.js';

/** The administrators' read-only pages. Routed for everyone (the server refuses others); linked only for admins. */
export const INSIGHT_PAGES = [
  { path: '/audit', title: 'Audit', Page: AuditExplorer },
  { path: '/dashboard', title: 'Dashboard', Page: Dashboard },
];
