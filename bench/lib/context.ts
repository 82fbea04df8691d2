import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/storage/index.js';
import { buildServer, type Elevate } from '../../src/server/app.js';
import { ADMIN_TOKEN, testSigner } from '../../test/helpers/harness.js';
import { clock, LIMITS, log } from './common.js';
import { datasetSize, seedDataset, type SeededDataset } from './dataset.js';

/**
 * What several benchmarks share within one run: the seeded SQLite data set (seeded once) and one
 * Elevate server answering from it.
 */
export class BenchContext {
  private ds: Promise<{ dir: string; path: string; ds: SeededDataset }> | null = null;
  private server: Promise<Elevate> | null = null;

  /** The SQLite file holding the data set, seeded on first use. No store is left open on it. */
  dataset(): Promise<{ dir: string; path: string; ds: SeededDataset }> {
    this.ds ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'elevate-bench-ds-'));
      const path = join(dir, 'elevate.db');
      const store = await openStore({ sqlitePath: path, log: () => {} });
      try {
        const ds = await seedDataset(store, datasetSize());
        return { dir, path, ds };
      } finally {
        await store.close();
      }
    })();
    return this.ds;
  }

  /** An Elevate server (not listening) on the data set: the index loaded from the store at start. */
  datasetServer(): Promise<Elevate> {
    this.server ??= (async () => {
      const { path } = await this.dataset();
      const store = await openStore({ sqlitePath: path, log: () => {} });
      const t = performance.now();
      const e = await buildServer({ store, clock, signer: testSigner(), limits: LIMITS, bootstrapToken: ADMIN_TOKEN, jobs: false, logger: false });
      log(`server on the data set ready in ${((performance.now() - t) / 1000).toFixed(1)} s: ${JSON.stringify(e.index.stats())}`);
      return e;
    })();
    return this.server;
  }

  async closeServer(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await (await s).close();
  }

  async close(): Promise<void> {
    await this.closeServer();
    const d = this.ds;
    this.ds = null;
    if (d) rmSync((await d).dir, { recursive: true, force: true });
  }
}
