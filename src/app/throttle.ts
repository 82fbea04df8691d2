import type { Store, Throttle, Tx } from './ports.js';

/** Attempt counting shared by every node: a key locks for `lockoutMs` after `maxFailures` failures inside `windowMs`. */
export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

/** When the key is locked, until when; otherwise null. */
export async function lockedUntil(store: Pick<Store, 'throttles'>, tx: Tx, key: string, now: number): Promise<number | null> {
  const t = await store.throttles.get(tx, key);
  return t?.lockedUntil != null && t.lockedUntil > now ? t.lockedUntil : null;
}

/** Count a failure; returns the lock's end when this failure locked the key. */
export async function recordFailure(store: Pick<Store, 'throttles'>, tx: Tx, key: string, now: number, p: ThrottlePolicy): Promise<number | null> {
  const t = await store.throttles.get(tx, key);
  const fresh = !t || now - t.windowStartedAt > p.windowMs || (t.lockedUntil !== null && t.lockedUntil <= now);
  const next: Throttle = fresh ? { key, failures: 1, windowStartedAt: now, lockedUntil: null } : { ...t, failures: t.failures + 1 };
  if (next.failures >= p.maxFailures) next.lockedUntil = now + p.lockoutMs;
  await store.throttles.put(tx, next);
  return next.lockedUntil;
}

/**
 * Take back one failure counted ahead of an attempt that then succeeded (and the lock it caused).
 * Unlike a reset, earlier failures stay counted: a valid sign-in cannot wipe someone else's guesses.
 */
export async function forgiveFailure(store: Pick<Store, 'throttles'>, tx: Tx, key: string, p: ThrottlePolicy): Promise<void> {
  const t = await store.throttles.get(tx, key);
  if (!t) return;
  const failures = t.failures - 1;
  if (failures <= 0) return store.throttles.clear(tx, key);
  await store.throttles.put(tx, { ...t, failures, lockedUntil: failures >= p.maxFailures ? t.lockedUntil : null });
}

export async function resetFailures(store: Pick<Store, 'throttles'>, tx: Tx, key: string): Promise<void> {
  await store.throttles.clear(tx, key);
}
