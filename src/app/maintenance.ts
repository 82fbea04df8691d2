import { createHash, type KeyObject } from 'node:crypto';
import { ChainVerifier, signCheckpoint, type VerifyReport } from '../core/audit.js';
import { systemActor, type AppDeps } from './context.js';
import { draft, writeAudit } from './audit-log.js';
import { endAssignment } from './grants.js';
import type { AuditFilter } from './ports.js';
import type { makeRequests } from './requests.js';

/**
 * Background bookkeeping. None of it decides access: a check compares end times with now. These
 * move state and write the audit trail after the fact. On PostgreSQL each batch is leased with
 * FOR UPDATE SKIP LOCKED, so with several nodes each item is processed exactly once.
 */
export function makeMaintenance(deps: Pick<AppDeps, 'store' | 'index' | 'clock' | 'newId'>, requests: ReturnType<typeof makeRequests>) {
  const { store, clock } = deps;

  return {
    /** Book the expiry of grants whose end has passed. Returns how many were processed. */
    async expireDue(batch = 500): Promise<number> {
      const now = clock.now();
      const actor = systemActor(now);
      return store.transaction(async (tx) => {
        const due = await store.assignments.leaseDue(tx, 'expire', now, batch);
        for (const a of due) await endAssignment(deps, tx, actor, a, 'expired', now);
        return due.length;
      });
    },

    /** Scheduled grants whose start has come become active (access itself already began at startsAt). */
    async startDue(batch = 500): Promise<number> {
      const now = clock.now();
      const actor = systemActor(now);
      return store.transaction(async (tx) => {
        const due = await store.assignments.leaseDue(tx, 'start', now, batch);
        for (const a of due) {
          const linked = await store.requests.byAssignment(tx, a.id);
          const scheduled = linked.filter((r) => r.status === 'scheduled');
          if (scheduled.length === 0) {
            const next = { ...a, status: 'active' as const };
            await store.assignments.update(tx, next);
            await store.changes.publish(tx, { kind: 'assignment', id: a.id });
            tx.afterCommit(() => deps.index.upsertAssignment(next));
            await writeAudit({ audit: store.audit, newId: deps.newId }, tx, now, actor, { principalId: a.principalId, roleId: a.roleId, scope: a.scope, requestId: a.requestId }, [
              draft('assignment.started', 'info', { assignmentId: a.id, source: a.source }),
            ]);
          }
          for (const r of scheduled) await requests.run(tx, actor, r, { type: 'start' }, now);
        }
        return due.length;
      });
    },

    /** Pending requests past their approval timeout become timed_out. */
    async timeOutDue(batch = 500): Promise<number> {
      const now = clock.now();
      const actor = systemActor(now);
      return store.transaction(async (tx) => {
        const due = await store.requests.leaseTimedOut(tx, now, batch);
        for (const r of due) await requests.run(tx, actor, r, { type: 'timeout' }, now);
        return due.length;
      });
    },
  };
}

export interface AuditSigner {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

/** A key's id: the first 16 hex characters of SHA-256 over its SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function makeAuditService(deps: Pick<AppDeps, 'store' | 'clock'>, signer: AuditSigner) {
  const { store, clock } = deps;
  return {
    async registerKey(): Promise<void> {
      await store.transaction(async (tx) => {
        const keys = await store.audit.keys(tx);
        if (!keys.some((k) => k.keyId === signer.keyId)) await store.audit.putKey(tx, signer.keyId, signer.publicKeyPem, clock.now());
      });
    },

    /** Sign the current head if it moved since the last checkpoint. */
    async checkpoint(): Promise<number | null> {
      return store.transaction(async (tx) => {
        const head = await store.audit.lockHead(tx);
        const last = await store.audit.lastCheckpoint(tx);
        if (head.seq === 0 || (last && last.seq >= head.seq)) return null;
        const cp = signCheckpoint({ seq: head.seq, hash: head.hash, ts: clock.now(), keyId: signer.keyId }, signer.privateKey);
        await store.audit.insertCheckpoint(tx, cp);
        return cp.seq;
      });
    },

    async verify(): Promise<VerifyReport> {
      const { checkpoints, keys, head } = await store.transaction(async (tx) => ({
        checkpoints: await store.audit.checkpoints(tx),
        keys: await store.audit.keys(tx),
        head: await store.audit.head(tx),
      }));
      const v = new ChainVerifier(checkpoints, new Map(keys.map((k) => [k.keyId, k.publicKeyPem])));
      // Pages of 1,000 keep each page young for the garbage collector (measured: 10,000 is slower).
      for await (const page of store.audit.scan(1, 1_000)) {
        for (const e of page) if (e.seq <= head.seq) v.push(e);
      }
      const report = v.finish();
      // The stored head names the last event appended when verification began: events missing
      // after the last checkpoint are caught here.
      if (report.ok && (report.events < head.seq || report.head !== head.hash)) {
        return { ...report, ok: false, firstBadEvent: { seq: report.events + 1, id: null, problem: 'truncated', detail: `the log ends at event ${report.events} but its head records event ${head.seq}` } };
      }
      return report;
    },

    query: (f: AuditFilter) => store.transaction((tx) => store.audit.query(tx, f)),
    keys: () => store.transaction((tx) => store.audit.keys(tx)),
    checkpoints: () => store.transaction((tx) => store.audit.checkpoints(tx)),
    scan: (pageSize = 10_000) => store.audit.scan(1, pageSize),
  };
}
