import { Alerts } from './Alerts.js';
import { Reports } from './Reports.js';
import { Reviews } from './Reviews.js';
import { Standing } from './Standing.js';

/** Access reviews: for everyone (reviewers see their queue; administrators also the campaigns). */
export const REVIEWS_PAGE = { path: '/reviews', title: 'Reviews', Page: Reviews };

/** The administrators' governance pages. Routed for everyone (the server refuses others); linked only for admins. */
export const GOVERNANCE_PAGES = [
  { path: '/alerts', title: 'Alerts', Page: Alerts },
  { path: '/standing', title: 'Standing access', Page: Standing },
  { path: '/reports', title: 'Reports', Page: Reports },
];
