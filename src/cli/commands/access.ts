import { mfaClient, withMfaFlags, type MfaFlags } from '../stepup.js';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ApiError, type ActivationRequest, type Assignment, type ElevateClient } from '../client.js';
import { clientFor, emit, parseIsoTime, setExit } from '../context.js';
import { durationToMs, toIsoDuration } from '../duration.js';
import { EXIT, type ExitCode } from '../errors.js';
import { fields, fmtTime, note, out, reasonLines, str, table } from '../output.js';

/** Still waiting for someone or something: keep polling. */
const PENDING = new Set(['pending_approval', 'approved']);
/** Ended without (or after losing) access. */
const ENDED = new Set(['denied', 'timed_out', 'cancelled', 'activation_failed', 'expired', 'deactivated', 'revoked']);

export function requestExitCode(status: string, waited: boolean): ExitCode {
  if (ENDED.has(status)) return EXIT.denied;
  if (waited && PENDING.has(status)) return EXIT.pending;
  return EXIT.ok;
}

const pollIntervalMs = (): number => {
  const v = Number(process.env.ELEVATE_POLL_INTERVAL_MS);
  return Number.isFinite(v) && v >= 50 ? v : 1000;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * "1 of 2" when the server says how many approvals the current stage needs (`approvalsRequired`),
 * "1 so far" when it does not. Approvals are counted in the current stage when stages are given.
 */
export function approvalProgress(r: ActivationRequest): string | null {
  const approvals = Array.isArray(r.approvals) ? r.approvals : [];
  const stage = typeof r.stage === 'number' ? r.stage : null;
  const have = approvals.filter((a) => a.decision === 'approve' && (stage === null || a.stage === undefined || a.stage === stage)).length;
  if (typeof r.approvalsRequired === 'number') return `${have} of ${r.approvalsRequired}`;
  return have > 0 ? `${have} so far` : null;
}

function progressLine(r: ActivationRequest): string {
  if (r.status === 'pending_approval') {
    const p = approvalProgress(r);
    return p ? `waiting for approval (${p})…` : 'waiting for approval…';
  }
  if (r.status === 'approved') return 'approved, waiting for activation…';
  return `request is ${r.status}`;
}

/** Poll a pending request until it is granted, ends, or the timeout passes. Progress goes to stderr. */
async function waitForRequest(client: ElevateClient, first: ActivationRequest, timeoutMs: number): Promise<ActivationRequest> {
  const deadline = Date.now() + timeoutMs;
  let req = first;
  let last = '';
  let lastProblem = '';
  const show = (r: ActivationRequest): void => {
    const line = progressLine(r);
    if (line !== last) note(line);
    last = line;
  };
  show(req);
  while (PENDING.has(req.status)) {
    const left = deadline - Date.now();
    if (left <= 0) {
      note(`gave up waiting after ${Math.round(timeoutMs / 1000)}s; request ${req.id} is still ${req.status}`);
      break;
    }
    await sleep(Math.min(pollIntervalMs(), left));
    try {
      req = await client.getRequest(req.id);
      lastProblem = '';
    } catch (e) {
      // A blip (server restarting, network) is not the answer; anything else is.
      if (e instanceof ApiError && (e.status === 0 || e.status >= 500)) {
        if (e.message !== lastProblem) note(`still waiting (${e.message})`);
        lastProblem = e.message;
        continue;
      }
      throw e;
    }
    show(req);
  }
  return req;
}

function printRequestOutcome(r: ActivationRequest): void {
  const what = `${str(r.roleId)} at ${str(r.scope)}`;
  switch (r.status) {
    case 'active':
      out(`active: ${what}${r.expiresAt ? ` until ${fmtTime(r.expiresAt)}` : ''}`);
      break;
    case 'scheduled':
      out(`scheduled: ${what} from ${fmtTime(r.startAt)}${r.expiresAt ? ` until ${fmtTime(r.expiresAt)}` : ''}`);
      break;
    case 'pending_approval': {
      const p = approvalProgress(r);
      out(`pending approval${p ? ` (${p})` : ''}: ${what}`);
      break;
    }
    default:
      out(`${r.status}: ${what}`);
  }
  const ids = [`request ${r.id}`, ...(r.assignmentId ? [`assignment ${r.assignmentId}`] : [])];
  out(ids.join(', '));
  for (const reason of reasonLines(r.reasons)) out(`  - ${reason}`);
}

function printRequest(r: ActivationRequest): void {
  fields([
    ['id', r.id],
    ['status', r.status],
    ['kind', str(r.kind)],
    ['principal', str(r.principalId)],
    ['role', str(r.roleId)],
    ['scope', str(r.scope)],
    ['duration', str(r.duration ?? r.durationMs)],
    ['justification', str(r.justification)],
    ['ticket', str(r.ticket)],
    ['start', fmtTime(r.startAt, 'as soon as allowed')],
    ...(r.expiresAt ? [['expires', fmtTime(r.expiresAt)] as [string, string]] : []),
    ['assignment', str(r.assignmentId)],
    ['created', fmtTime(r.createdAt as string | undefined)],
  ]);
  if (Array.isArray(r.approvals) && r.approvals.length) {
    out('approvals:');
    for (const a of r.approvals) out(`  - ${str(a.decision)} by ${str(a.approverId)}${a.reason ? `: ${str(a.reason)}` : ''}`);
  }
  const reasons = reasonLines(r.reasons);
  if (reasons.length) {
    out('reasons:');
    for (const reason of reasons) out(`  - ${reason}`);
  }
}

function printRequests(items: ActivationRequest[], all: boolean): void {
  table(
    items.map((r) => ({
      id: r.id,
      status: r.status,
      principal: str(r.principalId),
      role: str(r.roleId),
      scope: str(r.scope),
      duration: str(r.duration ?? r.durationMs),
      created: fmtTime(r.createdAt as string | undefined),
    })),
    [
      ['id', 'ID'],
      ['status', 'STATUS'],
      ...(all ? [['principal', 'PRINCIPAL'] as [string, string]] : []),
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['duration', 'DURATION'],
      ['created', 'CREATED'],
    ],
  );
}

function printAssignments(items: Assignment[], all: boolean): void {
  table(
    items.map((a) => ({
      id: a.id,
      principal: a.principalId,
      role: a.roleId,
      scope: a.scope,
      source: str(a.source),
      status: str(a.status),
      starts: fmtTime(a.startsAt),
      ends: fmtTime(a.endsAt, 'permanent'),
    })),
    [
      ['id', 'ID'],
      ...(all ? [['principal', 'PRINCIPAL'] as [string, string]] : []),
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['source', 'SOURCE'],
      ['status', 'STATUS'],
      ['starts', 'STARTS'],
      ['ends', 'ENDS'],
    ],
  );
}

export function registerAccess(program: Command): void {
  withMfaFlags(program
    .command('activate'))
    .description('request activation of a role you are eligible for')
    .argument('<role>', 'role id')
    .requiredOption('--scope <scope>', 'where, e.g. /prod/payments')
    .requiredOption('--duration <duration>', 'how long: 30m, 1h, 1h30m, 90s, 2d, or ISO 8601 (PT30M)')
    .option('--reason <text>', 'justification (required by most roles)')
    .option('--ticket <ticket>', 'change or incident ticket')
    .option('--start <iso>', 'start later, at this time (ISO 8601)')
    .option('--wait', 'if approval is needed, wait for the decision')
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)', '10m')
    .action(async (roleId: string, o: MfaFlags & { scope: string; duration: string; reason?: string; ticket?: string; start?: string; wait?: boolean; timeout: string }, cmd: Command) => {
      // Validate everything locally before anything is sent.
      const duration = toIsoDuration(o.duration, '--duration');
      const timeoutMs = durationToMs(o.timeout, '--timeout');
      const body: Record<string, unknown> = { roleId, scope: o.scope, duration };
      if (o.reason !== undefined) body.justification = o.reason;
      if (o.ticket !== undefined) body.ticket = o.ticket;
      if (o.start !== undefined) body.startAt = parseIsoTime(o.start, '--start');
      // The MFA (a one-time code, or a step-up) goes with the creating call only; polling goes without it.
      const withMfa = await mfaClient(cmd, o);
      // One key per invocation: a retried POST (same process) cannot create a second request.
      let req = await withMfa.createRequest(body, randomUUID());
      const waited = o.wait === true && PENDING.has(req.status);
      if (waited) req = await waitForRequest(clientFor(cmd), req, timeoutMs);
      emit(cmd, req, () => printRequestOutcome(req));
      setExit(requestExitCode(req.status, waited));
    });

  const requests = program.command('requests').description('activation requests');

  requests
    .command('list', { isDefault: true })
    .description('list your requests (the default); --all for everyone you may see')
    .option('--status <status>', 'only requests in this state, e.g. pending_approval')
    .option('--all', 'not only your own')
    .action(async (o: { status?: string; all?: boolean }, cmd: Command) => {
      const res = await clientFor(cmd).listRequests({ mine: o.all ? undefined : true, status: o.status });
      emit(cmd, res, () => printRequests(res.items, o.all === true));
    });

  requests
    .command('show')
    .argument('<id>')
    .description('show one request with its approvals')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const r = await clientFor(cmd).getRequest(id);
      emit(cmd, r, () => printRequest(r));
    });

  for (const [name, verb] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    withMfaFlags(program
      .command(name))
      .description(`${name} a pending request (you cannot decide your own)`)
      .argument('<requestId>')
      .requiredOption('--reason <text>', 'why; recorded in the audit log')
      .action(async (id: string, o: MfaFlags & { reason: string }, cmd: Command) => {
        const client = await mfaClient(cmd, o);
        const r = name === 'approve' ? await client.approve(id, o.reason) : await client.deny(id, o.reason);
        emit(cmd, r, () => out(`${verb} request ${id}; it is now ${r?.status ?? 'updated'}`));
      });
  }

  program
    .command('cancel')
    .description('cancel your own pending request')
    .argument('<requestId>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const r = await clientFor(cmd).cancel(id);
      emit(cmd, r, () => out(`cancelled request ${id}`));
    });

  program
    .command('assignments')
    .description('your active and scheduled assignments; --all for everyone you may see')
    .option('--all', 'not only your own')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const res = await clientFor(cmd).listAssignments({ mine: o.all ? undefined : true });
      emit(cmd, res, () => printAssignments(res.items, o.all === true));
    });

  program
    .command('deactivate')
    .description('end your own assignment now')
    .argument('<assignmentId>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const a = await clientFor(cmd).deactivate(id);
      emit(cmd, a, () => out(`deactivated assignment ${id}`));
    });

  program
    .command('revoke')
    .description("end someone's assignment now (administrators)")
    .argument('<assignmentId>')
    .requiredOption('--reason <text>', 'why; recorded in the audit log')
    .action(async (id: string, o: { reason: string }, cmd: Command) => {
      const a = await clientFor(cmd).revoke(id, o.reason);
      emit(cmd, a, () => out(`revoked assignment ${id}`));
    });

  program
    .command('extend')
    .description('ask for more time on an active assignment (may need approval)')
    .argument('<assignmentId>')
    .requiredOption('--duration <duration>', 'additional time: 30m, 1h, … or ISO 8601')
    .option('--reason <text>', 'justification')
    .option('--ticket <ticket>', 'change or incident ticket')
    .action(async (id: string, o: { duration: string; reason?: string; ticket?: string }, cmd: Command) => {
      const body: { duration: string; justification?: string; ticket?: string } = { duration: toIsoDuration(o.duration, '--duration') };
      if (o.reason !== undefined) body.justification = o.reason;
      if (o.ticket !== undefined) body.ticket = o.ticket;
      const r = await clientFor(cmd).extend(id, body, randomUUID());
      emit(cmd, r, () => printRequestOutcome(r));
      setExit(requestExitCode(r.status, false));
    });

  program
    .command('check')
    .description('ask the decision point: does P hold R at S right now? (exit 0 yes, 3 no)')
    .requiredOption('--principal <id>')
    .requiredOption('--role <id>')
    .requiredOption('--scope <scope>')
    .action(async (o: { principal: string; role: string; scope: string }, cmd: Command) => {
      const r = await clientFor(cmd).check(o.principal, o.role, o.scope);
      emit(cmd, r, () => {
        if (r.allowed) out(`allowed: ${o.principal} holds ${o.role} at ${o.scope}${r.expiresAt ? ` until ${fmtTime(r.expiresAt)}` : ''}${r.assignmentId ? ` (assignment ${r.assignmentId})` : ''}`);
        else out(`denied: ${str(r.reason, 'no matching assignment')}`);
      });
      setExit(r.allowed === true ? EXIT.ok : EXIT.denied);
    });
}
