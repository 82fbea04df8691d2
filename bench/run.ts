import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { activateE2e } from './activate.js';
import { audit } from './audit.js';
import { checkHttp, checkInproc } from './check.js';
import { fmt, log, PG_URL, SCALE, type Figure, type Results } from './lib/common.js';
import { BenchContext } from './lib/context.js';
import { REPO_ROOT } from './lib/load.js';
import { scale } from './scale.js';
import { scimRevoke } from './scim-revoke.js';
import { governance } from './governance.js';

/**
 * `npm run bench [-- name...]`: run every benchmark (or those whose name contains one of the
 * arguments), print a table, write .bench-out/results.json. Every figure carries the baseline
 * measured in the same run, because this machine is small and noisy: compare ratios, not raw
 * numbers, across runs.
 */

const BENCHES: { name: string; run: (ctx: BenchContext) => Promise<Results> }[] = [
  { name: 'check-http', run: checkHttp },
  { name: 'check-inproc', run: checkInproc },
  { name: 'scale', run: scale },
  { name: 'activate-e2e', run: activateE2e },
  { name: 'audit', run: audit },
  { name: 'scim-revoke', run: scimRevoke },
  { name: 'governance', run: governance },
];

/** The commit measured, and how many files differed from it (src/ moves while benchmarks run). */
function gitState(): { commit: string | null; dirtyFiles: number | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, dirtyFiles: dirty };
  } catch {
    return { commit: null, dirtyFiles: null };
  }
}

function table(figs: Figure[]): string {
  const head = ['benchmark', 'figure', 'value', 'baseline', 'ratio', 'goal', 'met'];
  const rows = figs.map((f) => [
    f.bench,
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline ? `${fmt(f.baseline.value)} ${f.baseline.unit} (${f.baseline.name})` : '',
    f.ratio === undefined ? '' : fmt(f.ratio),
    f.goal?.text ?? '',
    f.met === undefined ? '' : f.met === null ? '?' : f.met ? 'yes' : 'NO',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join(' | ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('-|-'), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((a) => a !== '--');
  const selected = BENCHES.filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)));
  if (selected.length === 0) throw new Error(`no benchmark matches ${filters.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  log(`running ${selected.map((b) => b.name).join(', ')} at scale ${SCALE}${PG_URL ? ', with PostgreSQL' : ', without PostgreSQL (set ELEVATE_BENCH_DATABASE_URL)'}`);
  const started = Date.now();
  const ctx = new BenchContext();
  const figures: Figure[] = [];
  const failures: { bench: string; error: string }[] = [];
  try {
    for (const b of selected) {
      const t = Date.now();
      try {
        const r = await b.run(ctx);
        figures.push(...r.figures);
      } catch (e) {
        const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
        log(`${b.name} FAILED: ${msg}`);
        failures.push({ bench: b.name, error: msg });
      }
      log(`${b.name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    await ctx.close();
  }
  const out = {
    date: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    machine: { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? null, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` },
    git: gitState(),
    scale: SCALE,
    postgres: PG_URL !== null,
    figures,
    failures,
  };
  const dir = join(REPO_ROOT, '.bench-out');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`\n${table(figures)}\n\n`);
  process.stdout.write(`scale ${SCALE}, ${out.machine.nproc} cores, node ${process.version}, ${out.durationS.toFixed(0)} s; results in .bench-out/results.json\n`);
  if (SCALE !== 1) process.stdout.write('NOTE: scaled-down run: the figures are not the recorded ones.\n');
  if (failures.length) {
    process.stdout.write(`FAILED: ${failures.map((f) => f.bench).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
