import type { AuditDraft } from '../core/requests.js';
import type { Actor } from './context.js';
import type { AuditDraftRow, AuditRepo, Tx } from './ports.js';

export interface Subject {
  principalId?: string | null;
  roleId?: string | null;
  scope?: string | null;
  requestId?: string | null;
}

/**
 * Append audit events inside the caller's transaction: the record and the change commit or roll
 * back together. The actor's authentication (method, token id) is recorded with every event, so
 * token use for admin actions is traceable.
 */
export async function writeAudit(
  deps: { audit: Pick<AuditRepo, 'append'>; newId: () => string },
  tx: Tx,
  now: number,
  actor: Actor,
  subject: Subject,
  drafts: AuditDraft[],
): Promise<void> {
  if (drafts.length === 0) return;
  const rows: AuditDraftRow[] = drafts.map((d) => ({
    id: deps.newId(),
    ts: now,
    type: d.type,
    outcome: d.outcome,
    actorId: actor.principalId,
    principalId: subject.principalId ?? null,
    roleId: subject.roleId ?? null,
    scope: subject.scope ?? null,
    requestId: subject.requestId ?? null,
    reasons: d.reasons,
    data: { ...d.data, auth: authSummary(actor) },
  }));
  await deps.audit.append(tx, rows);
}

/** How the actor authenticated, as every audit event records it: the channel and the MFA verified (methods and times, never secrets). */
function authSummary(actor: Actor): Record<string, unknown> {
  const a = actor.auth;
  const out: Record<string, unknown> = { method: a.method, tokenId: a.tokenId };
  if (a.sessionId !== null) out.sessionId = a.sessionId.slice(0, 16);
  if (a.signIn) out.signIn = a.signIn.signIn;
  out.mfa = a.mfa.map((m) => ({ method: m.method, at: m.at }));
  return out;
}

export const draft = (type: string, outcome: AuditDraft['outcome'], data: Record<string, unknown> = {}, reasons: string[] = []): AuditDraft => ({
  type,
  outcome,
  reasons,
  data,
});
