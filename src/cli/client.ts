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
