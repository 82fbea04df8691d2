import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Store } from '../../src/app/ports.js';
import { openStore } from '../../src/storage/index.js';

/**
 * Shared plumbing for the benchmarks: sizes (scaled by ELEVATE_BENCH_SCALE for quick runs), the
 * optional PostgreSQL URL, throw-away stores, timing and the result records the runner prints.
 */

/** 1 = the recorded sizes. 0.1 for a quick run; the figures are then not comparable with BENCHMARKS.md. */
export const SCALE = (() => {
  const raw = process.env.ELEVATE_BENCH_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 10) throw new Error('ELEVATE_BENCH_SCALE must be a number in (0, 10]');
  return n;
})();

/** Seconds an autocannon run lasts (ELEVATE_BENCH_DURATION, default 10). */
export const LOAD_SECONDS = Number(process.env.ELEVATE_BENCH_DURATION ?? 10);

export const scaled = (n: number, min = 1): number => Math.max(min, Math.round(n * SCALE));

export const PG_URL = process.env.ELEVATE_BENCH_DATABASE_URL || process.env.ELEVATE_TEST_DATABASE_URL || null;

export const clock = { now: () => Date.now() };
export const LIMITS = { minActivationMs: 60_000, maxScheduleAheadMs: 30 * 86_400_000 };

// ---------------------------------------------------------------- results

export interface Goal {
  /** Which number the goal is about. */
  on: 'value' | 'ratio';
  op: '>=' | '<=';
  target: number;
  /** As written in the brief, e.g. "≥ 85 % of bare Fastify". */
  text: string;
}

export interface Figure {
  bench: string;
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number; unit: string };
  /** value / baseline.value (or as the figure says in `notes`). */
  ratio?: number;
  goal?: Goal;
  met?: boolean | null;
  notes?: string;
  extra?: Record<string, unknown>;
}

export class Results {
  readonly figures: Figure[] = [];
  constructor(readonly bench: string) {}

  add(f: Omit<Figure, 'bench' | 'met'>): Figure {
    const fig: Figure = { bench: this.bench, ...f };
    if (f.goal) {
      const x = f.goal.on === 'value' ? f.value : f.ratio;
      fig.met = x === undefined || !Number.isFinite(x) ? null : f.goal.op === '>=' ? x >= f.goal.target : x <= f.goal.target;
    }
    this.figures.push(fig);
    log(`${this.bench}: ${f.name} = ${fmt(f.value)} ${f.unit}${f.ratio !== undefined ? ` (ratio ${fmt(f.ratio)})` : ''}${fig.met === undefined ? '' : fig.met ? ' [goal met]' : ' [goal MISSED]'}`);
    return fig;
  }
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100_000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------- timing

export const now = (): number => performance.now();

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: readonly number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean };
}

/** Deterministic PRNG (mulberry32), so every run loads the same data and asks the same questions. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---------------------------------------------------------------- stores

export interface BenchStore {
  store: Store;
  /** SQLite file, or null on PostgreSQL. */
  path: string | null;
  schema: string | null;
  /** Open another store on the same data (a second node, or a restart). */
  reopen(): Promise<Store>;
  /** Delete the data (close the stores first). */
  cleanup(): Promise<void>;
}

const quiet = () => {};

export async function sqliteStore(dir?: string): Promise<BenchStore> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'elevate-bench-'));
  const path = join(d, 'elevate.db');
  const store = await openStore({ sqlitePath: path, log: quiet });
  return {
    store,
    path,
    schema: null,
    reopen: () => openStore({ sqlitePath: path, log: quiet }),
    cleanup: async () => rmSync(d, { recursive: true, force: true }),
  };
}

export async function pgStore(): Promise<BenchStore> {
  if (!PG_URL) throw new Error('no PostgreSQL URL');
  const url = PG_URL;
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const store = await openStore({ databaseUrl: url, pgSchema: schema, log: quiet });
  return {
    store,
    path: null,
    schema,
    reopen: () => openStore({ databaseUrl: url, pgSchema: schema, log: quiet }),
    cleanup: () => dropSchema(schema),
  };
}

export async function dropSchema(schema: string): Promise<void> {
  if (!PG_URL) return;
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}
