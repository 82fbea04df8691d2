import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import type { ActivationRequest, ApiToken, Approval, Assignment, Eligibility, Principal, Role } from '../core/model.js';
import type { Decision } from '../core/decision.js';
import type { AuditEvent, Checkpoint } from '../core/audit.js';
import { formatDuration } from '../core/duration.js';
import { Invalid } from '../core/errors.js';

/**
 * One set of schemas validates requests, shapes responses and generates the OpenAPI document.
 * Strings are bounded; times are ISO 8601; durations are ISO 8601 durations.
 */
const Id = T.String({ minLength: 1, maxLength: 128 });
const Str = (max: number, min = 0) => T.String({ minLength: min, maxLength: max });
const Time = T.String({ format: 'date-time' });
export const NullableTime = T.Union([Time, T.Null()]);
const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);

export const ErrorBody = T.Object({ error: T.Object({ code: T.String(), message: T.String(), details: T.Record(T.String(), T.Unknown()) }) }, { $id: 'Error' });

export const PrincipalBody = T.Object(
  {
    id: Id,
    kind: T.Union([T.Literal('user'), T.Literal('group'), T.Literal('service')]),
    name: T.Optional(Str(200)),
    email: T.Optional(Nullable(Str(320))),
    managerId: T.Optional(Nullable(Id)),
    adminUnit: T.Optional(Nullable(Str(128))),
    attributes: T.Optional(T.Record(Str(64, 1), Str(1024), { maxProperties: 50 })),
  },
  { additionalProperties: false },
);
export const PrincipalPatchBody = T.Object(
  {
    name: T.Optional(Str(200)),
    email: T.Optional(Nullable(Str(320))),
    managerId: T.Optional(Nullable(Id)),
    adminUnit: T.Optional(Nullable(Str(128))),
    attributes: T.Optional(T.Record(Str(64, 1), Str(1024), { maxProperties: 50 })),
    status: T.Optional(T.Union([T.Literal('active'), T.Literal('suspended')])),
  },
  { additionalProperties: false },
);
export const PrincipalOut = T.Object({
  id: T.String(), kind: T.String(), name: T.String(), email: Nullable(T.String()), managerId: Nullable(T.String()),
  adminUnit: Nullable(T.String()), attributes: T.Record(T.String(), T.String()), status: T.String(), createdAt: Time, updatedAt: Time,
});

export const TokenBody = T.Object({ name: T.Optional(Str(100)), expiresIn: T.Optional(Str(32)) }, { additionalProperties: false });
export const TokenOut = T.Object({ id: T.String(), principalId: T.String(), name: T.String(), createdAt: Time, expiresAt: NullableTime, revokedAt: NullableTime });
export const TokenCreatedOut = T.Composite([TokenOut, T.Object({ token: T.String({ description: 'shown once; store it now' }) })]);

export const MembersBody = T.Object({ members: T.Array(Id, { maxItems: 10_000 }) }, { additionalProperties: false });
export const MembersOut = T.Object({ id: T.String(), members: T.Array(T.String()) });

export const RoleBody = T.Object(
  {
    id: Id,
    name: T.Optional(Str(200)),
    description: T.Optional(Str(2000)),
    riskTier: T.Union([T.Literal('low'), T.Literal('medium'), T.Literal('high'), T.Literal('critical')]),
    settings: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: false },
);
export const RoleUpdateBody = T.Omit(RoleBody, ['id'], { additionalProperties: false });
/** A role being edited, for the dry run: like RoleBody with the id optional (a new role may have none yet). */
export const RoleDraftBody = T.Composite([RoleUpdateBody, T.Object({ id: T.Optional(Str(128)) })], { additionalProperties: false });
export const RoleOut = T.Object({
  id: T.String(), name: T.String(), description: T.String(), riskTier: T.String(), builtin: T.Boolean(),
  settings: T.Record(T.String(), T.Unknown()), createdAt: Time, updatedAt: Time,
});

export const EligibilityBody = T.Object(
  { principalId: Id, roleId: Id, scope: Str(512, 1), startsAt: T.Optional(NullableTime), endsAt: NullableTime, justification: Str(1000) },
  { additionalProperties: false },
);
export const EligibilityOut = T.Object({
  id: T.String(), principalId: T.String(), roleId: T.String(), scope: T.String(), startsAt: Time, endsAt: NullableTime,
  justification: T.String(), createdBy: T.String(), createdAt: Time, removedAt: NullableTime,
});

export const RequestBody = T.Object(
  {
    roleId: Id,
    scope: Str(512, 1),
    duration: Str(32, 1),
    justification: T.Optional(Str(1000)),
    ticket: T.Optional(Nullable(Str(200))),
    startAt: T.Optional(NullableTime),
  },
  { additionalProperties: false },
);
export const ExtendBody = T.Object({ duration: Str(32, 1), justification: T.Optional(Str(1000)), ticket: T.Optional(Nullable(Str(200))) }, { additionalProperties: false });
export const ReasonBody = T.Object({ reason: Str(1000) }, { additionalProperties: false });
export const OptionalReasonBody = T.Union([T.Object({ reason: T.Optional(Str(1000)) }, { additionalProperties: false }), T.Null()]);
export const ApprovalOut = T.Object({ approverId: T.String(), decision: T.String(), reason: T.String(), stage: T.Integer(), at: Time });
export const RequestOut = T.Object({
  id: T.String(), kind: T.String(), principalId: T.String(), roleId: T.String(), scope: T.String(), duration: T.String(),
  justification: T.String(), ticket: Nullable(T.String()), startAt: NullableTime, status: T.String(), stage: T.Integer(),
  timeoutAt: NullableTime, assignmentId: Nullable(T.String()), reasons: T.Array(T.String()), createdAt: Time, updatedAt: Time,
  expiresAt: T.Optional(NullableTime), approvals: T.Optional(T.Array(ApprovalOut)),
  approvalsRequired: T.Optional(Nullable(T.Integer({ description: 'approvals the open stage needs' }))),
  context: T.Optional(Nullable(T.Object({
    otherApprovers: T.Array(T.String(), { description: 'who else may decide the open stage' }),
    recentRequests: T.Array(T.Object({ id: T.String(), roleId: T.String(), scope: T.String(), status: T.String(), duration: T.String(), createdAt: Time }), { description: "the requester's five latest other requests" }),
  }, { description: 'for approvers and admins: the context a decision needs' }))),
});

export const AssignmentBody = T.Object(
  { principalId: Id, roleId: Id, scope: Str(512, 1), startsAt: T.Optional(NullableTime), endsAt: NullableTime, justification: Str(1000) },
  { additionalProperties: false },
);
export const AssignmentOut = T.Object({
  id: T.String(), principalId: T.String(), roleId: T.String(), scope: T.String(), source: T.String(), standing: T.Boolean(),
  requestId: Nullable(T.String()), startsAt: Time, endsAt: NullableTime, status: T.String(), justification: T.String(),
  createdBy: T.String(), createdAt: Time, endedAt: NullableTime,
});

export const ConvertedOut = T.Object({
  assignment: AssignmentOut,
  eligibility: EligibilityOut,
  eligibilityCreated: T.Boolean({ description: 'false when an eligibility for the same role and scope already existed and was kept' }),
});

export const CheckQuery = T.Object({ principal: Id, role: Id, scope: Str(512, 1) }, { additionalProperties: false });
export const CheckBatchBody = T.Object({ checks: T.Array(T.Object({ principal: Id, role: Id, scope: Str(512, 1) }, { additionalProperties: false }), { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });
export const DecisionOut = T.Object({ allowed: T.Boolean(), reason: T.String(), assignmentId: Nullable(T.String()), expiresAt: NullableTime });

export const AuditQuery = T.Object(
  {
    principal: T.Optional(Id), actor: T.Optional(Id), role: T.Optional(Id), scope: T.Optional(Str(512, 1)), type: T.Optional(Str(100)), outcome: T.Optional(T.Union([T.Literal('allowed'), T.Literal('denied'), T.Literal('info')])),
    from: T.Optional(Time), to: T.Optional(Time), afterSeq: T.Optional(T.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })), limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export const AuditEventOut = T.Object({
  seq: T.Integer(), id: T.String(), ts: T.Integer(), at: Time, type: T.String(), outcome: T.String(), actorId: Nullable(T.String()),
  principalId: Nullable(T.String()), roleId: Nullable(T.String()), scope: Nullable(T.String()), requestId: Nullable(T.String()),
  reasons: T.Array(T.String()), data: T.Record(T.String(), T.Unknown()), prevHash: T.String(), hash: T.String(),
});
export const VerifyOut = T.Object({
  ok: T.Boolean(), events: T.Integer(), head: T.String(), checkpoints: T.Integer(),
  firstBadEvent: Nullable(T.Object({ seq: T.Integer(), id: Nullable(T.String()), problem: T.String(), detail: T.String(), range: T.Optional(T.Array(T.Integer())) })),
});

export const ListQuery = T.Object(
  {
    mine: T.Optional(T.Boolean()), principal: T.Optional(Id), role: T.Optional(Id), status: T.Optional(Str(32)), kind: T.Optional(Str(16)),
    live: T.Optional(T.Boolean()),
    approvable: T.Optional(T.Boolean({ description: 'requests: only pending requests the caller may decide (the approvals inbox), also for admins' })),
    source: T.Optional(T.Union([T.Literal('activation'), T.Literal('direct'), T.Literal('breakglass')])),
    limit: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })), after: T.Optional(Str(128)),
  },
  { additionalProperties: false },
);
export const IdParams = T.Object({ id: Id });
export const Items = <S extends TSchema>(s: S) => T.Object({ items: T.Array(s) });

export type PrincipalBodyT = Static<typeof PrincipalBody>;

// ------------------------------------------------------------------ presenters: domain → wire

const t = (ms: number) => new Date(ms).toISOString();
const tn = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const present = {
  principal: (p: Principal) => ({ ...p, createdAt: t(p.createdAt), updatedAt: t(p.updatedAt) }),
  token: (k: ApiToken) => ({ id: k.id, principalId: k.principalId, name: k.name, createdAt: t(k.createdAt), expiresAt: tn(k.expiresAt), revokedAt: tn(k.revokedAt) }),
  role: (r: Role) => ({ ...r, settings: r.settings as unknown as Record<string, unknown>, createdAt: t(r.createdAt), updatedAt: t(r.updatedAt) }),
  eligibility: (e: Eligibility) => ({ ...e, startsAt: t(e.startsAt), endsAt: tn(e.endsAt), createdAt: t(e.createdAt), removedAt: tn(e.removedAt) }),
  assignment: (a: Assignment) => ({ ...a, standing: a.source === 'direct', startsAt: t(a.startsAt), endsAt: tn(a.endsAt), createdAt: t(a.createdAt), endedAt: tn(a.endedAt) }),
  request: (r: ActivationRequest, extra: { approvals?: Approval[]; expiresAt?: number | null } = {}) => ({
    id: r.id, kind: r.kind, principalId: r.principalId, roleId: r.roleId, scope: r.scope, duration: formatDuration(r.durationMs),
    justification: r.justification, ticket: r.ticket, startAt: tn(r.startAt), status: r.status, stage: r.stage, timeoutAt: tn(r.timeoutAt),
    assignmentId: r.assignmentId, reasons: r.reasons, createdAt: t(r.createdAt), updatedAt: t(r.updatedAt),
    ...(extra.expiresAt !== undefined ? { expiresAt: tn(extra.expiresAt) } : {}),
    ...(extra.approvals ? { approvals: extra.approvals.map((a) => ({ approverId: a.approverId, decision: a.decision, reason: a.reason, stage: a.stage, at: t(a.createdAt) })) } : {}),
  }),
  decision: (d: Decision) => ({ allowed: d.allowed, reason: d.reason, assignmentId: d.assignmentId, expiresAt: tn(d.expiresAt) }),
  event: (e: AuditEvent) => ({ ...e, at: t(e.ts) }),
  checkpoint: (c: Checkpoint) => c,
};

export function parseTime(s: string | null | undefined, field: string): number | null {
  if (s === null || s === undefined) return null;
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new Invalid('invalid_request', `${field} must be an ISO 8601 date-time`, { field });
  return ms;
}
