/**
 * In-process job loops: scheduled starts, expiry bookkeeping, approval timeouts, outbox delivery, audit checkpoints.
 * Each tick is one short transaction per job; on PostgreSQL rows are leased with SKIP LOCKED, so
 * any number of nodes can run these loops and each item is processed once.
 */
export interface JobTarget {
  maintenance: { expireDue(batch?: number): Promise<number>; startDue(batch?: number): Promise<number>; timeOutDue(batch?: number): Promise<number> };
  audit: { checkpoint(): Promise<number | null> };
  outbox: { dispatch(): Promise<number> };
  sessions: { purgeExpired(): Promise<number> };
  reviews: { tick(): Promise<number> };
  alerts: { scan(): Promise<number> };
  siem: { dispatch(): Promise<number> };
  selfAudit: { run(): Promise<number> };
  inventory: { flushUse(): Promise<number> };
}

export interface JobOptions {
  intervalMs: number;
  checkpointEveryMs: number;
  onError: (job: string, err: unknown) => void;
}

export function startJobs(t: JobTarget, o: JobOptions): { stop(): Promise<void>; tick(): Promise<void> } {
  let running: Promise<void> | null = null;
  let lastCheckpoint = 0;
  let stopped = false;

  async function runOne(name: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      o.onError(name, e);
    }
  }

  /** Run full batches back to back (a burst is booked promptly), at most 20 per tick, yielding to I/O between them. */
  async function drain(batch: () => Promise<number>): Promise<void> {
    for (let i = 0; i < 20 && !stopped; i++) {
      if ((await batch()) < 500) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  async function tick(): Promise<void> {
    // Drain each queue in batches so a burst of expiries is booked promptly.
    await runOne('start', () => drain(() => t.maintenance.startDue()));
    await runOne('expire', () => drain(() => t.maintenance.expireDue()));
    await runOne('timeout', () => drain(() => t.maintenance.timeOutDue()));
    await runOne('outbox', () => t.outbox.dispatch());
    await runOne('purge', () => t.sessions.purgeExpired());
    // Governance: each job keeps its own pace from the injected clock (a tick may do nothing).
    await runOne('reviews', () => t.reviews.tick());
    await runOne('alerts', () => t.alerts.scan());
    await runOne('siem', () => t.siem.dispatch());
    await runOne('self-audit', () => t.selfAudit.run());
    await runOne('standing-use', () => t.inventory.flushUse());
    const now = Date.now();
    if (now - lastCheckpoint >= o.checkpointEveryMs) {
      lastCheckpoint = now;
      await runOne('checkpoint', () => t.audit.checkpoint());
    }
  }

  // intervalMs 0: no timer; the owner drives ticks (tests, benchmarks).
  const timer =
    o.intervalMs > 0
      ? setInterval(() => {
          if (running || stopped) return;
          running = tick().finally(() => (running = null));
        }, o.intervalMs)
      : null;
  timer?.unref();

  return {
    tick: async () => {
      while (running) await running;
      await tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      if (running) await running;
    },
  };
}
