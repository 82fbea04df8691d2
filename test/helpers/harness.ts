import { generateKeyPairSync, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { keyIdOf, type AuditSigner } from '../../src/app/index.js';
import { csrfTokenOf, sessionIdOf } from '../../src/app/sessions.js';
import type { Store } from '../../src/app/ports.js';
import { ManualClock } from '../../src/core/clock.js';
import { buildServer, type Elevate, type ServerOptions } from '../../src/server/app.js';
import { openStore } from '../../src/storage/index.js';

export const PG_URL = process.env.ELEVATE_TEST_DATABASE_URL ?? null;
export const PG_SKIP = PG_URL ? false : 'ELEVATE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped (CI always sets it)';
export const BACKENDS: { name: 'sqlite' | 'postgres'; skip: string | false }[] = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: PG_SKIP },
];

export const T0 = Date.parse('2026-03-02T09:00:00Z'); // a Monday

export function testSigner(): AuditSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A fresh store: SQLite in a temp dir, or a fresh schema on the test PostgreSQL. */
export async function freshStore(backend: 'sqlite' | 'postgres', shared?: { schema: string }): Promise<{ store: Store; cleanup: () => Promise<void>; schema: string | null }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'elevate-test-'));
    const store = await openStore({ sqlitePath: join(dir, 'elevate.db') });
    return { store, schema: null, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!PG_URL) throw new Error('no PostgreSQL');
  const schema = shared?.schema ?? `t_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ databaseUrl: PG_URL, pgSchema: schema });
  return {
    store,
    schema,
    cleanup: async () => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

export const ADMIN_TOKEN = 'elv_' + 'a'.repeat(43);

export interface TestServer extends Elevate {
  clock: ManualClock;
  store: Store;
  /** inject() with a bearer token (or a session secret), returning status and parsed JSON. */
  call: Call;
  cleanup(): Promise<void>;
}

export type Call = (method: InjectOptions['method'], url: string, token: string | null, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Record<string, unknown> }>;

/**
 * inject() with a credential, returning status and parsed JSON. A token is sent as Bearer; a session
 * secret (els_…) the way a browser sends it: cookie plus CSRF header. `onResponse` sees every raw
 * response (tests that search bodies and headers for secrets).
 */
export function injectCall(app: FastifyInstance, onResponse?: (key: string, res: LightMyRequestResponse) => void): Call {
  return async (method, url, token, body, headers = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: {
        ...(token?.startsWith('els_') ? { cookie: `elevate_session=${token}`, 'x-csrf-token': csrfTokenOf(token) } : token ? { authorization: `Bearer ${token}` } : {}),
        ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : (body as object) } : {}),
    });
    onResponse?.(`${method} ${url}`, res);
    let parsed: unknown = null;
    try {
      parsed = res.body ? JSON.parse(res.body) : null;
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  };
}

export async function startServer(backend: 'sqlite' | 'postgres', opts: { clock?: ManualClock; store?: { store: Store; cleanup: () => Promise<void> }; signer?: AuditSigner; server?: Partial<ServerOptions> } = {}): Promise<TestServer> {
  const clock = opts.clock ?? new ManualClock(T0);
  const s = opts.store ?? (await freshStore(backend));
  const e = await buildServer({
    store: s.store,
    clock,
    signer: opts.signer ?? testSigner(),
    limits: { minActivationMs: 60_000, maxScheduleAheadMs: 30 * 86_400_000 },
    bootstrapToken: ADMIN_TOKEN,
    jobs: false,
    // Work on the portal in parallel can build it elsewhere (npx vite build web --outDir DIR).
    ...(process.env.ELEVATE_TEST_PORTAL_DIR ? { portalDir: process.env.ELEVATE_TEST_PORTAL_DIR } : {}),
    ...opts.server,
  });
  return Object.assign(e, {
    clock,
    store: s.store,
    call: injectCall(e.app),
    async cleanup() {
      await e.close();
      await s.cleanup();
    },
  });
}

/**
 * A signed-in browser session for a principal (as after a password sign-in), for calls that must come
 * from a session (managing MFA factors). Pass the returned secret to `call` like a token.
 */
export async function sessionFor(s: TestServer, principalId: string): Promise<string> {
  const secret = 'els_' + randomBytes(32).toString('base64url');
  const now = s.clock.now();
  await s.store.transaction((tx) =>
    s.store.sessions.insert(tx, {
      id: sessionIdOf(secret), principalId, createdAt: now, lastSeenAt: now, expiresAt: now + 12 * 3_600_000, revokedAt: null,
      facts: { signIn: 'password', issuer: null, subject: null, groups: [], amr: ['pwd'], acr: null, deviceCompliant: null, signInRisk: null }, mfa: [],
    }),
  );
  return secret;
}

/** Create a principal and return a token for it. */
export async function user(s: TestServer, id: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await s.call('POST', '/api/v1/principals', ADMIN_TOKEN, { id, kind: 'user', name: id, ...extra });
  if (r.status !== 201) throw new Error(`create ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  const t = await s.call('POST', `/api/v1/principals/${id}/tokens`, ADMIN_TOKEN, {});
  if (t.status !== 201) throw new Error(`token ${id}: ${t.status}`);
  return t.body.token as string;
}
