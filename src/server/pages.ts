import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The few pages the server renders itself until the portal exists: the step-up confirmation a CLI
 * user opens. Scripts are files (no inline script), so a strict Content-Security-Policy holds.
 */
const webauthnBrowser = readFileSync(new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser')), 'utf8');
const stepupJs = readFileSync(new URL('../../assets/stepup.js', import.meta.url), 'utf8');
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STEPUP_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Elevate: confirm step-up</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}label{display:block;margin-top:1rem}input{font-size:1.1rem;padding:.3rem;width:100%;box-sizing:border-box}button{margin-top:1rem;font-size:1.1rem;padding:.4rem 1rem}</style>
</head><body>
<h1>Confirm it is you</h1>
<p>Your command line asked to act with your MFA. Check that the code below is the one it shows, then verify.</p>
<p id="who">Checking your session…</p>
<form id="login" hidden>
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<form id="form" hidden>
<label for="code">Code shown by the CLI</label><input id="code" name="code" autocomplete="off" required>
<p id="origin" role="note"></p>
<label for="totp">Authenticator code (leave empty to use your passkey)</label><input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code">
<button type="submit">Verify and confirm</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<script src="/assets/simplewebauthn-browser.js"></script><script src="/assets/stepup.js"></script>
</body></html>`;

export function pageRoutes(app: FastifyInstance): void {
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' };
  app.get('/stepup', { schema: { hide: true } }, async (_req, reply) => reply.headers(headers).type('text/html; charset=utf-8').send(STEPUP_HTML));
  app.get('/assets/stepup.js', { schema: { hide: true } }, async (_req, reply) => reply.headers(headers).type('text/javascript; charset=utf-8').send(stepupJs));
  app.get('/assets/simplewebauthn-browser.js', { schema: { hide: true } }, async (_req, reply) => reply.headers(headers).type('text/javascript; charset=utf-8').send(webauthnBrowser));
}
