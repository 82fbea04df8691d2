import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { LoadSpec, LoadSummary } from '../loadgen.js';

export type { LoadRequest, LoadSpec, LoadSummary } from '../loadgen.js';

const LOADGEN = fileURLToPath(new URL('../loadgen.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Run autocannon in a child process against a server listening in this process; resolves with its
 * summary plus the CPU this process (the server) used meanwhile, in cores.
 */
export async function runLoad(spec: LoadSpec): Promise<LoadSummary & { serverCores: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runLoadChild(spec);
  const cpu = process.cpuUsage(cpu0);
  return { ...summary, serverCores: (cpu.user + cpu.system) / ((performance.now() - t0) * 1000) };
}

async function runLoadChild(spec: LoadSpec): Promise<LoadSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'elevate-load-'));
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  try {
    return await new Promise<LoadSummary>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', LOADGEN, file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`loadgen exited ${code}: ${err.trim()}`));
        try {
          resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadSummary);
        } catch (e) {
          reject(new Error(`loadgen printed no summary: ${String(e)} ${err}`));
        }
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Listen on an ephemeral loopback port; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return `http://127.0.0.1:${addr.port}`;
}
