import type { Decision } from '../core/decision.js';
import type { Assignment, Principal } from '../core/model.js';
import { covers } from '../core/scope.js';
import { raiseAlert } from './alerts.js';
import { draft, writeAudit } from './audit-log.js';
import { requireAdmin } from './authz.js';
import type { CheckTap } from './check-tap.js';
import { systemActor, type Actor, type AppDeps } from './context.js';
import { subjectsInTx } from './holders.js';
import type { Tx } from './ports.js';
import type { SelfAuditRun } from './siem-ports.js';

/**
 * The false-allow self-audit (issue 5 part 5). The decision point answers from the in-memory
 * index; this re-derives a sample of its answers from the grant history in the database and counts
 * disagreements. Goal: zero. Any allow the history does not support is a false allow: counted,
 * audited, and raised as a critical alert.
 *
 * Sampling (on the check hot path, a few field writes): every allow and every SAMPLE_EVERY-th
 * answer overall, into a ring of RING answers (the newest win). `run` (paced by the injected
 * clock, every RUN_EVERY_MS) takes the ring and, for each answer at instant `at`, asks the database:
 *   - the principal exists and is active (its current row; when the row changed after `at` its
 *     status then is unknown: such an answer is inconclusive rather than a disagreement);
 *   - some assignment of the role held by the principal or one of its active groups has
 *     startsAt ≤ at < endsAt (null = never ends) at a scope covering the asked one. Groups are the
 *     CURRENT membership (membership has no history table): when any group or principal changed
 *     since `at`, answers that depend on a group are inconclusive.
 * Commit and change-feed propagation: a revocation ends a grant at its transaction's time, but the
 * index (here and on other nodes) learns of it at commit / NOTIFY; likewise a new grant. An answer
 * within TOLERANCE_MS of such a write is inconclusive, not a disagreement. Scheduled expiry is
 * exact on both sides and gets no tolerance.
 */

type Deps = Pick<AppDeps, 'store' | 'clock' | 'newId' | 'index'>;

export const RUN_EVERY_MS = 5 * 60_000;
export const RING = 1000;
export const SAMPLE_EVERY = 16;
export const TOLERANCE_MS = 5_000;
const RUNS_SHOWN = 100;

interface Sample {
  principalId: string;
  roleId: string;
  scope: string;
  at: number;
  allowed: boolean;
  reason: Decision['reason'];
  assignmentId: string | null;
  via: string | null;
}

export interface SelfAuditTotals {
  runs: number;
  sampled: number;
  sampledAllows: number;
  disagreements: number;
  falseAllows: number;
  falseDenials: number;
  inconclusive: number;
}

type Verdict = 'agree' | 'false_allow' | 'false_deny' | 'inconclusive';

export function makeSelfAudit(deps: Deps, tap: CheckTap) {
  const { store, clock } = deps;
  // Slots allocated once and overwritten in place: the hot path allocates nothing.
  const ring: Sample[] = Array.from({ length: RING }, () => ({ principalId: '', roleId: '', scope: '', at: 0, allowed: false, reason: 'no_active_assignment', assignmentId: null, via: null }));
  let filled = 0;
  let next = 0;
  let answers = 0;
  let lastRunAt = -Infinity;
  const totals: SelfAuditTotals = { runs: 0, sampled: 0, sampledAllows: 0, disagreements: 0, falseAllows: 0, falseDenials: 0, inconclusive: 0 };

  /** Put an answer into the next ring slot (overwriting the oldest when full). */
  function keep(a: Sample): void {
    Object.assign(ring[next]!, a);
    next = next + 1 === RING ? 0 : next + 1;
    if (filled < RING) filled++;
  }

  tap.on((principalId, roleId, scope, at, d) => {
    answers++;
    if (!d.allowed && answers % SAMPLE_EVERY !== 0) return;
    const s = ring[next]!;
    s.principalId = principalId;
    s.roleId = roleId;
    s.scope = scope;
    s.at = at;
    s.allowed = d.allowed;
    s.reason = d.reason;
    s.assignmentId = d.assignmentId;
    s.via = d.via;
    next = next + 1 === RING ? 0 : next + 1;
    if (filled < RING) filled++;
  });

  /** The sampled answers, oldest first, copied out of the ring (which starts empty again). */
  function take(): Sample[] {
    const out: Sample[] = [];
    for (let i = RING - filled; i < RING; i++) out.push({ ...ring[(next + i) % RING]! });
    filled = 0;
    next = 0;
    return out;
  }

  async function verdicts(tx: Tx, samples: Sample[]): Promise<Verdict[]> {
    const oldest = Math.min(...samples.map((s) => s.at));
    // Since when might the membership (or a group's status) differ from what is stored now?
    const [g] = await store.audit.query(tx, { type: 'group.*', from: oldest - TOLERANCE_MS, limit: 1 });
    const [p] = await store.audit.query(tx, { type: 'principal.*', from: oldest - TOLERANCE_MS, limit: 1 });
    const changedSince = Math.min(g?.ts ?? Infinity, p?.ts ?? Infinity);

    const principals = new Map<string, Principal | null>();
    const subjects = new Map<string, string[]>();
    const roles = new Map<string, boolean>();
    const grants = new Map<string, Assignment[]>();
    const deletedAt = new Map<string, number>();

    const out: Verdict[] = [];
    for (const s of samples) {
      if (!principals.has(s.principalId)) principals.set(s.principalId, await store.principals.get(tx, s.principalId));
      const principal = principals.get(s.principalId)!;
      if (!roles.has(s.roleId)) roles.set(s.roleId, (await store.roles.get(tx, s.roleId)) !== null);
      const roleExists = roles.get(s.roleId)!;

      if (!principal) {
        // Gone from the database: deleted after the answer (inconclusive), or never there.
        if (!deletedAt.has(s.principalId)) {
          const [d] = await store.audit.query(tx, { principalId: s.principalId, type: 'principal.deleted', limit: 1 });
          deletedAt.set(s.principalId, d?.ts ?? -Infinity);
        }
        if (deletedAt.get(s.principalId)! >= s.at - TOLERANCE_MS) out.push('inconclusive');
        else out.push(s.allowed ? 'false_allow' : 'agree');
        continue;
      }
      const statusKnown = principal.updatedAt <= s.at;
      if (!subjects.has(s.principalId)) subjects.set(s.principalId, await subjectsInTx(store, tx, s.principalId));
      const held: Assignment[] = [];
      for (const sub of subjects.get(s.principalId)!) {
        const key = `${sub}\u0000${s.roleId}`;
        if (!grants.has(key)) grants.set(key, await store.assignments.list(tx, { principalId: sub, roleId: s.roleId, limit: 10_000 }));
        held.push(...grants.get(key)!);
      }
      const covering = held.filter((a) => covers(a.scope, s.scope));
      const live = covering.filter((a) => a.startsAt <= s.at && s.at < (a.endsAt ?? Infinity));
      // Within the tolerance of a write the index learns of at commit: a new grant, or a revocation.
      const borderline = covering.some(
        (a) =>
          (a.startsAt <= s.at && s.at < a.createdAt + TOLERANCE_MS) ||
          ((a.status === 'revoked' || a.status === 'deactivated') && a.endsAt !== null && a.endsAt <= s.at && s.at < (a.endedAt ?? a.endsAt) + TOLERANCE_MS),
      );
      const membershipUnknown = changedSince >= s.at - TOLERANCE_MS && changedSince !== Infinity;
      const supported = live.length > 0;
      const active = principal.status === 'active';

      if (s.allowed) {
        if (supported && active) out.push('agree');
        else if (!supported) out.push(borderline || (s.via !== null && membershipUnknown) ? 'inconclusive' : 'false_allow');
        else out.push(statusKnown ? 'false_allow' : 'inconclusive'); // held, but the principal was suspended
      } else {
        const expected = supported && active && roleExists;
        if (!expected) out.push('agree');
        else if (borderline || !statusKnown || (membershipUnknown && live.every((a) => a.principalId !== s.principalId))) out.push('inconclusive');
        else out.push('false_deny');
      }
    }
    return out;
  }

  /** Record the run; audit and alert each false allow (one finding per principal, role and scope). */
  /** Words for each kind of disagreement: both mean the in-memory index and the database diverged. */
  const KINDS = {
    false_allow: {
      title: (s: Sample) => `Decision point allowed ${s.principalId} ${s.roleId} at ${s.scope} without a grant in the database`,
      what: (n: number, s: Sample) =>
        `The self-audit re-derived ${n} allowed check answer(s) from the grant history and found no assignment covering them ` +
        `(first at ${new Date(s.at).toISOString()}; the index named grant ${s.assignmentId ?? 'none'}).`,
    },
    false_deny: {
      title: (s: Sample) => `Decision point denied ${s.principalId} ${s.roleId} at ${s.scope} although the database holds a grant`,
      what: (n: number, s: Sample) =>
        `The self-audit re-derived ${n} denied check answer(s) from the grant history and found an assignment covering them ` +
        `(first at ${new Date(s.at).toISOString()}).`,
    },
  } as const;

  async function record(now: number, run: SelfAuditRun, disagreements: { kind: keyof typeof KINDS; samples: Sample[] }[]): Promise<void> {
    await store.transaction(async (tx) => {
      await store.siem.insertSelfAuditRun(tx, run);
      const actor = systemActor(now);
      for (const { kind, samples } of disagreements) {
        const byKey = new Map<string, Sample[]>();
        for (const s of samples) {
          const k = `${s.principalId}\u0000${s.roleId}\u0000${s.scope}`;
          byKey.set(k, [...(byKey.get(k) ?? []), s]);
        }
        for (const group of byKey.values()) {
          const s = group[0]!;
          const assignmentIds = [...new Set(group.map((x) => x.assignmentId))].slice(0, 20);
          const ids: string[] = [];
          const newId = () => {
            const id = deps.newId();
            ids.push(id);
            return id;
          };
          await writeAudit({ audit: store.audit, newId }, tx, now, actor, { principalId: s.principalId, roleId: s.roleId, scope: s.scope }, [
            draft(`selfaudit.${kind}`, 'info', { runId: run.id, answers: group.length, at: group.slice(0, 20).map((x) => new Date(x.at).toISOString()), assignmentIds, via: s.via }, [kind]),
          ]);
          // Any disagreement is a critical alert: the decision point and the database must never differ.
          await raiseAlert(
            { store, newId: deps.newId },
            tx,
            {
              rule: kind,
              severity: 'critical',
              dedupeKey: `${s.principalId}|${s.roleId}|${s.scope}`,
              title: KINDS[kind].title(s),
              summary: `${KINDS[kind].what(group.length, s)} The in-memory decision index disagrees with the database: restart the node to reload its index, and investigate how it diverged.`,
              principals: [s.principalId],
              roleId: s.roleId,
              scope: s.scope,
              events: ids,
              details: { runId: run.id, answers: group.length, assignmentIds },
            },
            now,
          );
        }
      }
    });
  }


  return {
    /** Job: re-derive sampled check answers from the grant history; returns answers re-derived. */
    async run(): Promise<number> {
      const now = clock.now();
      if (now - lastRunAt < RUN_EVERY_MS) return 0;
      lastRunAt = now;
      const samples = take();
      if (samples.length === 0) return 0;
      let v: Verdict[];
      let falseAllows: Sample[];
      let falseDenials: number;
      let inconclusive: number;
      let run: SelfAuditRun;
      try {
        v = await store.transaction((tx) => verdicts(tx, samples));
        falseAllows = samples.filter((_, i) => v[i] === 'false_allow');
        falseDenials = v.filter((x) => x === 'false_deny').length;
        inconclusive = v.filter((x) => x === 'inconclusive').length;
        run = { id: deps.newId(), at: now, sampled: samples.length - inconclusive, disagreements: falseAllows.length + falseDenials, falseAllows: falseAllows.length, inconclusive };
        await record(now, run, [
          { kind: 'false_allow', samples: falseAllows },
          { kind: 'false_deny', samples: samples.filter((_, i) => v[i] === 'false_deny') },
        ]);
      } catch (e) {
        // Not judged (e.g. another node raised the same alert at the same instant): keep the
        // answers for the next tick rather than dropping them.
        for (const s of samples) keep(s);
        lastRunAt = -Infinity;
        throw e;
      }
      const checked = run.sampled;

      totals.runs++;
      totals.sampled += checked;
      totals.sampledAllows += samples.filter((s, i) => s.allowed && v[i] !== 'inconclusive').length;
      totals.disagreements += run.disagreements;
      totals.falseAllows += run.falseAllows;
      totals.falseDenials += falseDenials;
      totals.inconclusive += inconclusive;
      return samples.length;
    },

    /** This node's counts since it started (for /metrics). */
    totals(): Readonly<SelfAuditTotals> {
      return totals;
    },

    async runs(actor: Actor): Promise<{ runs: SelfAuditRun[]; falseAllowTotal: number }> {
      await requireAdmin(deps, actor, 'selfaudit.list');
      return store.transaction(async (tx) => ({ runs: await store.siem.selfAuditRuns(tx, RUNS_SHOWN), falseAllowTotal: await store.siem.falseAllowTotal(tx) }));
    },
  };
}
