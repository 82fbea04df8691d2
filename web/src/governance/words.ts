// Plain words for the governance pages: statuses, modes, recommendation reasons, and times as "ago".
import { formatSpan, formatTime, serverNow, toMs } from '../time.js';

export const CAMPAIGN_STATUS: Record<string, string> = { scheduled: 'Scheduled', active: 'Open', completed: 'Completed', cancelled: 'Cancelled' };

export const REVIEWERS: Record<string, string> = {
  manager: "The principal's manager",
  role_owners: "The role's owners",
  principals: 'Named people or groups',
  self: 'Each holder reviews their own access',
};

export const DEFAULT_DECISION: Record<string, string> = {
  recommendation: 'Follow the recommendation',
  keep: 'Keep the access',
  remove: 'Remove the access',
};

export const RECURRENCE: Record<string, string> = {
  '': 'Once',
  weekly: 'Every week',
  monthly: 'Every month',
  quarterly: 'Every quarter',
  semiannual: 'Every six months',
  yearly: 'Every year',
};

export const SEVERITY_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };
export const ALERT_STATUS: Record<string, string> = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };

export const ROLLOUT: Record<string, { title: string; text: string }> = {
  none: { title: 'Not started', text: 'Standing (direct) assignments are allowed as before.' },
  awareness: { title: 'Awareness', text: 'Standing access is kept as a fallback; every use of it is counted.' },
  enforced: { title: 'Enforced', text: 'No new direct assignments (break-glass still works); existing ones are flagged.' },
};

/** Why the server recommends keeping or removing: its reason codes as short labels (its message says the detail). */
const RECOMMEND: Record<string, string> = {
  standing_access: 'Standing access',
  unused_eligibility: 'Not activated lately',
  inactive_account: 'Account not signed in lately',
  recently_granted: 'Recently granted',
  recently_used: 'Recently used',
  time_bound: 'Ends by itself',
};

export const recommendationReason = (code: string) => RECOMMEND[code] ?? capital(code.replace(/_/g, ' '));

/** The server's message without its leading "Keep:" / "Remove:" (the page says that already). */
export const recommendationText = (message: string) => capital(message.replace(/^(keep|remove)\s*:\s*/i, ''));

/** "3 days ago", "never" — on the server's clock, with the exact time as a tooltip elsewhere. */
export function ago(t: string | number | null | undefined, never = 'never'): string {
  const ms = toMs(t);
  if (ms === null) return never;
  const d = serverNow() - ms;
  if (d < 60_000) return 'just now';
  return `${formatSpan(d).split(' ').slice(0, 2).join(' ')} ago`;
}

export const when = (t: string | number | null | undefined, none = '—') => (toMs(t) === null ? none : formatTime(t));

export const capital = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);
