import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ElevateClient } from './client.js';
import { resolveSettings } from './config.js';
import { EXIT, usage, type ExitCode } from './errors.js';
import { printJson } from './output.js';

/** What every command needs: the global flags, an authenticated client, and one way to print. */

export interface Globals {
  json?: boolean;
}

export function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals<Globals>();
}

export function isJson(cmd: Command): boolean {
  return globals(cmd).json === true;
}

let cachedVersion: string | undefined;
export function version(): string {
  if (cachedVersion === undefined) {
    try {
      // src/cli and dist/cli are both two levels below the package root.
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cachedVersion = pkg.version ?? '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

/** A client for the configured server. Without a token that is a usage error (exit 2): nothing is sent. */
export function clientFor(_cmd: Command, opts: { auth?: boolean; headers?: Record<string, string> } = {}): ElevateClient {
  const s = resolveSettings({});
  if (opts.auth !== false && !s.token) {
    throw usage('missing_token', 'no token: set ELEVATE_TOKEN, or run `elevate login --url URL --token TOKEN`');
  }
  return new ElevateClient({ baseUrl: s.url, token: s.token, userAgent: `elevate-cli/${version()}`, ...(opts.headers ? { headers: opts.headers } : {}) });
}

/** Print `data` as JSON with --json, otherwise run the human printer. */
export function emit(cmd: Command, data: unknown, human: () => void): void {
  if (isJson(cmd)) printJson(data);
  else human();
}

/** Record the exit status without exiting: output already written is flushed, timers end cleanly. */
export function setExit(code: ExitCode): void {
  if (code !== EXIT.ok) process.exitCode = code;
}

export function parseIsoTime(raw: string, flag: string): string {
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw usage('invalid_time', `${flag} "${raw}" is not a date/time: use ISO 8601, e.g. 2025-06-01T09:00:00Z`, { flag });
  return new Date(t).toISOString();
}

export function parsePositiveInt(raw: string, flag: string, max = 10_000): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw usage('invalid_number', `${flag} must be a whole number from 1 to ${max}`, { flag });
  return Number(raw);
}
