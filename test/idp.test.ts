// Self-test of the end-to-end helpers: a real OIDC provider (test/helpers/idp.ts) and real
// Chromium (test/helpers/browser.ts), with a tiny openid-client relying party in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { startIdp, type TestIdp } from './helpers/idp.js';
import { BROWSER_SKIP, addVirtualAuthenticator, idpSignIn, launchBrowser } from './helpers/browser.js';

const CLIENT_ID = 'elevate-test';
const CLIENT_SECRET = 'elevate-test-secret-0123456789abcdef';

interface Rp {
  base: string;
  server: Server;
  /** ID token claims (and raw token) per completed sign-in, keyed by the `state` used. */
  results: Map<string, { claims: Record<string, unknown>; idToken: string }>;
  use(config: client.Configuration): void;
}

/** A minimal relying party: GET /login starts code+PKCE, GET /callback redeems the code. */
async function startRp(): Promise<Rp> {
  let config: client.Configuration | undefined;
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const results: Rp['results'] = new Map();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/login' && config) {
        const verifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        pending.set(state, { verifier, nonce });
        const location = client.buildAuthorizationUrl(config, {
          redirect_uri: `${base}/callback`,
          scope: 'openid email profile',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        res.writeHead(302, { location: location.href }).end();
        return;
      }
      if (url.pathname === '/callback' && config) {
        const state = url.searchParams.get('state') ?? '';
        const checks = pending.get(state);
        pending.delete(state);
        if (!checks) {
          res.writeHead(400).end('unknown state');
          return;
        }
        const tokens = await client.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: checks.verifier,
          expectedState: state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        assert.ok(claims && tokens.id_token);
        results.set(state, { claims: { ...claims }, idToken: tokens.id_token });
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><title>signed in</title><p id="sub">${claims.sub}</p><p id="state">${state}</p>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>rp</title><p>rp</p>');
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://localhost:${(server.address() as AddressInfo).port}`;
  return { base, server, results, use: (c) => (config = c) };
}

function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  assert.ok(part);
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function signIn(browser: Browser, rp: Rp, username: string): Promise<{ claims: Record<string, unknown>; idToken: string }> {
  // A fresh context per sign-in: no IdP session cookie carries over between users.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${rp.base}/login`);
    assert.match(page.url(), /\/interaction\//, 'the RP redirected to the IdP login form');
    await idpSignIn(page, username);
    assert.equal(new URL(page.url()).origin, rp.base);
    assert.equal(new URL(page.url()).pathname, '/callback');
    assert.equal(await page.locator('#sub').textContent(), username);
    const state = await page.locator('#state').textContent();
    const result = rp.results.get(state ?? '');
    assert.ok(result, 'the RP redeemed the code');
    return result;
  } finally {
    await context.close();
  }
}

test('test IdP + Chromium: authorization code + PKCE sign-in carries the configured claims', { skip: BROWSER_SKIP }, async (t) => {
  const rp = await startRp();
  let idp: TestIdp | undefined;
  let browser: Browser | undefined;
  try {
    idp = await startIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${rp.base}/callback`] });
    assert.match(idp.issuer, /^http:\/\/localhost:\d+$/);
    idp.setUser('alice', {
      email: 'alice@example.com',
      name: 'Alice Admin',
      preferred_username: 'alice',
      groups: ['sre', 'db-admins'],
      amr: ['pwd', 'hwk', 'mfa'],
      acr: 'urn:elevate:acr:phishing-resistant',
      device_compliant: true,
      signin_risk: 'low',
    });
    idp.setUser('bob', {
      email: 'bob@example.com',
      groups: [],
      amr: ['pwd'],
      acr: 'urn:elevate:acr:password',
      device_compliant: false,
      signin_risk: 'high',
    });
    assert.throws(() => idp?.setUser('eve', { not_registered: 1 }), /not registered/);

    const basic = await client.discovery(new URL(idp.issuer), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), {
      execute: [client.allowInsecureRequests],
    });
    assert.equal(basic.serverMetadata().issuer, idp.issuer);
    browser = await launchBrowser();

    await t.test('client_secret_basic: alice', async () => {
      rp.use(basic);
      const { claims, idToken } = await signIn(browser!, rp, 'alice');
      const raw = decodePayload(idToken); // straight from the ID token, not UserInfo
      for (const c of [claims, raw]) {
        assert.equal(c.iss, idp!.issuer);
        assert.equal(c.aud, CLIENT_ID);
        assert.equal(c.sub, 'alice');
        assert.equal(c.email, 'alice@example.com');
        assert.equal(c.name, 'Alice Admin');
        assert.equal(c.preferred_username, 'alice');
        assert.deepEqual(c.groups, ['sre', 'db-admins']);
        assert.deepEqual(c.amr, ['pwd', 'hwk', 'mfa']);
        assert.equal(c.acr, 'urn:elevate:acr:phishing-resistant');
        assert.equal(c.device_compliant, true);
        assert.equal(c.signin_risk, 'low');
        assert.equal(typeof c.auth_time, 'number');
      }
    });

    await t.test('client_secret_post: bob, with different acr/amr and posture', async () => {
      const post = await client.discovery(new URL(idp!.issuer), CLIENT_ID, undefined, client.ClientSecretPost(CLIENT_SECRET), {
        execute: [client.allowInsecureRequests],
      });
      rp.use(post);
      const { idToken } = await signIn(browser!, rp, 'bob');
      const c = decodePayload(idToken);
      assert.equal(c.sub, 'bob');
      assert.deepEqual(c.groups, []);
      assert.deepEqual(c.amr, ['pwd']);
      assert.equal(c.acr, 'urn:elevate:acr:password');
      assert.equal(c.device_compliant, false);
      assert.equal(c.signin_risk, 'high');
    });

    await t.test('PKCE is required, and only S256', async () => {
      const auth = new URL(basic.serverMetadata().authorization_endpoint!);
      for (const [k, v] of Object.entries({ client_id: CLIENT_ID, response_type: 'code', scope: 'openid', redirect_uri: `${rp.base}/callback`, state: 's' })) {
        auth.searchParams.set(k, v);
      }
      const noPkce = await fetch(auth, { redirect: 'manual' });
      assert.match(noPkce.headers.get('location') ?? '', /error=invalid_request&error_description=Authorization\+Server\+policy\+requires\+PKCE/);
      auth.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
      auth.searchParams.set('code_challenge_method', 'plain');
      const plain = await fetch(auth, { redirect: 'manual' });
      assert.match(plain.headers.get('location') ?? '', /error=invalid_request/);
    });

    await t.test('an unknown login still signs in, with only protocol claims', async () => {
      rp.use(basic);
      const { idToken } = await signIn(browser!, rp, 'nobody');
      const c = decodePayload(idToken);
      assert.equal(c.sub, 'nobody');
      assert.equal(c.email, undefined);
      assert.equal(c.groups, undefined);
      assert.equal(c.amr, undefined);
      assert.equal(c.acr, undefined);
    });

    await t.test('a virtual WebAuthn authenticator registers a credential on a localhost page', async () => {
      const context = await browser!.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${rp.base}/`);
        const authenticator = await addVirtualAuthenticator(page);
        assert.ok(authenticator.authenticatorId.length > 0);
        assert.deepEqual(await authenticator.credentials(), []);
        const id = await page.evaluate(async () => {
          const cred = (await navigator.credentials.create({
            publicKey: {
              rp: { id: 'localhost', name: 'Elevate test' },
              user: { id: new Uint8Array([1, 2, 3, 4]), name: 'alice', displayName: 'Alice' },
              challenge: new Uint8Array(32),
              pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
              authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
            },
          })) as PublicKeyCredential | null;
          return cred?.id ?? null;
        });
        assert.ok(id);
        const creds = await authenticator.credentials();
        assert.equal(creds.length, 1);
        assert.equal(creds[0]?.rpId, 'localhost');
        assert.equal(creds[0]?.isResidentCredential, true);
        await authenticator.remove();
      } finally {
        await context.close();
      }
    });
  } finally {
    await browser?.close();
    await idp?.close();
    await new Promise<void>((resolve) => {
      rp.server.close(() => resolve());
      rp.server.closeAllConnections();
    });
  }
});
