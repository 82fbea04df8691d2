import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { applyRemoteChange, bootstrap, loadIndex, makeUseCases, type AuditSigner, type Limits, type UseCases } from '../app/index.js';
import type { IndexChange, Store } from '../app/ports.js';
import type { Clock } from '../core/clock.js';
import { DecisionIndex } from '../core/decision.js';
import { startJobs } from '../jobs/runner.js';
import { authenticator } from './auth.js';
import { installErrorHandler } from './errors.js';
import { accessRoutes } from './routes/access.js';
import { auditRoutes } from './routes/audit.js';
import { directoryRoutes } from './routes/directory.js';
import { roleRoutes } from './routes/roles.js';

export interface ServerOptions {
  store: Store;
  clock: Clock;
  signer: AuditSigner;
  limits: Limits;
  /** ELEVATE_BOOTSTRAP_TOKEN, or null to generate one on first start. */
  bootstrapToken: string | null;
  logger?: FastifyServerOptions['logger'];
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
  const localPublish = o.store.changes.publish.bind(o.store.changes);
  o.store.changes.publish = (tx, c) => localPublish(tx, { ...c, origin: nodeId });
  const deps = { store: o.store, index, clock: o.clock, newId: randomUUID, limits: o.limits };
  const uc = makeUseCases(deps, o.signer);

  // The change feed can speak before the Fastify app (and its logger) exists.
  let appLog: FastifyBaseLogger | null = null;
  // Subscribe before loading so nothing committed in between is missed; replay what arrived during the load.
  let buffered: IndexChange[] | null = [];
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
    routerOptions: { maxParamLength: 1000 },
    // Errors raised before routing (bad URL, over-long parameters, bad content type) in our shape too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: { code: 'invalid_request', message: err.message.slice(0, 200), details: {} } });
    },
  });
  appLog = app.log;
  installErrorHandler(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Elevate API', version: '1', description: 'Just-in-time privileged access: eligibilities, activation requests, approvals, an exact decision point and a verifiable audit log.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true, store: o.store.dialect, index: index.stats() }));

  const authenticate = authenticator(uc, o.clock);
  await app.register(
    async (api) => {
      api.decorateRequest('actor', null);
      api.addHook('onRequest', async (req, reply) => {
        const path = req.routeOptions.url;
        if (path === '/api/v1/openapi.json' || path === '/api/v1/audit/keys') return;
        await authenticate(req, reply);
      });
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      directoryRoutes(api, uc);
      roleRoutes(api, uc);
      accessRoutes(api, uc);
      auditRoutes(api, uc, deps);
    },
    { prefix: '/api/v1' },
  );

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
