import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/**
 * The load generator, run as a child process (`node --import tsx bench/loadgen.ts spec.json`) so
 * it never shares an event loop with the server it measures. It cycles through the given
 * requests, one per request sent (so each activation comes from a different user), and prints one
 * JSON line with the summary.
 */

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  /** Send exactly this many requests (at most requests.length, so none repeats). */
  amount?: number;
  headers?: Record<string, string>;
  requests: LoadRequest[];
  /**
   * Prebuild the requests (autocannon builds each once per connection and every connection cycles
   * through them in order): far cheaper for the client, so use it for read loads with a few
   * thousand distinct requests. Otherwise each request is built when sent, each list entry once.
   */
  prebuilt?: boolean;
}

export interface LoadSummary {
  /** Completed 2xx per second over the whole run. */
  rps: number;
  /** autocannon's mean of per-second samples. */
  rpsMean: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  /** Latency in milliseconds (autocannon's histogram has 1 ms resolution). */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  /** CPU the load generator used, in cores (1 = one core busy the whole run). */
  clientCores: number;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: loadgen.ts spec.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as LoadSpec;
  const list = spec.requests;
  if (list.length === 0) throw new Error('no requests');
  let i = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
    headers: spec.headers ?? {},
    timeout: 30,
    requests: spec.prebuilt
      ? list.map((r) => ({ method: r.method, path: r.path, ...(r.headers ? { headers: { ...(spec.headers ?? {}), ...r.headers } } : {}), ...(r.body !== undefined ? { body: r.body } : {}) }))
      : [
          {
            setupRequest: (req) => {
              const r = list[i++ % list.length]!;
              return { ...req, method: r.method, path: r.path, headers: { ...(req.headers ?? {}), ...(r.headers ?? {}) }, ...(r.body !== undefined ? { body: r.body } : {}) };
            },
          },
        ],
  });
  const cpu = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - t0) * 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = v.count ?? 0;
  const ok = result['2xx'];
  const summary: LoadSummary = {
    rps: ok / result.duration,
    rpsMean: result.requests.average,
    total: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    statusCodes,
    clientCores: (cpu.user + cpu.system) / wallUs,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`loadgen: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
