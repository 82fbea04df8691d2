import { makeAssignments } from './assignments.js';
import { makeCheck } from './check.js';
import type { AppDeps } from './context.js';
import { makeDirectory, makeTokens } from './directory.js';
import { makeEligibilities } from './eligibilities.js';
import { makeAuditService, makeMaintenance, type AuditSigner } from './maintenance.js';
import { makeRenewals } from './renewals.js';
import { makeRequests } from './requests.js';
import { makeBreakglass } from './breakglass.js';
import { makeMfa } from './mfa.js';
import { makeOutbox, type Sender } from './outbox.js';
import { makeSessions } from './sessions.js';
import { makeStepups } from './stepup.js';
import { makeRoles } from './roles.js';
import { makeScim } from './scim.js';
import { makeStats } from './stats.js';
import { CheckTap } from './check-tap.js';
import { makeAlerts } from './alerts.js';
import { makeInventory } from './inventory.js';
import { makeReports } from './reports.js';
import { makeReviews } from './reviews.js';
import { makeSelfAudit } from './selfaudit.js';
import { makeSiem } from './siem.js';
import type { SiemSink } from './siem-ports.js';

/** The use cases, each built from the part of the dependencies it uses. */
export function makeUseCases(deps: AppDeps, signer: AuditSigner, senders: Partial<Record<string, Sender>> = {}, siemSinks: Record<string, SiemSink> = {}) {
  const requests = makeRequests(deps);
  const checkTap = new CheckTap();
  return {
    directory: makeDirectory(deps),
    tokens: makeTokens(deps),
    roles: makeRoles(deps),
    eligibilities: makeEligibilities(deps),
    renewals: makeRenewals(deps),
    requests,
    assignments: makeAssignments(deps),
    check: makeCheck(deps, checkTap),
    maintenance: makeMaintenance(deps, requests),
    audit: makeAuditService(deps, signer),
    mfa: makeMfa(deps),
    scim: makeScim(deps),
    sessions: makeSessions(deps),
    stepups: makeStepups(deps),
    breakglass: makeBreakglass(deps),
    outbox: makeOutbox(deps, senders),
    stats: makeStats(deps),
    reviews: makeReviews(deps),
    alerts: makeAlerts(deps),
    siem: makeSiem(deps, siemSinks),
    selfAudit: makeSelfAudit(deps, checkTap),
    inventory: makeInventory(deps, checkTap),
    reports: makeReports(deps),
  };
}

export type UseCases = ReturnType<typeof makeUseCases>;
export type { Actor, AppDeps, IdentityOptions, Limits } from './context.js';
export { bootstrap, BOOTSTRAP_ADMIN } from './bootstrap.js';
export { applyRemoteChange, loadIndex } from './index-sync.js';
export { keyIdOf, type AuditSigner } from './maintenance.js';
export type { Sender } from './outbox.js';
export type { SiemSink } from './siem-ports.js';
export { CheckTap } from './check-tap.js';
