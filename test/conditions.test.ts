import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, BACKENDS, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Role conditions through the real request path: facts come from the session's sign-in (the IdP's
 * claims), the client address through trusted proxies only. Each failing condition is its own
 * reason code in the 403 and in the audit trail; tokens carry no facts, so they are denied.
 */
const POLICY = { issuer: 'https://idp.example.test', claims: { groups: 'groups', device: 'device_compliant', risk: 'signin_risk', link: 'sub' }, autoProvision: false };
const JUST = 'investigating INC-4242 replication lag';

for (const b of BACKENDS) {
  describe(`role conditions (${b.name})`, { skip: b.skip }, () => {
    let s: TestServer;
    let aliceToken: string;

    before(async () => {
      s = await startServer(b.name, { server: { trustedProxies: ['127.0.0.1/32', '::1/128'] } });
      aliceToken = await user(s, 'alice');
      const role = await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, {
        id: 'db-admin', riskTier: 'high',
        settings: { conditions: { deviceCompliant: true, maxSignInRisk: 'low', networks: ['10.0.0.0/8', '2001:db8::/32'] } },
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      assert.deepEqual(role.body.settings.conditions, { deviceCompliant: true, maxSignInRisk: 'low', networks: ['10.0.0.0/8', '2001:db8::/32'] });
      const e = await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: 'db-admin', scope: '/prod', endsAt: null, justification: 'on-call rota' });
      assert.equal(e.status, 201);
      await s.call('POST', '/api/v1/principals/alice/identities', ADMIN_TOKEN, { issuer: POLICY.issuer, subject: 'sub-alice' });
    });
    after(() => s.cleanup());

    async function signIn(claims: Record<string, unknown>) {
      const r = await s.uc.sessions.oidcSignIn({ sub: 'sub-alice', ...claims }, POLICY, { ip: '10.0.0.1', userAgent: 'test' });
      return { cookie: `elevate_session=${r.secret}`, csrf: (await s.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `elevate_session=${r.secret}` } })).json().csrfToken as string };
    }

    async function activate(claims: Record<string, unknown> | null, from: string) {
      const headers: Record<string, string> = { 'x-forwarded-for': from };
      if (claims) {
        const { cookie, csrf } = await signIn(claims);
        Object.assign(headers, { cookie, 'x-csrf-token': csrf });
      } else {
        headers.authorization = `Bearer ${aliceToken}`;
      }
      const res = await s.app.inject({ method: 'POST', url: '/api/v1/requests', headers, payload: { roleId: 'db-admin', scope: '/prod/orders', duration: 'PT30M', justification: JUST } });
      const body = res.json();
      if (res.statusCode === 201 || res.statusCode === 200) {
        // Leave no grant behind for the next case.
        await s.call('POST', `/api/v1/assignments/${body.assignment?.id ?? body.request?.assignmentId ?? body.assignmentId}/revoke`, ADMIN_TOKEN, { reason: 'test cleanup' });
      }
      return { status: res.statusCode, code: body.error?.code as string | undefined, reasons: (body.error?.details?.reasons ?? []) as string[], message: body.error?.message as string | undefined };
    }

    const good = { device_compliant: true, signin_risk: 'low' };

    it('every condition met: granted', async () => {
      const r = await activate(good, '10.20.30.40');
      assert.ok(r.status < 300, JSON.stringify(r));
    });
    it('device not compliant', async () => {
      assert.deepEqual((await activate({ ...good, device_compliant: false }, '10.20.30.40')).reasons, ['device_not_compliant']);
    });
    it('device claim missing: denied by default', async () => {
      assert.deepEqual((await activate({ signin_risk: 'low' }, '10.20.30.40')).reasons, ['device_compliance_unknown']);
    });
    it('sign-in risk too high; unknown risk values deny', async () => {
      assert.deepEqual((await activate({ ...good, signin_risk: 'medium' }, '10.20.30.40')).reasons, ['sign_in_risk_too_high']);
      assert.deepEqual((await activate({ ...good, signin_risk: 'spicy' }, '10.20.30.40')).reasons, ['sign_in_risk_unknown']);
    });
    it('network outside the allowed ranges (IPv4 and IPv6)', async () => {
      const r = await activate(good, '192.0.2.7');
      assert.equal(r.status, 403);
      assert.equal(r.code, 'network_not_allowed');
      assert.match(r.message!, /To fix: network_not_allowed/);
      assert.ok((await activate(good, '2001:db8::5')).status < 300);
      assert.deepEqual((await activate(good, '2001:db9::5')).reasons, ['network_not_allowed']);
    });
    it('an API token carries no device or risk facts: denied for both', async () => {
      assert.deepEqual((await activate(null, '10.1.1.1')).reasons, ['device_compliance_unknown', 'sign_in_risk_unknown']);
    });
    it('every denial is in the audit trail with its reasons', async () => {
      const a = await s.call('GET', '/api/v1/audit?type=request.denied&limit=100', ADMIN_TOKEN);
      const reasons = new Set(a.body.items.flatMap((e: { reasons: string[] }) => e.reasons));
      for (const r of ['device_not_compliant', 'device_compliance_unknown', 'sign_in_risk_too_high', 'sign_in_risk_unknown', 'network_not_allowed']) assert.ok(reasons.has(r), r);
    });
  });
}

describe('client address through trusted proxies only', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('sqlite');
  });
  after(() => s.cleanup());

  it('with no trusted proxy, X-Forwarded-For is ignored: the socket address decides', async () => {
    await user(s, 'bob');
    await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'vpn-only', riskTier: 'low', settings: { justification: { required: false }, conditions: { networks: ['10.0.0.0/8'] } } });
    await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'bob', roleId: 'vpn-only', scope: '/', endsAt: null, justification: 'on-call rota' });
    const t = await s.call('POST', '/api/v1/principals/bob/tokens', ADMIN_TOKEN, {});
    const res = await s.call('POST', '/api/v1/requests', t.body.token, { roleId: 'vpn-only', scope: '/', duration: 'PT30M' }, { 'x-forwarded-for': '10.1.2.3' });
    assert.equal(res.status, 403);
    assert.deepEqual(res.body.error.details.reasons, ['network_not_allowed']);
  });
});

describe('first IdP sign-in linked through a SCIM externalId', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('sqlite');
    await user(s, 'dana');
    await s.store.transaction(async (tx) => {
      await s.store.identities.link(tx, 'scim_external', 'ext-dana', 'dana', s.clock.now());
      await s.store.identities.link(tx, 'scim_external', 'ext-admin', 'admin', s.clock.now());
    });
  });
  after(() => s.cleanup());
  const meta = { ip: null, userAgent: null };
  const refusal = (p: Promise<unknown>) => p.then(() => 'signed in', (e: { code?: string }) => e.code ?? String(e));

  it('links a provisioned person on first sign-in, then finds them by issuer and subject', async () => {
    const first = await s.uc.sessions.oidcSignIn({ sub: 'ext-dana' }, POLICY, meta);
    assert.equal(first.principal.id, 'dana');
    const ids = await s.call('GET', '/api/v1/principals/dana/identities', ADMIN_TOKEN);
    assert.ok(ids.body.items.some((i: { kind: string; key: string }) => i.kind === 'oidc' && i.key === `${POLICY.issuer}#ext-dana`));
  });
  it('refuses to link an administrator or an account that already signs in through an IdP', async () => {
    assert.equal(await refusal(s.uc.sessions.oidcSignIn({ sub: 'ext-admin' }, POLICY, meta)), 'not_provisioned');
    // Another IdP subject that presents dana's externalId (e.g. a second IdP account) does not take her over.
    assert.equal(await refusal(s.uc.sessions.oidcSignIn({ sub: 'someone-else', oid: 'ext-dana' }, { ...POLICY, claims: { ...POLICY.claims, link: 'oid' } }, meta)), 'not_provisioned');
    const ev = await s.call('GET', '/api/v1/audit?type=auth.login_failed', ADMIN_TOKEN);
    const reasons = ev.body.items.flatMap((e: { reasons: string[] }) => e.reasons);
    assert.ok(reasons.includes('link_refused_admin'));
    assert.ok(reasons.includes('already_linked'));
  });
});

describe('first IdP sign-in with auto-provisioning', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer('sqlite');
    await user(s, 'taken');
  });
  after(() => s.cleanup());
  const meta = { ip: null, userAgent: null };
  const policy = { ...POLICY, autoProvision: true };

  it('creates the principal through the directory: named after the IdP user name, audited, signed in', async () => {
    const r = await s.uc.sessions.oidcSignIn({ sub: 'sub-hana', preferred_username: 'Hana', name: 'Hana Hirano', email: 'hana@example.test' }, policy, meta);
    assert.equal(r.principal.id, 'hana');
    const p = await s.call('GET', '/api/v1/principals/hana', ADMIN_TOKEN);
    assert.deepEqual([p.body.name, p.body.email, p.body.status], ['Hana Hirano', 'hana@example.test', 'active']);
    const ev = await s.call('GET', '/api/v1/audit?type=principal.created&principal=hana', ADMIN_TOKEN);
    assert.equal(ev.body.items.length, 1);
    assert.equal(ev.body.items[0].data.via, 'oidc');
    // Next time the same subject finds the same principal.
    assert.equal((await s.uc.sessions.oidcSignIn({ sub: 'sub-hana', preferred_username: 'someone-else' }, policy, meta)).principal.id, 'hana');
  });

  it('never takes an id the audit trail uses for non-people, nor one already taken', async () => {
    const sys = await s.uc.sessions.oidcSignIn({ sub: 'sub-sys', preferred_username: 'system' }, policy, meta);
    assert.match(sys.principal.id, /^u-[0-9a-f]{12}$/);
    const dup = await s.uc.sessions.oidcSignIn({ sub: 'sub-taken', preferred_username: 'taken' }, policy, meta);
    assert.match(dup.principal.id, /^u-[0-9a-f]{12}$/);
  });
});
