import type { MfaEvidence } from '../core/identity.js';
import type { Actor } from './context.js';
import type { Store, Tx } from './ports.js';

const KEEP = 10;

/**
 * Remember an MFA verification where it can be used again: on the caller's session (so a step-up
 * counts for the role's freshness window). A token caller gets it for this request only.
 */
export async function recordMfa(store: Pick<Store, 'sessions'>, tx: Tx, actor: Actor, ev: MfaEvidence): Promise<void> {
  actor.auth.mfa = [...actor.auth.mfa, ev];
  const sid = actor.auth.sessionId;
  if (!sid) return;
  const s = await store.sessions.get(tx, sid, true); // locked: two verifications at once both land
  if (!s) return;
  await store.sessions.setMfa(tx, sid, [...s.mfa, ev].slice(-KEEP));
}
