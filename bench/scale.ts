import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, log, Results, sqliteStore } from './lib/common.js';
import type { BenchContext } from './lib/context.js';
import { bootstrapStore } from './lib/dataset.js';
import { REPO_ROOT } from './lib/load.js';

/**
 * Memory and cold start, each in a fresh child process running the built server (dist/, as
 * `npm start` does, no TypeScript loader): openStore + buildServer until ready with the index
 * loaded, then RSS. Once on the data set (100k principals, 1M eligibilities, 100k assignments),
 * once on an empty store (bootstrap only) as the baseline.
 */

interface ChildReport {
  /** Process start (node boot included) to ready. */
  uptimeMs: number;
  importMs: number;
  openMs: number;
  buildMs: number;
  startMs: number;
  rssMB: number;
  heapUsedMB: number;
  rssAfterGcMB: number;
  heapAfterGcMB: number;
  stats: { principals: number; assignments: number; eligibilities: number };
}

const CHILD = `
const t0 = performance.now();
const [dist, path] = process.argv.slice(-2);
const { openStore } = await import(dist + '/storage/index.js');
const { buildServer } = await import(dist + '/server/app.js');
const { keyIdOf } = await import(dist + '/app/index.js');
const { generateKeyPairSync, createPublicKey } = await import('node:crypto');
const { privateKey } = generateKeyPairSync('ed25519');
const publicKey = createPublicKey(privateKey);
const signer = { keyId: keyIdOf(publicKey), privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
const t1 = performance.now();
const store = await openStore({ sqlitePath: path, log: () => {} });
const t2 = performance.now();
const e = await buildServer({ store, clock: { now: () => Date.now() }, signer, limits: { minActivationMs: 60000, maxScheduleAheadMs: 30 * 86400000 }, bootstrapToken: 'elv_' + 'a'.repeat(43), jobs: false, logger: false });
const t3 = performance.now();
const uptimeMs = process.uptime() * 1000;
const m1 = process.memoryUsage();
globalThis.gc();
globalThis.gc();
const m2 = process.memoryUsage();
const MB = 1024 * 1024;
process.stdout.write(JSON.stringify({ uptimeMs, importMs: t1 - t0, openMs: t2 - t1, buildMs: t3 - t2, startMs: t3 - t1, rssMB: m1.rss / MB, heapUsedMB: m1.heapUsed / MB, rssAfterGcMB: m2.rss / MB, heapAfterGcMB: m2.heapUsed / MB, stats: e.index.stats() }) + '\\n');
await e.close();
`;

function child(path: string): Promise<ChildReport> {
  const dist = pathToFileURL(join(REPO_ROOT, 'dist')).href;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, '--', dist, path], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`scale child exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim()) as ChildReport);
      } catch (e) {
        reject(new Error(`scale child printed no report: ${String(e)} ${err}`));
      }
    });
  });
}

/** The child runs the compiled server: refuse to measure a dist/ older than src/ (run `npm run build`). */
function checkDist(): void {
  const built = join(REPO_ROOT, 'dist', 'server', 'app.js');
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const src = join(REPO_ROOT, 'src', 'server', 'app.ts');
  if (statSync(src).mtimeMs > statSync(built).mtimeMs) log('scale: WARNING dist/ looks older than src/; run `npm run build` (npm run bench does)');
}

export async function scale(ctx: BenchContext): Promise<Results> {
  const res = new Results('scale');
  checkDist();
  const { path, ds } = await ctx.dataset();
  await ctx.closeServer(); // nothing else holds the file while the children start

  const emptyDir = mkdtempSync(join(tmpdir(), 'elevate-empty-'));
  try {
    const empty = await sqliteStore(emptyDir);
    await bootstrapStore(empty.store);
    await empty.store.close();
    const emptyPath = empty.path!;

    const runs: { empty: ChildReport; full: ChildReport }[] = [];
    for (let i = 0; i < 2; i++) {
      const e = await child(emptyPath);
      const f = await child(path);
      if (f.stats.eligibilities !== ds.size.eligibilities || f.stats.principals < ds.size.users) throw new Error(`index loaded ${JSON.stringify(f.stats)}`);
      log(`scale run ${i + 1}: full start ${fmt(f.startMs)} ms (open ${fmt(f.openMs)}, build ${fmt(f.buildMs)}), rss ${fmt(f.rssMB)} MB (after gc ${fmt(f.rssAfterGcMB)}), heap ${fmt(f.heapAfterGcMB)} MB; empty start ${fmt(e.startMs)} ms, rss ${fmt(e.rssMB)} MB`);
      runs.push({ empty: e, full: f });
    }
    const worst = (which: 'empty' | 'full', k: keyof ChildReport) => Math.max(...runs.map((r) => r[which][k] as number));
    const rss = worst('full', 'rssMB');
    const rssEmpty = worst('empty', 'rssMB');
    res.add({
      name: `RSS after start, ${ds.size.users.toLocaleString('en-US')} principals + ${ds.size.eligibilities.toLocaleString('en-US')} eligibilities + ${ds.size.assignments.toLocaleString('en-US')} assignments`,
      value: rss,
      unit: 'MB',
      baseline: { name: 'empty server RSS', value: rssEmpty, unit: 'MB' },
      ratio: rss / rssEmpty,
      goal: { on: 'value', op: '<=', target: 1536, text: '≤ 1.5 GB' },
      extra: { runs, heapAfterGcMB: worst('full', 'heapAfterGcMB'), rssAfterGcMB: worst('full', 'rssAfterGcMB') },
    });
    const start = worst('full', 'startMs') / 1000;
    const startEmpty = worst('empty', 'startMs') / 1000;
    res.add({
      name: 'cold start (openStore + buildServer, index loaded)',
      value: start,
      unit: 's',
      baseline: { name: 'empty server start', value: startEmpty, unit: 's' },
      ratio: start / startEmpty,
      goal: { on: 'value', op: '<=', target: 10, text: '≤ 10 s' },
      extra: { processStartToReadyS: worst('full', 'uptimeMs') / 1000, emptyProcessStartToReadyS: worst('empty', 'uptimeMs') / 1000, openS: worst('full', 'openMs') / 1000, buildS: worst('full', 'buildMs') / 1000 },
    });
  } finally {
    rmSync(emptyDir, { recursive: true, force: true });
  }
  return res;
}
