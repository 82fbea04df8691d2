import type { Decision } from '../core/decision.js';

/** One answered check, as listeners see it (after the answer is computed; listeners must be cheap and never throw). */
export type CheckListener = (principalId: string, roleId: string, scope: string, at: number, decision: Decision) => void;

/**
 * Observers of the decision point: the false-allow self-audit samples answers, the rollout counts
 * uses of standing access. The hot path pays one loop over (usually two) listeners.
 */
export class CheckTap {
  private listeners: CheckListener[] = [];
  on(l: CheckListener): void {
    this.listeners.push(l);
  }
  emit(principalId: string, roleId: string, scope: string, at: number, decision: Decision): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(principalId, roleId, scope, at, decision);
  }
}
