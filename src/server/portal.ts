import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { NotFoundFallback } from './errors.js';

export type PortalFallback = NotFoundFallback;

/**
 * The portal: the React app built by `npm run build` into dist/web (web/vite.config.ts), served at
 * `/`. Hashed bundles live under /assets/; every other GET that is not the API, sign-in, SCIM or a
 * server-rendered page gets index.html, and the app routes in the browser. The app only calls the
 * JSON API; it has no inline script, so the Content-Security-Policy allows scripts from this origin only.
 */
export const DEFAULT_PORTAL_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PORTAL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Paths the portal never answers for: they belong to the API and the server's own pages. */
const NOT_PORTAL = [/^\/api(\/|$)/, /^\/auth(\/|$)/, /^\/scim(\/|$)/, /^\/stepup(\/|$|\?)/, /^\/healthz(\/|$)/, /^\/assets\//];

/**
 * Serve the hashed bundles under /assets/ and return the fallback the not-found handler calls: for
 * a GET outside the API and the server's pages it answers index.html (the app routes in the
 * browser), or 404 portal_not_built when dist/web is missing; otherwise null (a plain 404).
 */
export async function portalRoutes(app: FastifyInstance, dir: string = DEFAULT_PORTAL_DIR): Promise<PortalFallback> {
  const root = dir.endsWith('/') ? dir : `${dir}/`;
  const indexFile = join(root, 'index.html');
  // Hashed bundles: cacheable for a year; a rebuild changes their names. A miss is a plain 404.
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    dotfiles: 'deny',
    maxAge: '365d',
    immutable: true,
    setHeaders: (reply) => {
      void reply.headers(SECURITY_HEADERS);
    },
  });

  return (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    const path = req.url.split('?')[0] ?? '/';
    if (NOT_PORTAL.some((re) => re.test(path))) return null;
    if (!existsSync(indexFile)) {
      return reply.status(404).send({ error: { code: 'portal_not_built', message: 'the web portal is not built: run `npm run build` (the API works without it)', details: {} } });
    }
    void reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
    return reply.sendFile('index.html', root, { cacheControl: false });
  };
}
