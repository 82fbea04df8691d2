import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Run the real `elevate` binary (bin/elevate.js → dist/cli/main.js; `npm run build` first) in a
 * child process. Asynchronous on purpose: a test may run the server in its own process and the
 * CLI against it, which a synchronous spawn would deadlock.
 *
 * The child never sees the developer's own configuration: ELEVATE_URL, ELEVATE_TOKEN and
 * ELEVATE_CONFIG are removed from the inherited environment and ELEVATE_CONFIG points into a fresh
 * empty directory, unless `env` sets them. An `undefined` value in `env` removes a variable.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'elevate.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin (then closed). */
  input?: string;
  /** Kill the child and reject after this long (default 30 s). */
  timeoutMs?: number;
  cwd?: string;
  /** Called with everything written to stderr so far, as it arrives (to answer a prompt-like flow). */
  onStderr?: (all: string) => void;
}

let isolated: string | undefined;
function isolatedConfigPath(): string {
  isolated ??= mkdtempSync(join(tmpdir(), 'elevate-cli-test-'));
  return join(isolated, 'no-such-dir', 'config.json');
}

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build` before the CLI tests');
}

export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, opts: RunOptions = {}): Promise<CliResult> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'ELEVATE_URL' && k !== 'ELEVATE_TOKEN' && k !== 'ELEVATE_CONFIG') childEnv[k] = v;
  }
  childEnv.ELEVATE_CONFIG = isolatedConfigPath();
  childEnv.NO_COLOR = '1';
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`elevate ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Parse the child's stdout as JSON (for --json runs), with the output in the error when it is not. */
export function parseJson<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
