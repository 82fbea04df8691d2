import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * The server side of the portal, without a browser: the built app at `/` with an SPA fallback and
 * strict headers, what stays the API's, the missing-build answer, and the small reads the portal
 * needs (GET /auth/config, the server's time in GET /me, the approvals inbox for admins too).
 */
const JUST = 'Investigating INC-1234 replication lag';

describe('portal serving', () => {
  let s: TestServer;
  let missing: TestServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'elevate-portal-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Elevate</title><div id="root"></div><script type="module" src="/assets/app-1.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("portal")');
    s = await startServer('sqlite', { server: { portalDir: dir } });
    missing = await startServer('sqlite', { server: { portalDir: join(dir, 'not-there') } });
  });
  after(async () => {
    await s?.cleanup();
    await missing?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (srv: TestServer, url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET') => srv.app.inject({ method, url });

  test('/ and app paths answer index.html with a strict Content-Security-Policy', async () => {
    for (const url of ['/', '/requests', '/approvals?x=1', '/some/deep/path']) {
      const r = await get(s, url);
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), /^text\/html/, url);
      assert.match(r.body, /<div id="root">/, url);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    assert.equal((await get(s, '/', 'HEAD')).statusCode, 200);
  });

  test('bundles are served from /assets/ with nosniff and a long cache; a missing one is a 404', async () => {
    const r = await get(s, '/assets/app-1.js');
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /javascript/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(String(r.headers['cache-control']), /immutable/);
    const gone = await get(s, '/assets/app-0.js');
    assert.equal(gone.statusCode, 404);
    assert.equal(JSON.parse(gone.body).error.code, 'not_found');
    assert.equal((await get(s, '/assets/..%2Findex.html')).statusCode >= 400, true);
  });

  test('the API, sign-in, SCIM and the server pages keep their own answers', async () => {
    const api = await get(s, '/api/v1/nothing-here');
    assert.equal(api.statusCode, 404);
    assert.equal(JSON.parse(api.body).error.code, 'not_found');
    const auth = await get(s, '/auth/nothing');
    assert.equal(auth.statusCode, 404);
    assert.equal(JSON.parse(auth.body).error.code, 'not_found');
    const scim = await get(s, '/scim/v2/Nothing');
    assert.equal(scim.statusCode, 401); // SCIM authenticates before routing its own 404s
    assert.match(String(scim.headers['content-type']), /scim\+json/);
    assert.equal((await get(s, '/healthz')).statusCode, 200);
    const stepup = await get(s, '/stepup');
    assert.match(stepup.body, /Confirm it is you/);
    assert.equal((await get(s, '/assets/stepup.js')).statusCode, 200);
    const post = await get(s, '/requests', 'POST');
    assert.equal(post.statusCode, 404);
    assert.equal(JSON.parse(post.body).error.code, 'not_found');
    const me = await get(s, '/api/v1/me');
    assert.equal(me.statusCode, 401);
  });

  test('without a build, / says so (and the API still works)', async () => {
    const r = await get(missing, '/');
    assert.equal(r.statusCode, 404);
    assert.equal(JSON.parse(r.body).error.code, 'portal_not_built');
    assert.equal((await get(missing, '/healthz')).statusCode, 200);
    assert.equal(JSON.parse((await get(missing, '/api/v1/nope')).body).error.code, 'not_found');
  });

  test('GET /auth/config tells the sign-in page whether an identity provider is configured', async () => {
    const r = await get(s, '/auth/config');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(JSON.parse(r.body), { oidc: false });
    const withIdp = await startServer('sqlite', {
      server: {
        portalDir: dir,
        oidc: {
          issuer: 'http://127.0.0.1:9/unused', clientId: 'elevate', clientSecret: 'secret', scopes: 'openid', redirectUri: 'http://localhost:8080/auth/oidc/callback',
          claims: { groups: 'groups', device: 'device_compliant', risk: 'signin_risk', link: 'sub' }, autoProvision: false,
        },
      },
    });
    try {
      assert.deepEqual(JSON.parse((await get(withIdp, '/auth/config')).body), { oidc: true });
    } finally {
      await withIdp.cleanup();
    }
  });

  test("GET /me carries the server's time (countdowns run on it)", async () => {
    s.clock.advance(12_345);
    const me = await s.call('GET', '/api/v1/me', ADMIN_TOKEN);
    assert.equal(me.body.serverTime, new Date(s.clock.now()).toISOString());
  });

  test('the approvals inbox (approvable=true) lists what the caller may decide, for admins too: never their own', async () => {
    const bob = await user(s, 'bob');
    const carol = await user(s, 'carol');
    assert.equal((await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'by-admin', riskTier: 'high', settings: { approval: { required: true, approvers: [{ principal: 'admin' }, { principal: 'bob' }] } } })).status, 201);
    assert.equal((await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'by-carol', riskTier: 'high', settings: { approval: { required: true, approvers: [{ principal: 'carol' }] } } })).status, 201);
    for (const [p, r] of [['bob', 'by-admin'], ['admin', 'by-admin'], ['bob', 'by-carol']]) {
      const e = await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: p, roleId: r, scope: '/', endsAt: null, justification: 'test setup' });
      assert.equal(e.status, 201, JSON.stringify(e.body));
    }
    const ask = (token: string, roleId: string) => s.call('POST', '/api/v1/requests', token, { roleId, scope: '/prod', duration: 'PT30M', justification: JUST });
    const bobs = await ask(bob, 'by-admin');
    const admins = await ask(ADMIN_TOKEN, 'by-admin');
    const forCarol = await ask(bob, 'by-carol');
    for (const r of [bobs, admins, forCarol]) assert.equal(r.body.status, 'pending_approval', JSON.stringify(r.body));

    const ids = async (token: string, q = 'status=pending_approval&approvable=true') => (await s.call('GET', `/api/v1/requests?${q}`, token)).body.items.map((r: any) => r.id).sort();
    assert.deepEqual(await ids(ADMIN_TOKEN), [bobs.body.id], 'not the admin\'s own request, not one for carol to decide');
    assert.deepEqual(await ids(ADMIN_TOKEN, 'approvable=true'), [bobs.body.id]);
    assert.deepEqual(await ids(ADMIN_TOKEN, 'approvable=true&status=active'), []);
    assert.deepEqual(await ids(bob), [admins.body.id]);
    assert.deepEqual(await ids(carol), [forCarol.body.id]);
    assert.deepEqual(await ids(carol, 'approvable=true&role=by-admin'), []);
    // Without approvable, an admin still lists every pending request.
    assert.equal((await ids(ADMIN_TOKEN, 'status=pending_approval')).length, 3);
  });

  test('any signed-in principal reads a role with its settings (the activate dialog explains them)', async () => {
    const bob = await user(s, 'dora');
    const r = await s.call('GET', '/api/v1/roles/by-admin', bob);
    assert.equal(r.status, 200);
    assert.equal(r.body.settings.approval.required, true);
    assert.equal(r.body.settings.maxActivation, 'PT1H');
  });
});
