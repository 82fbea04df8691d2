import type { AssignmentSource } from './model.js';

/**
 * The dashboard's figures for a period, computed from facts read in one transaction. Pure: the
 * caller passes the period, "now" and the rows; nothing here reads a clock or a database.
 *
 * - activations: grants made from activation requests (audit `assignment.activated` and
 *   `assignment.scheduled`, with or without approval), by the UTC day they were granted;
 *   break-glass activations (`breakglass.activated`) are counted apart.
 * - approval latency: for each request finally approved in the period (`request.approved`), the
 *   time from the request's creation to that approval; p50/p90 by nearest rank.
 * - denials by reason: `request.denied` events in the period; a denial with two reasons counts once
 *   under each.
 * - standing vs just-in-time: per UTC day, the hours and the number of direct (standing),
 *   activation (just-in-time) and break-glass assignments live during that day, up to now.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The longest period the dashboard computes at once. */
export const MAX_STATS_PERIOD_MS = 366 * DAY_MS;

export const ACTIVATION_EVENTS: readonly string[] = ['assignment.activated', 'assignment.scheduled'];
export const STATS_EVENT_TYPES: readonly string[] = [...ACTIVATION_EVENTS, 'breakglass.activated', 'request.denied'];

/** An audit event, reduced to what the figures use. */
export interface StatsEvent {
  ts: number;
  type: string;
  roleId: string | null;
  reasons: string[];
}

/** A request finally approved: when it was made, when the last approval came. */
export interface StatsApproval {
  requestId: string;
  roleId: string;
  requestedAt: number;
  approvedAt: number;
}

/** An assignment that may have been live during the period; `endsAt` null = permanent. */
export interface StatsAssignment {
  id: string;
  roleId: string;
  source: AssignmentSource;
  startsAt: number;
  endsAt: number | null;
}

export interface StatsFacts {
  events: StatsEvent[];
  approvals: StatsApproval[];
  assignments: StatsAssignment[];
}

export interface LiveShare {
  /** Assignments live at some moment of the day (up to now). */
  count: number;
  /** Hours of access they gave during the day (up to now). */
  hours: number;
}

export interface StatsDay {
  /** UTC date, YYYY-MM-DD. */
  date: string;
  /** Start of the day (UTC midnight), ms. */
  start: number;
  activations: number;
  breakglass: number;
  denials: number;
  standing: LiveShare;
  justInTime: LiveShare;
  breakglassAccess: LiveShare;
}

export interface Stats {
  from: number;
  to: number;
  now: number;
  days: StatsDay[];
  totals: { activations: number; breakglass: number; denials: number; approvals: number; standingHours: number; justInTimeHours: number; breakglassHours: number };
  approvalLatency: { count: number; p50Ms: number | null; p90Ms: number | null; maxMs: number | null };
  denialsByReason: { reason: string; count: number }[];
  topRoles: { roleId: string; activations: number }[];
}

export const utcDayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** The q-quantile by nearest rank: the ⌈q·n⌉-th smallest value (null when there are none). */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

const hours = (ms: number): number => Math.round((ms / HOUR_MS) * 1000) / 1000;

/** Descending by count, then by name, so equal counts come in a stable order. */
const byCount = <T extends { count: number }>(key: (x: T) => string) => (a: T, b: T) => b.count - a.count || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Compute the figures for [from, to). Events outside the period are ignored; nothing after `now` is counted. */
export function computeStats(period: { from: number; to: number; now: number; topRoles?: number }, facts: StatsFacts): Stats {
  const { from, to, now } = period;
  const firstDay = utcDayStart(from);
  const dayCount = to > from ? Math.floor((to - 1 - firstDay) / DAY_MS) + 1 : 0;
  const days: StatsDay[] = [];
  type Cell = { count: number; ms: number };
  const live = { standing: [] as Cell[], justInTime: [] as Cell[], breakglassAccess: [] as Cell[] };
  for (let i = 0; i < dayCount; i++) {
    const start = firstDay + i * DAY_MS;
    days.push({
      date: new Date(start).toISOString().slice(0, 10),
      start,
      activations: 0,
      breakglass: 0,
      denials: 0,
      standing: { count: 0, hours: 0 },
      justInTime: { count: 0, hours: 0 },
      breakglassAccess: { count: 0, hours: 0 },
    });
    // Milliseconds per day, turned into hours once at the end (no rounding drift from adding hours).
    live.standing.push({ count: 0, ms: 0 });
    live.justInTime.push({ count: 0, ms: 0 });
    live.breakglassAccess.push({ count: 0, ms: 0 });
  }
  const dayOf = (ts: number): StatsDay | undefined => (ts >= from && ts < to ? days[Math.floor((ts - firstDay) / DAY_MS)] : undefined);

  const activationsByRole = new Map<string, number>();
  const reasons = new Map<string, number>();
  let activations = 0;
  let breakglass = 0;
  let denials = 0;
  for (const e of facts.events) {
    const day = dayOf(e.ts);
    if (!day) continue;
    if (ACTIVATION_EVENTS.includes(e.type)) {
      day.activations++;
      activations++;
      if (e.roleId !== null) activationsByRole.set(e.roleId, (activationsByRole.get(e.roleId) ?? 0) + 1);
    } else if (e.type === 'breakglass.activated') {
      day.breakglass++;
      breakglass++;
    } else if (e.type === 'request.denied') {
      day.denials++;
      denials++;
      for (const r of new Set(e.reasons.length > 0 ? e.reasons : ['unspecified'])) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
  }

  const latencies = facts.approvals
    .filter((a) => a.approvedAt >= from && a.approvedAt < to)
    .map((a) => Math.max(0, a.approvedAt - a.requestedAt))
    .sort((a, b) => a - b);

  // Live access per day: each assignment's [startsAt, endsAt) clipped to the day, the period and now.
  const horizon = Math.min(to, now);
  for (const a of facts.assignments) {
    const kind = a.source === 'direct' ? live.standing : a.source === 'breakglass' ? live.breakglassAccess : live.justInTime;
    const start = Math.max(a.startsAt, from);
    const end = Math.min(a.endsAt ?? Infinity, horizon);
    if (end <= start) continue;
    for (let i = Math.floor((start - firstDay) / DAY_MS); i < dayCount; i++) {
      const dayStart = firstDay + i * DAY_MS;
      if (dayStart >= end) break;
      const overlap = Math.min(end, dayStart + DAY_MS) - Math.max(start, dayStart);
      if (overlap <= 0) continue;
      const cell = kind[i]!;
      cell.count++;
      cell.ms += overlap;
    }
  }
  const totalsMs = { standing: 0, justInTime: 0, breakglassAccess: 0 };
  days.forEach((d, i) => {
    for (const k of ['standing', 'justInTime', 'breakglassAccess'] as const) {
      const { count, ms } = live[k][i]!;
      d[k] = { count, hours: hours(ms) };
      totalsMs[k] += ms;
    }
  });

  return {
    from,
    to,
    now,
    days,
    totals: {
      activations,
      breakglass,
      denials,
      approvals: latencies.length,
      standingHours: hours(totalsMs.standing),
      justInTimeHours: hours(totalsMs.justInTime),
      breakglassHours: hours(totalsMs.breakglassAccess),
    },
    approvalLatency: {
      count: latencies.length,
      p50Ms: nearestRank(latencies, 0.5),
      p90Ms: nearestRank(latencies, 0.9),
      maxMs: latencies.length > 0 ? latencies[latencies.length - 1]! : null,
    },
    denialsByReason: [...reasons].map(([reason, count]) => ({ reason, count })).sort(byCount((x) => x.reason)),
    topRoles: [...activationsByRole]
      .map(([roleId, count]) => ({ roleId, count }))
      .sort(byCount((x) => x.roleId))
      .slice(0, period.topRoles ?? 10)
      .map((x) => ({ roleId: x.roleId, activations: x.count })),
  };
}
