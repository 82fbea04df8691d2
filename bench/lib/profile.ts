import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { log } from './common.js';

/**
 * ELEVATE_BENCH_PROFILE=dir: CPU-profile the measured phase of a benchmark (this process, i.e. the
 * server side) and write `<dir>/<name>.cpuprofile`, to open in Chrome DevTools or speedscope.
 */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.ELEVATE_BENCH_PROFILE;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(resolve(dir), { recursive: true });
    const file = join(resolve(dir), `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    log(`CPU profile written to ${file}`);
  }
}
