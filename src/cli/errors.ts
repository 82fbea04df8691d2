import { ApiError } from './client.js';

/** What the exit status means, so scripts can branch on it. */
export const EXIT = {
  ok: 0,
  /** network failure, server 5xx, 400, 401, 404, 409, a failed verification, a bad input file */
  error: 1,
  /** the command line itself is wrong: unknown command or flag, missing argument, bad value, no token */
  usage: 2,
  /** a rule said no: HTTP 403, a check answering allowed:false, a request that ended denied */
  denied: 3,
  /** `activate --wait` gave up while the request was still pending */
  pending: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error raised by the CLI itself, with the exit status it means. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (code: string, message: string, details: Record<string, unknown> = {}): CliError => new CliError(EXIT.usage, code, message, details);

export function exitCodeForStatus(status: number): ExitCode {
  return status === 403 ? EXIT.denied : EXIT.error;
}

export interface ErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
  status?: number;
}

/** The `{"error":{…}}` body printed with --json, and the exit status, for anything thrown. */
export function describeError(e: unknown): { exitCode: ExitCode; body: ErrorBody } {
  if (e instanceof ApiError) {
    const body: ErrorBody = { code: e.code, message: e.message, details: e.details };
    if (e.status > 0) body.status = e.status;
    return { exitCode: exitCodeForStatus(e.status), body };
  }
  if (e instanceof CliError) return { exitCode: e.exitCode, body: { code: e.code, message: e.message, details: e.details } };
  const message = e instanceof Error ? e.message : String(e);
  return { exitCode: EXIT.error, body: { code: 'internal_error', message, details: {} } };
}
