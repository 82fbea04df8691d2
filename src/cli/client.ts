/**
 * A small typed client for the Elevate HTTP API (`/api/v1`). It knows URLs, headers and the error
 * body; it decides nothing. The token only ever travels in the Authorization header: it is never
 * part of a URL, an error message or anything printed.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type ErrorDetails = Record<string, unknown>;

/** A failed call: an HTTP error (status ≥ 400) or, with status 0, a transport failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Times arrive as ISO 8601 strings (or epoch milliseconds from older servers); null means "none". */
export type ApiTime = string | number | null;

export interface Principal {
  id: string;
  kind: 'user' | 'group' | 'service';
  name: string;
  email?: string | null;
  managerId?: string | null;
  adminUnit?: string | null;
  status?: string;
  [k: string]: unknown;
}

export interface Me {
  principal: Principal;
  auth: { method: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Role {
  id: string;
  name: string;
  description?: string;
  riskTier: string;
  settings: Record<string, unknown>;
  builtin?: boolean;
  [k: string]: unknown;
}

export interface Eligibility {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  startsAt: ApiTime;
  endsAt: ApiTime;
  [k: string]: unknown;
}

export interface ActivationRequest {
  id: string;
  status: string;
  kind?: string;
  principalId?: string;
  roleId?: string;
  scope?: string;
  duration?: string;
  durationMs?: number;
  assignmentId?: string | null;
  expiresAt?: ApiTime;
  startAt?: ApiTime;
  stage?: number;
  /** Approvals needed in the current stage, when the server says. */
  approvalsRequired?: number;
  reasons?: unknown[];
  approvals?: { approverId?: string; decision?: string; stage?: number; reason?: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

export interface Assignment {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
  source?: string;
  status?: string;
  startsAt: ApiTime;
  endsAt: ApiTime;
  [k: string]: unknown;
}

export interface CheckResult {
  allowed: boolean;
  reason: string | null;
  assignmentId: string | null;
  expiresAt: ApiTime;
  [k: string]: unknown;
}

export interface AuditEventView {
  seq: number;
  id: string;
  ts: ApiTime;
  type: string;
  outcome: string;
  actorId: string | null;
  principalId: string | null;
  roleId: string | null;
  scope: string | null;
  requestId: string | null;
  reasons: string[];
  data: Record<string, unknown>;
  [k: string]: unknown;
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  head: string;
  checkpoints: number;
  firstBadEvent: { seq: number; id: string | null; problem: string; detail: string; range?: [number, number] } | null;
  [k: string]: unknown;
}

export interface AuditKey {
  keyId: string;
  publicKeyPem: string;
  createdAt: ApiTime;
}

export interface Items<T> {
  items: T[];
  [k: string]: unknown;
}

// --- governance (issue 5): access reviews, alerts, standing inventory and rollout, evidence, SIEM ---

export type ReviewDecision = 'approve' | 'deny';
export type ReviewersKind = 'manager' | 'role_owners' | 'principals' | 'self';
export type Recurrence = 'weekly' | 'monthly' | 'quarterly' | 'semiannual' | 'yearly';
export type PrincipalKind = 'user' | 'group' | 'service';

export interface ReviewFilter {
  roles?: string[];
  scopes?: string[];
  principalKinds?: PrincipalKind[];
  /** Permanent active (direct) assignments only: the seeds' main pitfall. */
  standingOnly?: boolean;
  include?: ('eligibilities' | 'assignments')[];
}

export interface ReviewReviewers {
  kind: ReviewersKind;
  principals?: string[];
  groups?: string[];
  /** Who reviews when the kind finds nobody (no manager, no role owner). */
  fallback?: string[];
}

/** The body of POST /reviews. */
export interface NewCampaign {
  name: string;
  filter?: ReviewFilter;
  reviewers: ReviewReviewers;
  /** 1..180 */
  durationDays: number;
  recurrence?: Recurrence | null;
  defaultDecision: 'remove' | 'keep' | 'recommendation';
  recommend?: { unusedDays?: number; inactiveDays?: number };
  autoApply?: boolean;
  reminderDays?: number;
  startAt?: string;
}

export interface CampaignCounts {
  total: number;
  decided: number;
  approved: number;
  denied: number;
  pending: number;
}

export interface Campaign {
  id: string;
  name: string;
  status: 'scheduled' | 'active' | 'completed' | 'cancelled';
  filter: ReviewFilter;
  reviewers: ReviewReviewers;
  durationDays: number;
  recurrence: Recurrence | null;
  defaultDecision: 'remove' | 'keep' | 'recommendation';
  recommend: { unusedDays?: number; inactiveDays?: number } | null;
  autoApply: boolean;
  reminderDays?: number | null;
  /** The campaign a recurring one follows, and the one that follows it. */
  previousId?: string | null;
  nextId?: string | null;
  startsAt: ApiTime;
  endsAt: ApiTime;
  completedAt: ApiTime;
  createdBy: string;
  createdAt: ApiTime;
  counts: CampaignCounts;
  [k: string]: unknown;
}

export interface ReviewItem {
  id: string;
  campaignId: string;
  subject: { kind: 'eligibility' | 'assignment'; id: string };
  principalId: string;
  principalName: string;
  principalKind: PrincipalKind;
  roleId: string;
  roleName: string;
  riskTier: string;
  scope: string;
  standing: boolean;
  since: ApiTime;
  endsAt: ApiTime;
  lastActivationAt: ApiTime;
  lastSignInAt: ApiTime;
  recommendation: { decision: ReviewDecision; reasons: string[]; message: string };
  reviewers: string[];
  decision: null | { decision: ReviewDecision; reason: string; by: string; at: ApiTime };
  /** Once the campaign ended: what counted, and whether the campaign's default decided it. */
  finalDecision?: ReviewDecision | null;
  byDefault?: boolean;
  outcome: null | 'removed' | 'kept';
  outcomeReason?: string | null;
  appliedAt?: ApiTime;
  [k: string]: unknown;
}

export type AlertSeverity = 'low' | 'medium' | 'high' | 'critical';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: string;
  rule: string;
  severity: AlertSeverity;
  status: AlertStatus;
  title: string;
  summary: string;
  principals: string[];
  roleId: string | null;
  scope: string | null;
  /** The ids of the audit events that triggered it. */
  events: string[];
  count: number;
  firstSeenAt: ApiTime;
  lastSeenAt: ApiTime;
  acknowledgedBy: string | null;
  acknowledgedAt: ApiTime;
  resolvedBy: string | null;
  resolvedAt: ApiTime;
  note: string | null;
  [k: string]: unknown;
}

export interface AlertDetail extends Alert {
  eventRecords: AuditEventView[];
}

export interface DetectionSettings {
  rules: Record<string, { enabled: boolean; severity: AlertSeverity; [k: string]: unknown }>;
}

export interface StandingItem {
  id: string;
  source: 'elevate' | 'import';
  system: string;
  principalId: string | null;
  principalName: string;
  roleId: string | null;
  privilege: string;
  scope: string;
  since: ApiTime;
  lastUsedAt: ApiTime;
  justification: string | null;
  flagged: boolean;
  flagReason: string | null;
  convertible: boolean;
  [k: string]: unknown;
}

export type RolloutMode = 'none' | 'awareness' | 'enforced';

export interface RolloutItem {
  roleId: string;
  roleName: string;
  riskTier: string;
  mode: RolloutMode;
  changedAt: ApiTime;
  changedBy: string | null;
  standingHolders: number;
  eligibleHolders: number;
  flagged: number;
  readiness: { activations30d: number; approvalMedianMs: number | null; approvalP90Ms: number | null; fallbackUses30d: number };
  [k: string]: unknown;
}

export interface EvidenceQuery {
  /** ISO 8601, inclusive */
  from: string;
  /** ISO 8601, exclusive */
  to: string;
  roleId?: string;
  minTier?: string;
}

export interface EvidenceItem {
  assignmentId: string;
  principalId: string;
  principalName: string;
  roleId: string;
  roleName: string;
  riskTier: string;
  scope: string;
  source: string;
  startsAt: ApiTime;
  endsAt: ApiTime;
  endedAt: ApiTime;
  status: string;
  requestId: string | null;
  justification: string | null;
  ticket: string | null;
  approvals: { approverId: string; approverName: string; decision: string; reason: string | null; at: ApiTime }[];
  [k: string]: unknown;
}

export interface EvidenceReport {
  from: string;
  to: string;
  generatedAt: string;
  auditHead: { seq: number; hash: string };
  items: EvidenceItem[];
}

export interface SiemSink {
  name: 'syslog' | 'webhook';
  target: string;
  deliveredSeq: number;
  headSeq: number;
  lag: number;
  lastDeliveredAt: ApiTime;
  attempts: number;
  nextAttemptAt: ApiTime;
  lastError: string | null;
  deadLetters: number;
  [k: string]: unknown;
}

export interface SiemDeadLetter {
  id: string;
  sink: string;
  fromSeq: number;
  toSeq: number;
  error: string;
  attempts: number;
  createdAt: ApiTime;
  replayedAt: ApiTime;
}

export interface SelfAuditStatus {
  runs: { at: ApiTime; sampled: number; disagreements: number; falseAllows: number; inconclusive: number }[];
  falseAllowTotal: number;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface CallOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Milliseconds before the call is abandoned; 0 = no limit (streams). */
  timeoutMs?: number;
}

export interface ClientOptions {
  baseUrl: string;
  token?: string | undefined;
  timeoutMs?: number;
  userAgent?: string;
  /** Sent with every call: how MFA is met for this invocation (X-Elevate-TOTP or X-Elevate-Step-Up). */
  headers?: Record<string, string>;
}

const API = '/api/v1';

export class ElevateClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #headers: Record<string, string>;

  constructor(opts: ClientOptions) {
    this.#headers = { ...opts.headers };
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#userAgent = opts.userAgent ?? 'elevate-cli';
  }

  /** Never show the token, even by accident through util.inspect or JSON.stringify. */
  toJSON(): { baseUrl: string } {
    return { baseUrl: this.baseUrl };
  }

  url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  /** Perform a call and return the raw response when it succeeded (2xx); throws ApiError otherwise. */
  async send(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent, ...this.#headers, ...opts.headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    let res: Response;
    try {
      res = await fetch(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : null,
      });
    } catch (e) {
      throw transportError(e, this.baseUrl, timeoutMs);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', `the server answered ${res.status} with a body that is not JSON`);
    }
  }

  // --- identity ---
  me(): Promise<Me> {
    return this.call('GET', `${API}/me`);
  }

  // --- roles ---
  listRoles(): Promise<Items<Role>> {
    return this.call('GET', `${API}/roles`);
  }
  getRole(id: string): Promise<Role> {
    return this.call('GET', `${API}/roles/${enc(id)}`);
  }
  createRole(body: Record<string, unknown>): Promise<Role> {
    return this.call('POST', `${API}/roles`, { body });
  }

  // --- principals, tokens, groups ---
  createPrincipal(body: Record<string, unknown>): Promise<Principal> {
    return this.call('POST', `${API}/principals`, { body });
  }
  listPrincipals(query: Query = {}): Promise<Items<Principal>> {
    return this.call('GET', `${API}/principals`, { query });
  }
  createToken(principalId: string, body: { name?: string }): Promise<{ id: string; token: string; [k: string]: unknown }> {
    return this.call('POST', `${API}/principals/${enc(principalId)}/tokens`, { body });
  }
  setGroupMembers(groupId: string, members: string[]): Promise<unknown> {
    return this.call('PUT', `${API}/groups/${enc(groupId)}/members`, { body: { members } });
  }

  // --- step-up (MFA for a script with a human present) ---
  startStepUp(): Promise<{ deviceCode: string; userCode: string; verificationUri: string; expiresAt: string; interval: number }> {
    return this.call('POST', `${API}/stepups`);
  }
  pollStepUp(deviceCode: string): Promise<{ status: 'pending' | 'confirmed'; expiresAt: string; methods: string[] }> {
    return this.call('POST', `${API}/stepups/poll`, { body: { deviceCode } });
  }

  // --- eligibilities ---
  listEligibilities(query: Query = {}): Promise<Items<Eligibility>> {
    return this.call('GET', `${API}/eligibilities`, { query });
  }
  createEligibility(body: Record<string, unknown>): Promise<Eligibility> {
    return this.call('POST', `${API}/eligibilities`, { body });
  }

  // --- requests ---
  createRequest(body: Record<string, unknown>, idempotencyKey: string): Promise<ActivationRequest> {
    return this.call('POST', `${API}/requests`, { body, headers: { 'idempotency-key': idempotencyKey } });
  }
  getRequest(id: string): Promise<ActivationRequest> {
    return this.call('GET', `${API}/requests/${enc(id)}`);
  }
  listRequests(query: Query = {}): Promise<Items<ActivationRequest>> {
    return this.call('GET', `${API}/requests`, { query });
  }
  approve(id: string, reason: string): Promise<ActivationRequest> {
    return this.call('POST', `${API}/requests/${enc(id)}/approve`, { body: { reason } });
  }
  deny(id: string, reason: string): Promise<ActivationRequest> {
    return this.call('POST', `${API}/requests/${enc(id)}/deny`, { body: { reason } });
  }
  cancel(id: string): Promise<ActivationRequest> {
    return this.call('POST', `${API}/requests/${enc(id)}/cancel`, { body: {} });
  }

  // --- assignments ---
  listAssignments(query: Query = {}): Promise<Items<Assignment>> {
    return this.call('GET', `${API}/assignments`, { query });
  }
  deactivate(id: string): Promise<Assignment> {
    return this.call('POST', `${API}/assignments/${enc(id)}/deactivate`, { body: {} });
  }
  revoke(id: string, reason: string): Promise<Assignment> {
    return this.call('POST', `${API}/assignments/${enc(id)}/revoke`, { body: { reason } });
  }
  extend(id: string, body: { duration: string; justification?: string; ticket?: string }, idempotencyKey: string): Promise<ActivationRequest> {
    return this.call('POST', `${API}/assignments/${enc(id)}/extend`, { body, headers: { 'idempotency-key': idempotencyKey } });
  }

  // --- decision point ---
  check(principal: string, role: string, scope: string): Promise<CheckResult> {
    return this.call('GET', `${API}/check`, { query: { principal, role, scope } });
  }

  // --- audit ---
  auditList(query: Query): Promise<Items<AuditEventView>> {
    return this.call('GET', `${API}/audit`, { query });
  }
  auditVerify(): Promise<VerifyResult> {
    return this.call('GET', `${API}/audit/verify`, { timeoutMs: 0 });
  }
  /** The export is JSON Lines; the caller streams the body. */
  auditExport(): Promise<Response> {
    return this.send('GET', `${API}/audit/export`, { headers: { accept: 'application/x-ndjson' }, timeoutMs: 0 });
  }
  auditKeys(): Promise<{ keys: AuditKey[] }> {
    return this.call('GET', `${API}/audit/keys`);
  }

  // --- access reviews ---
  listReviews(): Promise<Items<Campaign>> {
    return this.call('GET', `${API}/reviews`);
  }
  getReview(id: string): Promise<Campaign> {
    return this.call('GET', `${API}/reviews/${enc(id)}`);
  }
  createReview(body: NewCampaign): Promise<Campaign> {
    return this.call('POST', `${API}/reviews`, { body });
  }
  /** `mine`: only items this caller reviews; `status`: pending or decided. */
  reviewItems(id: string, query: { mine?: boolean; status?: 'pending' | 'decided' } = {}): Promise<Items<ReviewItem>> {
    return this.call('GET', `${API}/reviews/${enc(id)}/items`, { query });
  }
  decideReviewItem(id: string, itemId: string, decision: ReviewDecision, reason: string): Promise<ReviewItem> {
    return this.call('POST', `${API}/reviews/${enc(id)}/items/${enc(itemId)}/decision`, { body: { decision, reason } });
  }
  /** One decision and reason for many items, all or nothing. */
  decideReviewItems(id: string, items: string[], decision: ReviewDecision, reason: string): Promise<Items<ReviewItem>> {
    return this.call('POST', `${API}/reviews/${enc(id)}/decisions`, { body: { items, decision, reason } });
  }
  completeReview(id: string): Promise<Campaign> {
    return this.call('POST', `${API}/reviews/${enc(id)}/complete`, { body: {} });
  }
  cancelReview(id: string): Promise<Campaign> {
    return this.call('POST', `${API}/reviews/${enc(id)}/cancel`, { body: {} });
  }
  /** Where the results download from (a GET: a browser link with its session cookie works). */
  reviewExportUrl(id: string, format: 'csv' | 'json'): string {
    return this.url(`${API}/reviews/${enc(id)}/export`, { format });
  }
  /** The results as the server sends them (CSV text or the JSON document); the caller streams the body. */
  reviewExport(id: string, format: 'csv' | 'json'): Promise<Response> {
    return this.send('GET', `${API}/reviews/${enc(id)}/export`, { query: { format }, headers: { accept: format === 'csv' ? 'text/csv' : 'application/json' }, timeoutMs: 0 });
  }

  // --- detection alerts ---
  listAlerts(query: { status?: AlertStatus; severity?: AlertSeverity; rule?: string; limit?: number } = {}): Promise<Items<Alert>> {
    return this.call('GET', `${API}/alerts`, { query });
  }
  getAlert(id: string): Promise<AlertDetail> {
    return this.call('GET', `${API}/alerts/${enc(id)}`);
  }
  acknowledgeAlert(id: string, note?: string): Promise<Alert> {
    return this.call('POST', `${API}/alerts/${enc(id)}/acknowledge`, { body: note ? { note } : {} });
  }
  resolveAlert(id: string, note: string): Promise<Alert> {
    return this.call('POST', `${API}/alerts/${enc(id)}/resolve`, { body: { note } });
  }
  detectionSettings(): Promise<DetectionSettings> {
    return this.call('GET', `${API}/detection/settings`);
  }
  setDetectionSettings(body: DetectionSettings): Promise<DetectionSettings> {
    return this.call('PUT', `${API}/detection/settings`, { body });
  }

  // --- standing access inventory and rollout ---
  listStanding(query: { roleId?: string; source?: 'elevate' | 'import' } = {}): Promise<Items<StandingItem>> {
    return this.call('GET', `${API}/standing`, { query });
  }
  /** 400 invalid_import with details.line when a line is wrong; nothing is written then. */
  importStanding(body: { system: string; format: 'csv' | 'json'; data: string }): Promise<{ imported: number; items: StandingItem[] }> {
    return this.call('POST', `${API}/standing/import`, { body });
  }
  convertStanding(ids: string[], eligibilityDays?: number): Promise<{ converted: { id: string; eligibilityId: string }[] }> {
    return this.call('POST', `${API}/standing/convert`, { body: eligibilityDays === undefined ? { ids } : { ids, eligibilityDays } });
  }
  listRollout(): Promise<Items<RolloutItem>> {
    return this.call('GET', `${API}/rollout`);
  }
  setRollout(roleId: string, mode: RolloutMode): Promise<RolloutItem> {
    return this.call('PUT', `${API}/roles/${enc(roleId)}/rollout`, { body: { mode } });
  }

  // --- evidence ---
  /** The report for a period as a link: CSV and JSON download, HTML is a printable page. */
  evidenceUrl(query: EvidenceQuery, format: 'json' | 'csv' | 'html'): string {
    return this.url(`${API}/reports/evidence`, { ...query, format });
  }
  evidence(query: EvidenceQuery): Promise<EvidenceReport> {
    return this.call('GET', `${API}/reports/evidence`, { query: { ...query, format: 'json' } });
  }
  /** The report in any format, as sent (the caller streams the body to a file or stdout). */
  evidenceExport(query: EvidenceQuery, format: 'json' | 'csv' | 'html'): Promise<Response> {
    const accept = { json: 'application/json', csv: 'text/csv', html: 'text/html' }[format];
    return this.send('GET', `${API}/reports/evidence`, { query: { ...query, format }, headers: { accept }, timeoutMs: 0 });
  }

  // --- SIEM export and self-audit ---
  siemStatus(): Promise<{ sinks: SiemSink[] }> {
    return this.call('GET', `${API}/siem`);
  }
  siemDeadLetters(): Promise<Items<SiemDeadLetter>> {
    return this.call('GET', `${API}/siem/dead-letters`);
  }
  replayDeadLetter(id: string): Promise<unknown> {
    return this.call('POST', `${API}/siem/dead-letters/${enc(id)}/replay`, { body: {} });
  }
  selfAudit(): Promise<SelfAuditStatus> {
    return this.call('GET', `${API}/self-audit`);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function transportError(e: unknown, baseUrl: string, timeoutMs: number): ApiError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return new ApiError(0, 'timeout', `no answer from ${baseUrl} within ${Math.round(timeoutMs / 1000)}s`);
  }
  const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? 'unknown error';
  return new ApiError(0, 'unreachable', `cannot reach the Elevate server at ${baseUrl}: ${why}`, { url: baseUrl });
}

/** Parse the server's error body `{"error":{"code","message","details"}}`, tolerating anything else. */
export async function errorFrom(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // body unreadable: fall through to a generic error
  }
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const e = parsed?.error;
    if (e && typeof e === 'object') {
      const details = e.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as ErrorDetails) : {};
      return new ApiError(
        res.status,
        typeof e.code === 'string' ? e.code : `http_${res.status}`,
        typeof e.message === 'string' ? e.message : res.statusText || `HTTP ${res.status}`,
        details,
      );
    }
  } catch {
    // not JSON
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiError(res.status, `http_${res.status}`, snippet ? `HTTP ${res.status}: ${snippet}` : `HTTP ${res.status} ${res.statusText}`.trim());
}
