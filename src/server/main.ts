import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../storage/index.js';
import { buildServer } from './app.js';
import { syslogSink } from '../adapters/siem/syslog.js';
import { siemWebhookSink } from '../adapters/siem/webhook.js';
import type { SiemSink } from '../app/index.js';
import { loadOrCreateSecretKey, loadOrCreateSigner, readConfig } from './config.js';

/** Start Elevate: open the store (migrations run), bootstrap, load the index, listen. */
// Everything Elevate writes (the database with token hashes and the audit log, keys, the bootstrap token) is private to its user.
process.umask(0o077);
const cfg = readConfig();
const logger = { level: cfg.logLevel, redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-elevate-totp"]', 'req.headers["x-elevate-step-up"]', 'req.headers["x-csrf-token"]', '*.token', '*.password', '*.secret', '*.code', '*.deviceCode'], censor: '[redacted]' } };
mkdirSync(cfg.dataDir, { recursive: true });
// SIEM outputs of the audit log: the export job sends from the committed log, never on the request path.
const siemSinks: Record<string, SiemSink> = {};
if (cfg.siem.syslog) siemSinks.syslog = syslogSink(cfg.siem.syslog);
if (cfg.siem.webhook) siemSinks.webhook = siemWebhookSink(cfg.siem.webhook);
const store = await openStore(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : { sqlitePath: join(cfg.dataDir, 'elevate.db') });
const elevate = await buildServer({
  store,
  clock: { now: () => Date.now() },
  signer: loadOrCreateSigner(cfg.signingKeyPath),
  limits: { minActivationMs: cfg.minActivationMs, maxScheduleAheadMs: 30 * 86_400_000 },
  bootstrapToken: cfg.bootstrapToken,
  identity: cfg.identity,
  oidc: cfg.oidc,
  scimToken: cfg.scimToken,
  notifyWebhook: cfg.notifyWebhook,
  trustedProxies: cfg.trustedProxies,
  secretKey: loadOrCreateSecretKey(cfg.secretKeyPath),
  metricsToken: cfg.metricsToken,
  siemSinks,
  logger,
});
const log = elevate.app.log;
if (elevate.generatedToken) {
  const file = join(cfg.dataDir, 'bootstrap-token');
  writeFileSync(file, elevate.generatedToken + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  log.info({ file }, 'first start: created the admin principal "admin"; its API token is in this file (mode 0600)');
} else if (cfg.bootstrapToken) {
  log.info('admin token taken from ELEVATE_BOOTSTRAP_TOKEN');
}
await elevate.app.listen({ host: cfg.host, port: cfg.port });
log.info({ store: store.dialect, ...elevate.index.stats() }, 'elevate is serving');

let closing = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (closing) return;
    closing = true;
    log.info({ sig }, 'shutting down');
    elevate.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
