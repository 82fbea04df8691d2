import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import { applyRemoteChange, bootstrap, loadIndex, makeUseCases, type AuditSigner, type Limits, type UseCases } from '../app/index.js';
import { defaultIdentityOptions, type IdentityOptions } from '../app/context.js';
import { makeSealer } from '../app/sealer.js';
import type { IndexChange, Store } from '../app/ports.js';
import type { SiemSink } from '../app/siem-ports.js';
import type { Clock } from '../core/clock.js';
import { DecisionIndex } from '../core/decision.js';
import { startJobs } from '../jobs/runner.js';
import { authenticator } from './auth.js';
import { installErrorHandler } from './errors.js';
import { accessRoutes } from './routes/access.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes, identityRoutes } from './routes/auth.js';
import { makeOidcClient, type OidcConfig } from './oidc.js';
import { webhookSender, type WebhookTarget } from '../adapters/webhook/webhook.js';
import { directoryRoutes } from './routes/directory.js';
import { mfaRoutes } from './routes/mfa.js';
import { pageRoutes } from './pages.js';
import { DEFAULT_PORTAL_DIR, portalRoutes } from './portal.js';
import { renewalRoutes } from './routes/renewals.js';
import { roleRoutes } from './routes/roles.js';
import { scimAdminRoutes, scimRoutes } from './routes/scim.js';
import { statsRoutes } from './routes/stats.js';
import { alertsRoutes } from './routes/alerts.js';
import { inventoryRoutes } from './routes/inventory.js';
import { reportsRoutes } from './routes/reports.js';
import { reviewsRoutes } from './routes/reviews.js';
import { siemRoutes } from './routes/siem.js';
import { metricsRoutes } from './metrics.js';

export interface ServerOptions {
  store: Store;
  clock: Clock;
  signer: AuditSigner;
  limits: Limits;
  /** ELEVATE_BOOTSTRAP_TOKEN, or null to generate one on first start. */
  bootstrapToken: string | null;
  logger?: FastifyServerOptions['logger'];
  /** Sign-in, session and MFA settings (defaults: public URL http://localhost:8080). */
  identity?: Partial<IdentityOptions>;
  /** 32-byte key sealing secrets at rest (TOTP seeds); a random one per process when absent (tests). */
  secretKey?: Uint8Array;
  /** Sign-in through an OpenID Connect provider (ELEVATE_OIDC_*); null/absent: local accounts only. */
  oidc?: OidcConfig | null;
  /** Where notifications (break-glass use) are delivered: ELEVATE_NOTIFY_WEBHOOK_URL and _SECRET. */
  notifyWebhook?: WebhookTarget | null;
  /** ELEVATE_SCIM_TOKEN: a bearer token for /scim/v2 given by configuration (admins can also create them). */
  scimToken?: string | null;
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (CIDR list); none by default. */
  trustedProxies?: string[];
  /** The built portal (index.html and assets/); default dist/web. */
  portalDir?: string;
  /** ELEVATE_METRICS_TOKEN: GET /metrics then needs `Authorization: Bearer <token>`. */
  metricsToken?: string | null;
  /** SIEM export sinks (ELEVATE_SYSLOG_URL, ELEVATE_SIEM_WEBHOOK_URL + _SECRET), by name: `syslog`, `webhook`. */
  siemSinks?: Record<string, SiemSink>;
  /** Run the in-process job loops (default true). Tests drive them with `jobs.tick()`. */
  jobs?: { intervalMs: number; checkpointEveryMs: number } | false;
}

export interface Elevate {
  app: FastifyInstance;
  uc: UseCases;
  index: DecisionIndex;
  nodeId: string;
  /** Set when this start created the first admin with a generated token (to hand over, never to log). */
  generatedToken: string | null;
  jobs: { tick(): Promise<void>; stop(): Promise<void> };
  close(): Promise<void>;
}

/** Build the server (not listening): index loaded, bootstrap done, change feed subscribed. */
export async function buildServer(o: ServerOptions): Promise<Elevate> {
  const nodeId = randomUUID();
  const index = new DecisionIndex();
  // Tag every change this node publishes, so it does not reload its own writes when the feed echoes them.
  // While an index load runs, changes are held back and replayed onto the loaded index (see resync).
  let buffered: IndexChange[] | null = [];
  const localPublish = o.store.changes.publish.bind(o.store.changes);
  o.store.changes.publish = (tx, c) => {
    // This node's own writes update the index in place after commit; one that commits while a
    // fresh index is loading may be missing from it, so it is held and replayed (reloaded from the
    // database) like a change heard from another node.
    tx.afterCommit(() => buffered?.push({ ...c }));
    return localPublish(tx, { ...c, origin: nodeId });
  };
  const identity = { ...defaultIdentityOptions(o.identity?.publicUrl), ...o.identity };
  const deps = { store: o.store, index, clock: o.clock, newId: randomUUID, limits: o.limits, identity, sealer: makeSealer(o.secretKey ?? randomBytes(32)) };
  const uc = makeUseCases(deps, o.signer, o.notifyWebhook ? { notify: webhookSender(o.notifyWebhook) } : {}, o.siemSinks ?? {});

  // The change feed can speak before the Fastify app (and its logger) exists.
  let appLog: FastifyBaseLogger | null = null;
  // Subscribe before loading so nothing committed in between is missed; replay what arrived during the load.
  const onChange = (c: IndexChange) => {
    if (c.origin === nodeId) return;
    if (buffered) return void buffered.push(c);
    if (c.kind === 'token') uc.tokens.onRemoteChange(c.id);
    else void applyRemoteChange(o.store, index, c).catch((e) => appLog?.error({ err: String(e) }, 'index sync failed'));
  };
  // After the feed lost changes: load a fresh index off to the side, holding back changes heard
  // meanwhile, swap it in, then replay them (as at start), so nothing heard during the load is lost.
  const resync = () => {
    if (buffered) return; // a load is already running; it will see everything committed before it ends
    buffered = [];
    const fresh = new DecisionIndex();
    const replay = () => {
      const held = buffered ?? [];
      buffered = null;
      for (const c of held) onChange(c);
    };
    loadIndex(o.store, fresh).then(
      () => {
        index.replaceWith(fresh);
        replay();
        appLog?.warn('decision index reloaded after the change feed lost changes');
      },
      (e) => {
        replay();
        appLog?.error({ err: String(e) }, 'index resync failed');
      },
    );
  };
  const unlisten = await o.store.listen(onChange, resync);
  await loadIndex(o.store, index);
  const pending = buffered;
  buffered = null;
  for (const c of pending) onChange(c);

  const boot = await bootstrap(deps, o.bootstrapToken);
  await uc.audit.registerKey();

  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
    genReqId: () => randomUUID(),
    // The client address (role network conditions, audit) comes through the configured proxies only.
    trustProxy: o.trustedProxies && o.trustedProxies.length > 0 ? o.trustedProxies : false,
    routerOptions: { maxParamLength: 1000 },
    // Errors raised before routing (bad URL, over-long parameters, bad content type) in our shape too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: { code: 'invalid_request', message: err.message.slice(0, 200), details: {} } });
    },
  });
  appLog = app.log;
  installErrorHandler(app, await portalRoutes(app, o.portalDir ?? DEFAULT_PORTAL_DIR));
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Elevate API', version: '1', description: 'Just-in-time privileged access: eligibilities, activation requests, approvals, an exact decision point and a verifiable audit log.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true, store: o.store.dialect, index: index.stats() }));

  const authenticate = authenticator(uc, o.clock, new URL(identity.publicUrl).origin);
  const authOpts = { publicUrl: identity.publicUrl, oidc: o.oidc ? makeOidcClient(o.oidc) : null, clock: o.clock, sessionIdleMs: identity.sessionIdleMs };
  await app.register(authRoutes(uc, authOpts, authenticate), { prefix: '/auth' });
  pageRoutes(app);
  await app.register(
    async (api) => {
      api.decorateRequest('actor', null);
      api.decorateRequest('sessionSecret', null);
      api.addHook('onRequest', async (req, reply) => {
        const path = req.routeOptions.url;
        if (path === '/api/v1/openapi.json' || path === '/api/v1/audit/keys') return;
        await authenticate(req, reply);
      });
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      directoryRoutes(api, uc);
      roleRoutes(api, uc);
      accessRoutes(api, uc);
      renewalRoutes(api, uc);
      auditRoutes(api, uc, deps);
      statsRoutes(api, uc);
      mfaRoutes(api, uc);
      scimAdminRoutes(api, uc);
      identityRoutes(api, uc, authOpts);
      reviewsRoutes(api, uc);
      alertsRoutes(api, uc);
      siemRoutes(api, uc);
      inventoryRoutes(api, uc);
      reportsRoutes(api, uc);
    },
    { prefix: '/api/v1' },
  );
  await metricsRoutes(app, { store: o.store, index, clock: o.clock, uc, token: o.metricsToken ?? null });
  await app.register(scimRoutes(uc, { envToken: o.scimToken ?? null }), { prefix: '/scim/v2' });

  const jobs = startJobs(uc, {
    ...(o.jobs === false ? { intervalMs: 0, checkpointEveryMs: Infinity } : (o.jobs ?? { intervalMs: 1000, checkpointEveryMs: 60_000 })),
    onError: (job, e) => app.log.error({ job, err: String(e) }, 'job failed'),
  });

  await app.ready();
  return {
    app,
    uc,
    index,
    nodeId,
    generatedToken: boot.token,
    jobs,
    async close() {
      await jobs.stop();
      await app.close();
      await unlisten();
      await o.store.close();
    },
  };
}
