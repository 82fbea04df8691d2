import type { AuditEvent } from '../core/audit.js';
import {
  HISTORY_TYPES, SEVERITIES, STATE_RULES, defaultDetectionSettings, detect, historyWindowMs, validateDetectionSettings,
  type DetectionEvent, type DetectionSettings, type Finding, type RoleFacts, type Severity,
} from '../core/detection.js';
import { Conflict, Invalid, NotFound } from '../core/errors.js';
import type { Alert, AlertStatus } from './alerts-ports.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import { systemActor, type Actor, type AppDeps } from './context.js';
import type { Store, Tx } from './ports.js';
import { settingsOf } from './roles.js';

/**
 * Detection rules → alerts (issue 5 part 3). The scanner reads the audit log after its cursor in
 * pages, gives each page (with the history its windows need) to the pure rules in core/detection,
 * and raises or updates alerts in the same transaction that moves the cursor: a page is either
 * fully booked or not at all. The state rules (holders, unused eligibilities, inactive accounts,
 * MFA-less high-tier roles, standing service privilege) run at most every STATE_EVERY_MS of clock
 * time. On PostgreSQL the cursor row is locked FOR UPDATE SKIP LOCKED, so one node scans at a time
 * and the others skip the tick.
 *
 * Raising a new alert writes one `alert.raised` audit event; the rules never read `alert.*` or
 * `detection.*` events, so the scanner does not feed on itself.
 */

type Deps = Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>;

export const STATE_EVERY_MS = 10 * 60_000;
export const SCAN_PAGE = 500;
/** Pages per scan() call, so one tick stays short while a backlog is worked off. */
const MAX_PAGES = 20;
const MAX_EVENTS = 100;
const HISTORY_LIMIT = 20_000;

const rank = (s: Severity) => SEVERITIES.indexOf(s);

/** At most MAX_EVENTS ids: the first half that triggered the alert and the latest half. */
function capEvents(ids: string[]): string[] {
  const u = [...new Set(ids)];
  if (u.length <= MAX_EVENTS) return u;
  return [...u.slice(0, MAX_EVENTS / 2), ...u.slice(u.length - MAX_EVENTS / 2)];
}

/**
 * Raise an alert for a finding, in the caller's transaction. While an alert with the same rule and
 * dedupeKey is open or acknowledged, it is updated (count, lastSeenAt, events appended, severity
 * raised if higher); once resolved, a new alert is made. A new alert is audited (`alert.raised`).
 */
export async function raiseAlert(
  deps: { store: Pick<Store, 'alerts' | 'audit'>; newId: () => string },
  tx: Tx,
  finding: { rule: string; severity: Severity; dedupeKey: string; title: string; summary: string; principals: string[]; roleId?: string | null; scope?: string | null; events: string[]; details?: Record<string, unknown> },
  now: number,
): Promise<{ alert: Alert; created: boolean }> {
  const existing = await deps.store.alerts.unresolved(tx, finding.rule, finding.dedupeKey);
  if (existing) {
    const alert: Alert = {
      ...existing,
      severity: rank(finding.severity) > rank(existing.severity) ? finding.severity : existing.severity,
      title: finding.title,
      summary: finding.summary,
      principals: [...new Set([...existing.principals, ...finding.principals])].slice(0, 100),
      events: capEvents([...existing.events, ...finding.events]),
      details: finding.details ?? existing.details,
      count: existing.count + 1,
      lastSeenAt: Math.max(existing.lastSeenAt, now),
    };
    await deps.store.alerts.update(tx, alert);
    return { alert, created: false };
  }
  const alert: Alert = {
    id: deps.newId(), rule: finding.rule, severity: finding.severity, status: 'open', dedupeKey: finding.dedupeKey, title: finding.title, summary: finding.summary,
    principals: [...new Set(finding.principals)].slice(0, 100), roleId: finding.roleId ?? null, scope: finding.scope ?? null, events: capEvents(finding.events),
    details: finding.details ?? {}, count: 1, firstSeenAt: now, lastSeenAt: now, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null,
  };
  await deps.store.alerts.insert(tx, alert);
  await writeAudit({ audit: deps.store.audit, newId: deps.newId }, tx, now, systemActor(now), { principalId: alert.principals[0] ?? null, roleId: alert.roleId, scope: alert.scope }, [
    draft('alert.raised', 'info', { alertId: alert.id, rule: alert.rule, severity: alert.severity, dedupeKey: alert.dedupeKey, title: alert.title, principals: alert.principals.slice(0, 20), events: alert.events.slice(0, 20) }),
  ]);
  return { alert, created: true };
}

/** The stored settings, or the defaults (a document stored by an older version is re-validated; if it no longer passes, the defaults apply). */
async function loadSettings(store: Pick<Store, 'alerts'>, tx: Tx): Promise<DetectionSettings> {
  const raw = await store.alerts.settings(tx);
  if (raw === null) return defaultDetectionSettings();
  try {
    return validateDetectionSettings(raw);
  } catch {
    return defaultDetectionSettings();
  }
}

export function makeAlerts(deps: Deps) {
  const { store, index, clock } = deps;
  const audit = { audit: store.audit, newId: deps.newId };
  const subjectOf = (a: Alert) => ({ principalId: a.principals[0] ?? null, roleId: a.roleId, scope: a.scope });

  /** One page: lock the cursor, read events after it, run the rules, raise alerts, move the cursor. null = another node holds the cursor. */
  async function scanPage(): Promise<{ raised: number; more: boolean } | null> {
    return store.transaction(async (tx) => {
      const cursor = await store.alerts.lockCursor(tx);
      if (!cursor) return null;
      const now = clock.now();
      const events = await store.audit.query(tx, { afterSeq: cursor.seq, limit: SCAN_PAGE });
      const stateDue = cursor.stateRunAt === null || now - cursor.stateRunAt >= STATE_EVERY_MS || cursor.stateRunAt > now;
      if (events.length === 0 && !stateDue) return { raised: 0, more: false };
      const settings = await loadSettings(store, tx);
      const batch: DetectionEvent[] = events.filter((e) => !e.type.startsWith('alert.') && !e.type.startsWith('detection.'));

      const roles: RoleFacts[] = (await store.roles.list(tx)).map((r) => ({ id: r.id, name: r.name, riskTier: r.riskTier, mfa: settingsOf(r).mfa.required }));

      // History: earlier events of the types the windows read, for the people in this page.
      const relevant = batch.filter((e) => HISTORY_TYPES.includes(e.type));
      const people = new Set<string>();
      for (const e of relevant) {
        if (e.principalId) people.add(e.principalId);
        if (e.actorId && e.actorId !== 'system') people.add(e.actorId);
        if (typeof e.data.approverId === 'string') people.add(e.data.approverId);
      }
      const from = relevant.length ? Math.min(...relevant.map((e) => e.ts)) - historyWindowMs(settings) : now;
      const history = relevant.length ? await store.alerts.history(tx, { types: HISTORY_TYPES, principals: [...people], from, maxSeq: cursor.seq, limit: HISTORY_LIMIT }) : [];

      // Approval fatigue: when the decided requests were made. Approver eligible: what the approvers may activate.
      const decisions = batch.filter((e) => (e.type === 'approval.granted' || e.type === 'approval.denied') && e.requestId);
      const requestCreatedAt = decisions.length ? await store.alerts.requestTimes(tx, [...new Set([...decisions, ...history.filter((e) => e.type.startsWith('approval.'))].map((e) => e.requestId!).filter(Boolean))]) : {};
      const approverEligibilities: Record<string, { roleId: string; scope: string; eligibilityId: string; via: string }[]> = {};
      for (const e of decisions) {
        const approver = typeof e.data.approverId === 'string' ? e.data.approverId : e.actorId;
        if (!approver || !e.roleId) continue;
        const list = (approverEligibilities[approver] ??= []);
        for (const el of index.eligibilitiesFor(approver, e.roleId)) {
          if (el.removedAt !== null || el.startsAt > e.ts || (el.endsAt !== null && el.endsAt <= e.ts)) continue;
          if (!list.some((x) => x.eligibilityId === el.id)) list.push({ roleId: el.roleId, scope: el.scope, eligibilityId: el.id, via: el.principalId });
        }
      }

      let state = null;
      if (stateDue && [...STATE_RULES].some((r) => settings.rules[r].enabled)) {
        const facts = await store.alerts.stateFacts(tx, now);
        const groupMembers: Record<string, string[]> = {};
        for (const p of facts.principals) if (p.kind === 'group') groupMembers[p.id] = index.membersOf(p.id);
        state = { ...facts, groupMembers };
      }

      const findings: Finding[] = detect({ now, settings, events: batch, history, roles, requestCreatedAt, approverEligibilities, state });
      for (const f of findings) await raiseAlert(deps, tx, f, now);
      const last = events.length ? events[events.length - 1]!.seq : cursor.seq;
      await store.alerts.saveCursor(tx, { seq: last, stateRunAt: stateDue ? now : cursor.stateRunAt }, now);
      return { raised: findings.length, more: events.length === SCAN_PAGE };
    });
  }

  async function requireAlert(tx: Tx, id: string): Promise<Alert> {
    const a = await store.alerts.get(tx, id, true);
    if (!a) throw new NotFound('not_found', `alert ${id} not found`);
    return a;
  }

  return {
    /** Job: run the rules over audit events since the cursor and over current state; returns alerts raised or updated. */
    async scan(): Promise<number> {
      let total = 0;
      for (let i = 0; i < MAX_PAGES; i++) {
        const r = await scanPage();
        if (!r) return total;
        total += r.raised;
        if (!r.more) break;
      }
      return total;
    },

    async list(actor: Actor, f: { status?: AlertStatus; severity?: Severity; rule?: string; limit: number }): Promise<Alert[]> {
      await requireAdmin(deps, actor, 'alert.list');
      return store.transaction((tx) => store.alerts.list(tx, f));
    },

    /** An alert and the audit events that triggered it. */
    async get(actor: Actor, id: string): Promise<{ alert: Alert; eventRecords: AuditEvent[] }> {
      await requireAdmin(deps, actor, 'alert.read');
      return store.transaction(async (tx) => {
        const alert = await store.alerts.get(tx, id);
        if (!alert) throw new NotFound('not_found', `alert ${id} not found`);
        return { alert, eventRecords: await store.alerts.auditEvents(tx, alert.events) };
      });
    },

    async acknowledge(actor: Actor, id: string, note: string | null): Promise<Alert> {
      await requireAdmin(deps, actor, 'alert.acknowledge');
      const why = note?.trim() || null;
      const now = clock.now();
      return store.transaction(async (tx) => {
        const a = await requireAlert(tx, id);
        if (a.status === 'resolved') throw new Conflict('alert_resolved', 'this alert is resolved already', { status: a.status });
        if (a.status === 'acknowledged') throw new Conflict('alert_acknowledged', `this alert was acknowledged by ${a.acknowledgedBy}`, { status: a.status, acknowledgedBy: a.acknowledgedBy });
        const next: Alert = { ...a, status: 'acknowledged', acknowledgedBy: actor.principalId, acknowledgedAt: now, note: why ?? a.note };
        await store.alerts.update(tx, next);
        await writeAudit(audit, tx, now, actor, subjectOf(a), [draft('alert.acknowledged', 'info', { alertId: a.id, rule: a.rule, severity: a.severity, note: why })]);
        return next;
      });
    },

    async resolve(actor: Actor, id: string, note: string): Promise<Alert> {
      await requireAdmin(deps, actor, 'alert.resolve');
      const why = (note ?? '').trim();
      if (!why) throw new Invalid('note_required', 'say how the alert was resolved', { field: 'note' });
      const now = clock.now();
      return store.transaction(async (tx) => {
        const a = await requireAlert(tx, id);
        if (a.status === 'resolved') throw new Conflict('alert_resolved', 'this alert is resolved already', { status: a.status, resolvedBy: a.resolvedBy });
        const next: Alert = { ...a, status: 'resolved', resolvedBy: actor.principalId, resolvedAt: now, note: why.slice(0, 2000) };
        await store.alerts.update(tx, next);
        await writeAudit(audit, tx, now, actor, subjectOf(a), [draft('alert.resolved', 'info', { alertId: a.id, rule: a.rule, severity: a.severity, note: next.note })]);
        return next;
      });
    },

    async getSettings(actor: Actor): Promise<DetectionSettings> {
      await requireAdmin(deps, actor, 'detection.settings_read');
      return store.transaction((tx) => loadSettings(store, tx));
    },

    /** Replace the settings (validated as a whole: nothing is stored unless all of it is valid). */
    async putSettings(actor: Actor, input: unknown): Promise<DetectionSettings> {
      await requireAdmin(deps, actor, 'detection.settings_update');
      const settings = validateDetectionSettings(input);
      const now = clock.now();
      return store.transaction(async (tx) => {
        const before = await loadSettings(store, tx);
        await store.alerts.putSettings(tx, settings, actor.principalId, now);
        const changed: Record<string, unknown> = {};
        for (const [rule, v] of Object.entries(settings.rules)) {
          const old = before.rules[rule as keyof DetectionSettings['rules']] as Record<string, unknown>;
          const diff = Object.fromEntries(Object.entries(v).filter(([k, x]) => old[k] !== x));
          if (Object.keys(diff).length) changed[rule] = diff;
        }
        await writeAudit(audit, tx, now, actor, {}, [draft('detection.settings_updated', 'info', { changed })]);
        return settings;
      });
    },
  };
}
