// The governance pages' calls (access reviews, alerts, standing access and rollout, evidence), through
// the typed client the CLI uses, over the session cookie with the CSRF header. The server decides
// who may do what: reviewers see their own items, everything else is for administrators.
import type {
  Alert,
  AlertDetail,
  AlertSeverity,
  AlertStatus,
  Campaign,
  DetectionSettings,
  EvidenceItem,
  EvidenceQuery,
  EvidenceReport,
  NewCampaign,
  ReviewDecision,
  ReviewItem,
  RolloutItem,
  RolloutMode,
  SelfAuditStatus,
  SiemDeadLetter,
  SiemSink,
  StandingItem,
} from '../../../src/cli/client.js';
import { client, type Principal } from '../api.js';

export type { Alert, AlertDetail, AlertSeverity, AlertStatus, Campaign, DetectionSettings, SiemDeadLetter, SiemSink, EvidenceItem, EvidenceQuery, EvidenceReport, NewCampaign, ReviewDecision, ReviewItem, RolloutItem, RolloutMode, StandingItem };

// ---- access reviews -----------------------------------------------------------------------------

export const campaigns = async () => (await client().listReviews()).items;
export const createCampaign = (body: NewCampaign) => client().createReview(body);
export const campaignItems = async (id: string, mine = false) => (await client().reviewItems(id, mine ? { mine: true } : {})).items;
export const decideItem = (campaignId: string, itemId: string, decision: ReviewDecision, reason: string) => client().decideReviewItem(campaignId, itemId, decision, reason);
export const decideItems = async (campaignId: string, items: string[], decision: ReviewDecision, reason: string) => (await client().decideReviewItems(campaignId, items, decision, reason)).items;
export const completeCampaign = (id: string) => client().completeReview(id);
export const cancelCampaign = (id: string) => client().cancelReview(id);
export const exportUrl = (id: string, format: 'csv' | 'json') => client().reviewExportUrl(id, format);

/** Principals to suggest as reviewers (admins only; others get an empty list). */
export const principalsForSuggest = async (): Promise<Principal[]> => {
  try {
    return (await client().listPrincipals({ limit: 1000 })).items;
  } catch {
    return [];
  }
};

// ---- alerts ----------------------------------------------------------------------------------------

export const alerts = async (f: { status?: AlertStatus | ''; severity?: AlertSeverity | '' }) =>
  (await client().listAlerts({ ...(f.status ? { status: f.status } : {}), ...(f.severity ? { severity: f.severity } : {}), limit: 500 })).items;
export const alert = (id: string) => client().getAlert(id);
export const acknowledgeAlert = (id: string, note: string) => client().acknowledgeAlert(id, note.trim() || undefined);
export const resolveAlert = (id: string, note: string) => client().resolveAlert(id, note.trim());

/** Every rule with `enabled`, `severity` and its thresholds. */
export const detectionSettings = () => client().detectionSettings();
/** Replaces the whole document; 400 invalid_settings names the field (`details.field`, like `rules.frequent_activations.max`). */
export const saveDetectionSettings = (body: DetectionSettings) => client().setDetectionSettings(body);

// ---- SIEM export and the false-allow self-audit -------------------------------------------------------

export const siemSinks = async () => (await client().siemStatus()).sinks;
export const deadLetters = async () => (await client().siemDeadLetters()).items;
/** 409 replay_failed when the output refuses again, sink_not_configured when it is gone. */
export const replayDeadLetter = (id: string) => client().replayDeadLetter(id);

/** A self-audit run as the server sends it (the client's type names only some of its counts). */
export type SelfAuditRun = SelfAuditStatus['runs'][number];
export const selfAudit = async (): Promise<{ runs: SelfAuditRun[]; falseAllowTotal: number }> => client().selfAudit();

// ---- standing access and rollout ---------------------------------------------------------------------

export const standing = async (f: { roleId?: string; source?: 'elevate' | 'import' | '' }) =>
  (await client().listStanding({ ...(f.roleId ? { roleId: f.roleId } : {}), ...(f.source ? { source: f.source } : {}) })).items;
export const importStanding = (body: { system: string; format: 'csv' | 'json'; data: string }) => client().importStanding(body);
export const convertStanding = (ids: string[], eligibilityDays?: number) => client().convertStanding(ids, eligibilityDays);
export const rollout = async () => (await client().listRollout()).items;
export const setRollout = (roleId: string, mode: RolloutMode) => client().setRollout(roleId, mode);

// ---- evidence ------------------------------------------------------------------------------------------

export const evidence = (q: EvidenceQuery) => client().evidence(q);
export const evidenceUrl = (q: EvidenceQuery, format: 'json' | 'csv' | 'html') => client().evidenceUrl(q, format);
