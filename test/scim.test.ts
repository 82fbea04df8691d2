import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import type { Store } from '../src/app/ports.js';
import { ManualClock } from '../src/core/clock.js';
import { buildServer, type Elevate } from '../src/server/app.js';
import { ADMIN_TOKEN, BACKENDS, freshStore, injectCall, T0, testSigner } from './helpers/harness.js';

const SCIM_TOKEN = 'scim-env-' + 'k'.repeat(40);
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCIM_JSON = { 'content-type': 'application/scim+json' };

interface ScimServer extends Elevate {
  clock: ManualClock;
  store: Store;
  call(method: InjectOptions['method'], url: string, token: string | null, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  cleanup(): Promise<void>;
}

/** The harness's server, with ELEVATE_SCIM_TOKEN configured. */
async function startScimServer(backend: 'sqlite' | 'postgres'): Promise<ScimServer> {
  const clock = new ManualClock(T0);
  const s = await freshStore(backend);
  const e = await buildServer({
    store: s.store,
    clock,
    signer: testSigner(),
    limits: { minActivationMs: 60_000, maxScheduleAheadMs: 30 * 86_400_000 },
    bootstrapToken: ADMIN_TOKEN,
    scimToken: SCIM_TOKEN,
    jobs: false,
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

const patchOp = (...ops: unknown[]) => ({ schemas: [PATCH], Operations: ops });

for (const backend of BACKENDS) {
  describe(`SCIM 2.0 on ${backend.name}`, { skip: backend.skip }, () => {
    let s: ScimServer;
    const A = ADMIN_TOKEN;
    const scim = (method: InjectOptions['method'], path: string, body?: unknown, token: string = SCIM_TOKEN) => s.call(method, `/scim/v2${path}`, token, body, body !== undefined ? SCIM_JSON : {});
    const check = (principal: string, role: string, scope: string) =>
      s.call('GET', `/api/v1/check?principal=${encodeURIComponent(principal)}&role=${role}&scope=${encodeURIComponent(scope)}`, A);
    const isScimError = (r: { status: number; body: any }, status: number, scimType?: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.deepEqual(r.body.schemas, [ERROR]);
      assert.equal(r.body.status, String(status));
      if (scimType) assert.equal(r.body.scimType, scimType, JSON.stringify(r.body));
      assert.equal(typeof r.body.detail, 'string');
    };
    const newUser = async (userName: string, extra: Record<string, unknown> = {}) => {
      const r = await scim('POST', '/Users', { schemas: [USER], userName, active: true, ...extra });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body;
    };

    before(async () => {
      s = await startScimServer(backend.name);
      const roles = [
        { id: 'ops', riskTier: 'low', settings: { maxActivation: 'PT2H', mfa: 'none' } },
        { id: 'gated', riskTier: 'medium', settings: { approval: { required: true, approvers: [{ principal: 'admin' }], minApprovals: 1 } } },
      ];
      for (const r of roles) assert.equal((await s.call('POST', '/api/v1/roles', A, r)).status, 201, r.id);
    });
    after(async () => s?.cleanup());

    test('discovery documents, in application/scim+json', async () => {
      const spc = await scim('GET', '/ServiceProviderConfig');
      assert.equal(spc.status, 200);
      assert.match(String(spc.headers['content-type']), /^application\/scim\+json/);
      assert.equal(spc.body.patch.supported, true);
      assert.equal(spc.body.bulk.supported, false);
      assert.equal(spc.body.etag.supported, false);
      assert.deepEqual(spc.body.filter, { supported: true, maxResults: 200 });
      assert.equal(spc.body.authenticationSchemes[0].type, 'oauthbearertoken');
      const rt = await scim('GET', '/ResourceTypes');
      assert.deepEqual(rt.body.Resources.map((r: any) => r.endpoint), ['/Users', '/Groups']);
      const schemas = await scim('GET', '/Schemas');
      assert.ok(schemas.body.Resources.some((x: any) => x.id === USER && x.attributes.some((a: any) => a.name === 'userName' && a.uniqueness === 'server')));
      assert.equal((await scim('GET', `/Schemas/${GROUP}`)).body.name, 'Group');
      isScimError(await scim('GET', '/Nope'), 404);
    });

    test('only a SCIM token opens /scim/v2, and a SCIM token opens nothing else', async () => {
      isScimError(await s.call('GET', '/scim/v2/Users', null), 401);
      isScimError(await s.call('GET', '/scim/v2/Users', 'scim_' + 'x'.repeat(43)), 401);
      isScimError(await s.call('GET', '/scim/v2/Users', SCIM_TOKEN + 'x'), 401);
      isScimError(await s.call('GET', '/scim/v2/Users', null, undefined, { authorization: `Basic ${SCIM_TOKEN}` }), 401);
      // An API token, even the administrator's, is not a SCIM token.
      isScimError(await s.call('GET', '/scim/v2/Users', A), 401);
      // And the SCIM token is not an API token.
      assert.equal((await s.call('GET', '/api/v1/roles', SCIM_TOKEN)).status, 401);
      assert.equal((await s.call('GET', '/api/v1/check?principal=admin&role=elevate-admin&scope=/', SCIM_TOKEN)).status, 401);
      assert.equal((await s.call('GET', '/scim/v2/Users', SCIM_TOKEN)).status, 200);
    });

    test('create a user: the id is the normalized userName, the rest maps onto the principal', async () => {
      const manager = await newUser('dave@example.com', { displayName: 'Dave', emails: [{ value: 'dave@example.com', type: 'work' }] });
      const r = await s.call(
        'POST',
        '/scim/v2/Users',
        SCIM_TOKEN,
        JSON.stringify({
          schemas: [USER, ENTERPRISE],
          userName: 'Alice@Example.com',
          externalId: 'ext-alice',
          name: { givenName: 'Alice', familyName: 'Archer' },
          emails: [{ value: 'alice.home@example.org', type: 'home' }, { value: 'Alice@Example.com', type: 'work', primary: true }],
          active: true,
          [ENTERPRISE]: { manager: { value: manager.id } },
        }),
        { 'content-type': 'application/scim+json; charset=utf-8' },
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
      assert.equal(r.body.id, 'alice@example.com');
      assert.equal(r.headers.location, `http://localhost:8080/scim/v2/Users/${encodeURIComponent('alice@example.com')}`);
      assert.equal(r.body.userName, 'Alice@Example.com');
      assert.equal(r.body.externalId, 'ext-alice');
      assert.equal(r.body.displayName, 'Alice Archer');
      assert.deepEqual(r.body.name, { givenName: 'Alice', familyName: 'Archer' });
      assert.deepEqual(r.body.emails, [{ value: 'alice@example.com', type: 'work', primary: true }]);
      assert.equal(r.body.active, true);
      assert.equal(r.body[ENTERPRISE].manager.value, 'dave@example.com');
      assert.deepEqual(Object.keys(r.body.meta).sort(), ['created', 'lastModified', 'location', 'resourceType', 'version']);
      assert.equal(r.body.meta.resourceType, 'User');
      const p = await s.call('GET', `/api/v1/principals/${encodeURIComponent('alice@example.com')}`, A);
      assert.equal(p.body.kind, 'user');
      assert.equal(p.body.name, 'Alice Archer');
      assert.equal(p.body.email, 'alice@example.com');
      assert.equal(p.body.managerId, 'dave@example.com');
      // Audited like an admin change, by the SCIM caller.
      const ev = await s.call('GET', `/api/v1/audit?type=principal.created&principal=${encodeURIComponent('alice@example.com')}`, A);
      assert.equal(ev.body.items.length, 1);
      assert.equal(ev.body.items[0].actorId, 'scim');
      assert.equal(ev.body.items[0].data.via, 'scim');
      assert.equal(ev.body.items[0].data.auth.method, 'scim');
      assert.equal(ev.body.items[0].data.auth.tokenId, 'env');

      // A userName that is not a valid id, or whose id is taken by another kind of principal: a generated id.
      assert.equal((await s.call('POST', '/api/v1/principals', A, { id: 'ops-team', kind: 'group' })).status, 201);
      const taken = await newUser('ops-team');
      assert.match(taken.id, /^u-[0-9a-f-]{36}$/);
      const spaced = await newUser('Bob Builder', { displayName: 'Bob' });
      assert.equal(spaced.id, 'bobbuilder');
      assert.equal(spaced.userName, 'Bob Builder');
      // An unknown manager is left out, not refused.
      const orphan = await newUser('orphan', { [ENTERPRISE]: { manager: { value: 'nobody' } } });
      assert.equal(orphan[ENTERPRISE], undefined);
    });

    test('duplicates are 409 uniqueness; bad values are 400 invalidValue, never 500', async () => {
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'ALICE@example.COM' }), 409, 'uniqueness');
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'someone-else', externalId: 'ext-alice' }), 409, 'uniqueness');
      // An admin-created user answers to its id as a userName: the IdP finds it rather than duplicating it.
      assert.equal((await s.call('POST', '/api/v1/principals', A, { id: 'carol', kind: 'user' })).status, 201);
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'Carol' }), 409, 'uniqueness');
      const found = await scim('GET', '/Users?filter=' + encodeURIComponent('userName eq "carol"'));
      assert.equal(found.body.totalResults, 1);
      assert.equal(found.body.Resources[0].id, 'carol');

      isScimError(await scim('POST', '/Users', { schemas: [USER] }), 400, 'invalidValue');
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 42 }), 400, 'invalidValue');
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'x1', emails: [{ value: 'not-an-email' }] }), 400, 'invalidValue');
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'x1', active: 'maybe' }), 400, 'invalidValue');
      isScimError(await scim('POST', '/Users', { schemas: [USER], userName: 'x1', emails: 'a@b.c' }), 400, 'invalidValue');
      isScimError(await scim('POST', '/Users', [1, 2]), 400, 'invalidSyntax');
      isScimError(await s.call('POST', '/scim/v2/Users', SCIM_TOKEN, '{"userName": ', SCIM_JSON), 400, 'invalidSyntax');
      isScimError(await s.call('POST', '/scim/v2/Users', SCIM_TOKEN, '{"__proto__": {"x": 1}, "userName": "p"}', SCIM_JSON), 400);
      const deep = `{"userName": "deep", "name": ${'['.repeat(5000)}"x"${']'.repeat(5000)}}`;
      isScimError(await s.call('POST', '/scim/v2/Users', SCIM_TOKEN, deep, SCIM_JSON), 400);
      isScimError(await s.call('POST', '/scim/v2/Users', SCIM_TOKEN, 'userName=x', { 'content-type': 'text/plain' }), 400, 'invalidSyntax');
      isScimError(await s.call('POST', '/scim/v2/Users', SCIM_TOKEN, '<userName/>', { 'content-type': 'application/xml' }), 415);
      assert.equal((await scim('GET', '/Users?filter=' + encodeURIComponent('userName eq "x1"'))).body.totalResults, 0);
    });

    test('list: filters on userName and externalId (attribute names without case), pagination', async () => {
      const q = async (filter: string, extra = '') => scim('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);
      for (const f of ['userName eq "alice@example.com"', 'USERNAME EQ "ALICE@EXAMPLE.COM"', `${USER}:userName eq "Alice@Example.com"`, 'externalId eq "ext-alice"', 'id eq "alice@example.com"']) {
        const r = await q(f);
        assert.equal(r.status, 200, f);
        assert.deepEqual(r.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
        assert.equal(r.body.totalResults, 1, f);
        assert.equal(r.body.Resources[0].id, 'alice@example.com', f);
      }
      assert.equal((await q('externalId eq "EXT-ALICE"')).body.totalResults, 0, 'externalId is case-exact');
      assert.equal((await q('userName eq "nobody"')).body.totalResults, 0);
      const both = await q('userName sw "alice" or (emails.value co "dave" and active eq true)');
      assert.deepEqual(both.body.Resources.map((r: any) => r.id).sort(), ['alice@example.com', 'dave@example.com']);
      assert.deepEqual((await q('emails[type eq "work" and value ew "@example.com"]')).body.Resources.map((r: any) => r.id).sort(), ['alice@example.com', 'dave@example.com']);
      assert.equal((await q('not (userName pr)')).body.totalResults, 0);
      const some = await q('userName eq "alice@example.com"', '&attributes=userName');
      assert.deepEqual(Object.keys(some.body.Resources[0]).sort(), ['id', 'meta', 'schemas', 'userName']);

      const all = await scim('GET', '/Users');
      const total = all.body.totalResults;
      assert.ok(total >= 6);
      const page = await scim('GET', '/Users?startIndex=2&count=2');
      assert.equal(page.body.totalResults, total);
      assert.equal(page.body.startIndex, 2);
      assert.equal(page.body.itemsPerPage, 2);
      assert.deepEqual(page.body.Resources.map((r: any) => r.id), all.body.Resources.slice(1, 3).map((r: any) => r.id));
      assert.equal((await scim('GET', '/Users?count=0')).body.Resources.length, 0);
      assert.equal((await scim('GET', '/Users?startIndex=-5&count=1')).body.startIndex, 1);

      for (const bad of ['userName xx "a"', 'userName eq alice', 'userName eq "a', '(userName eq "a"', 'userName eq "a" and', 'eq "a"', 'userName[value eq "a"', 'a'.repeat(3000)]) {
        const r = await q(bad);
        assert.equal(r.status, 400, bad);
        assert.deepEqual(r.body.schemas, [ERROR]);
        if (bad.length < 2000) assert.equal(r.body.scimType, 'invalidFilter', bad);
      }
    });

    test('get by id; unknown ids and groups are not Users', async () => {
      const r = await scim('GET', '/Users/alice@example.com');
      assert.equal(r.status, 200);
      assert.equal(r.body.userName, 'Alice@Example.com');
      isScimError(await scim('GET', '/Users/nobody'), 404);
      isScimError(await scim('GET', '/Users/ops-team'), 404);
      isScimError(await scim('GET', '/Users/' + encodeURIComponent('Bad Id!')), 404);
    });

    test('PATCH, the Entra ID way: capitalized ops, string booleans, filtered paths, the enterprise manager', async () => {
      const r = await scim(
        'PATCH',
        '/Users/alice@example.com',
        patchOp(
          { op: 'Replace', path: 'displayName', value: 'Alice A.' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'alice.a@example.com' },
          { op: 'Add', path: 'name.givenName', value: 'Ally' },
          { op: 'Replace', path: 'active', value: 'True' },
          { op: 'Add', path: 'title', value: 'Engineer' },
          { op: 'Remove', path: `${ENTERPRISE}:manager` },
        ),
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.displayName, 'Alice A.');
      assert.deepEqual(r.body.emails, [{ value: 'alice.a@example.com', type: 'work', primary: true }]);
      assert.equal(r.body.name.givenName, 'Ally');
      assert.equal(r.body[ENTERPRISE], undefined);
      const p = await s.call('GET', `/api/v1/principals/${encodeURIComponent('alice@example.com')}`, A);
      assert.deepEqual([p.body.name, p.body.email, p.body.managerId, p.body.status], ['Alice A.', 'alice.a@example.com', null, 'active']);
      const m = await scim('PATCH', '/Users/alice@example.com', patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'dave@example.com' }));
      assert.equal(m.body[ENTERPRISE].manager.value, 'dave@example.com');
      // No-path value with dotted and URN-qualified names (Entra's "non-compliant" forms).
      const n = await scim('PATCH', '/Users/alice@example.com', patchOp({ op: 'Replace', value: { 'name.familyName': 'Archer-Smith', [`${USER}:displayName`]: 'Alice AS' } }));
      assert.equal(n.body.name.familyName, 'Archer-Smith');
      assert.equal(n.body.displayName, 'Alice AS');
    });

    test('PATCH, the Okta way: no path, an object value', async () => {
      const r = await scim('PATCH', '/Users/alice@example.com', patchOp({ op: 'replace', value: { displayName: 'Alice Okta', active: true, name: { familyName: 'Archer' } } }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.displayName, 'Alice Okta');
      assert.equal(r.body.name.familyName, 'Archer');
      assert.equal(r.body.name.givenName, 'Ally', 'a complex attribute merges its sub-attributes');
    });

    test('PATCH errors are SCIM errors and change nothing', async () => {
      const head = (await s.call('GET', '/api/v1/audit/verify', A)).body.events;
      const u = '/Users/alice@example.com';
      isScimError(await scim('PATCH', u, patchOp({ op: 'frobnicate', path: 'displayName', value: 'x' })), 400, 'invalidSyntax');
      isScimError(await scim('PATCH', u, { schemas: [PATCH] }), 400, 'invalidSyntax');
      isScimError(await scim('PATCH', u, { schemas: ['urn:nope'], Operations: [{ op: 'add', path: 'displayName', value: 'x' }] }), 400, 'invalidSyntax');
      isScimError(await scim('PATCH', u, patchOp({ op: 'remove' })), 400, 'noTarget');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', path: 'name[', value: 'x' })), 400, 'invalidPath');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', path: '__proto__.polluted', value: 'x' })), 400, 'invalidPath');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', path: 'id', value: 'mallory' })), 400, 'mutability');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', path: 'userName', value: 'dave@example.com' })), 409, 'uniqueness');
      isScimError(await scim('PATCH', u, patchOp({ op: 'remove', path: 'userName' })), 400, 'invalidValue');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', path: 'emails[value sw "x"]', value: { value: 'a@b.c' } })), 400, 'noTarget');
      isScimError(await scim('PATCH', u, patchOp({ op: 'replace', value: 'not an object' })), 400, 'invalidValue');
      isScimError(await scim('PATCH', '/Users/nobody', patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
      assert.equal(({} as any).polluted, undefined);
      assert.equal((await s.call('GET', '/api/v1/audit/verify', A)).body.events, head);
    });

    test('PUT replaces the user, userName included (the old name is free again)', async () => {
      const r = await scim('PUT', '/Users/bobbuilder', { schemas: [USER], userName: 'bob@example.com', externalId: 'ext-bob', displayName: 'Bob B', emails: [{ value: 'bob@example.com' }], active: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.id, 'bobbuilder', 'the id never changes');
      assert.equal(r.body.userName, 'bob@example.com');
      assert.equal(r.body.name, undefined);
      assert.equal((await scim('GET', '/Users?filter=' + encodeURIComponent('userName eq "bob@example.com"'))).body.Resources[0].id, 'bobbuilder');
      assert.equal((await scim('GET', '/Users?filter=' + encodeURIComponent('userName eq "Bob Builder"'))).body.totalResults, 0);
      assert.equal((await newUser('Bob Builder')).userName, 'Bob Builder');
      const ev = await s.call('GET', '/api/v1/audit?type=principal.updated&principal=bobbuilder', A);
      assert.ok(ev.body.items.some((e: any) => e.data.via === 'scim' && e.data.userName === 'bob@example.com'));
    });

    test('deactivate and reactivate', async () => {
      const off = await scim('PATCH', '/Users/bobbuilder', patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.active, false);
      assert.equal((await s.call('GET', '/api/v1/principals/bobbuilder', A)).body.status, 'suspended');
      assert.equal((await scim('GET', '/Users?filter=' + encodeURIComponent('active eq false'))).body.Resources.some((r: any) => r.id === 'bobbuilder'), true);
      const on = await scim('PATCH', '/Users/bobbuilder', patchOp({ op: 'replace', value: { active: true } }));
      assert.equal(on.body.active, true);
      assert.equal((await s.call('GET', '/api/v1/principals/bobbuilder', A)).body.status, 'active');
      const ev = await s.call('GET', '/api/v1/audit?principal=bobbuilder', A);
      const types = ev.body.items.map((e: any) => e.type);
      for (const t of ['principal.suspended', 'principal.deprovisioned', 'principal.reactivated']) assert.ok(types.includes(t), t);
    });

    test('the key path: deprovisioning ends access at once, in one transaction', async () => {
      const erin = await newUser('erin@example.com', { externalId: 'ext-erin', displayName: 'Erin' });
      const id = erin.id as string;
      const enc = encodeURIComponent(id);
      for (const roleId of ['ops', 'gated']) {
        const e = await s.call('POST', '/api/v1/eligibilities', A, { principalId: id, roleId, scope: '/prod', endsAt: null, justification: 'on-call rota' });
        assert.equal(e.status, 201, JSON.stringify(e.body));
      }
      const tok = await s.call('POST', `/api/v1/principals/${enc}/tokens`, A, {});
      assert.equal(tok.status, 201);
      const token = tok.body.token as string;
      const act = await s.call('POST', '/api/v1/requests', token, { roleId: 'ops', scope: '/prod/db', duration: 'PT1H', justification: 'INC-7 replication lag' });
      assert.equal(act.status, 201, JSON.stringify(act.body));
      assert.equal(act.body.status, 'active');
      const pending = await s.call('POST', '/api/v1/requests', token, { roleId: 'gated', scope: '/prod', duration: 'PT1H', justification: 'INC-8 needs a look' });
      assert.equal(pending.body.status, 'pending_approval', JSON.stringify(pending.body));
      const direct = await s.call('POST', '/api/v1/assignments', A, { principalId: id, roleId: 'ops', scope: '/dev', endsAt: new Date(s.clock.now() + 86_400_000).toISOString(), justification: 'vendor visit' });
      assert.equal(direct.status, 201, JSON.stringify(direct.body));
      await s.store.transaction((tx) =>
        s.store.sessions.insert(tx, {
          id: 'sess-erin', principalId: id, createdAt: s.clock.now(), lastSeenAt: s.clock.now(), expiresAt: s.clock.now() + 3_600_000, revokedAt: null,
          facts: { signIn: 'password', issuer: null, subject: null, groups: [], amr: [], acr: null, deviceCompliant: null, signInRisk: null }, mfa: [],
        }),
      );
      assert.equal((await check(id, 'ops', '/prod/db')).body.allowed, true);
      assert.equal((await s.call('GET', '/api/v1/me', token)).status, 200);

      // Entra's deactivation, at the same instant on the manual clock.
      const off = await scim('PATCH', `/Users/${enc}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.active, false);
      const c = await check(id, 'ops', '/prod/db');
      assert.equal(c.body.allowed, false);
      const grant = await s.call('GET', `/api/v1/assignments/${act.body.assignmentId}`, A);
      assert.equal(grant.body.status, 'revoked');
      assert.equal(Date.parse(grant.body.endsAt), s.clock.now());
      assert.equal((await s.call('GET', `/api/v1/assignments/${direct.body.id}`, A)).body.status, 'revoked');
      assert.equal((await s.call('GET', `/api/v1/requests/${pending.body.id}`, A)).body.status, 'cancelled');
      assert.equal((await s.call('GET', '/api/v1/me', token)).status, 401);
      const sess = await s.store.transaction((tx) => s.store.sessions.get(tx, 'sess-erin'));
      assert.equal(sess?.revokedAt, s.clock.now());
      const ev = await s.call('GET', `/api/v1/audit?type=assignment.revoked&principal=${enc}`, A);
      assert.equal(ev.body.items.length, 2);
      for (const e of ev.body.items) {
        assert.deepEqual(e.reasons, ['deprovisioned']);
        assert.equal(e.actorId, 'scim');
        assert.equal(e.data.auth.method, 'scim');
      }
      const dep = await s.call('GET', `/api/v1/audit?type=principal.deprovisioned&principal=${enc}`, A);
      assert.deepEqual(dep.body.items[0].data.revokedAssignments.sort(), [act.body.assignmentId, direct.body.id].sort());
      // Her session was ended by the suspension itself (above: revokedAt is now), in this same transaction.
      assert.equal(dep.body.items[0].data.tokensRevoked.length, 1);

      // Re-activation restores the person, not the access.
      const on = await scim('PATCH', `/Users/${enc}`, patchOp({ op: 'Replace', path: 'active', value: true }));
      assert.equal(on.body.active, true);
      const again = await check(id, 'ops', '/prod/db');
      assert.deepEqual([again.body.allowed, again.body.reason], [false, 'no_active_assignment']);
      assert.equal((await s.call('GET', `/api/v1/assignments/${act.body.assignmentId}`, A)).body.status, 'revoked');
      // Her old API token stays revoked; the eligibility survived: with a new token she can activate again.
      s.clock.advance(2_000); // past the token cache
      assert.equal((await s.call('GET', '/api/v1/me', token)).status, 401);
      const fresh = (await s.call('POST', `/api/v1/principals/${enc}/tokens`, A, {})).body.token as string;
      const re = await s.call('POST', '/api/v1/requests', fresh, { roleId: 'ops', scope: '/prod/db', duration: 'PT1H', justification: 'INC-9 back from leave' });
      assert.equal(re.status, 201, JSON.stringify(re.body));
      assert.equal((await check(id, 'ops', '/prod/db')).body.allowed, true);

      // DELETE deprovisions and deletes, in one go.
      const del = await scim('DELETE', `/Users/${enc}`);
      assert.equal(del.status, 204);
      assert.equal((await check(id, 'ops', '/prod/db')).body.allowed, false);
      isScimError(await scim('GET', `/Users/${enc}`), 404);
      assert.equal((await s.call('GET', `/api/v1/principals/${enc}`, A)).status, 404);
      assert.equal((await s.call('GET', `/api/v1/assignments/${re.body.assignmentId}`, A)).body.status, 'revoked');
      const gone = await s.call('GET', `/api/v1/audit?type=assignment.revoked&principal=${enc}`, A);
      assert.ok(gone.body.items.some((e: any) => e.data.assignmentId === re.body.assignmentId && e.reasons.includes('deprovisioned')));
      // Her externalId and userName are free again.
      assert.equal((await newUser('erin@example.com', { externalId: 'ext-erin' })).id, 'erin@example.com');
    });

    test('the last administrator cannot be deprovisioned: 409, nothing changed', async () => {
      const head = (await s.call('GET', '/api/v1/audit/verify', A)).body.events;
      isScimError(await scim('PATCH', '/Users/admin', patchOp({ op: 'replace', path: 'active', value: false })), 409);
      isScimError(await scim('PUT', '/Users/admin', { schemas: [USER], userName: 'admin', active: false }), 409);
      isScimError(await scim('DELETE', '/Users/admin'), 409);
      assert.equal((await s.call('GET', '/api/v1/principals/admin', A)).body.status, 'active');
      assert.equal((await check('admin', 'elevate-admin', '/')).body.allowed, true);
      assert.equal((await s.call('GET', '/api/v1/audit/verify', A)).body.events, head);
    });

    test('groups: create, filter, patch members (add, remove by filter and by value), rename, cycles refused, delete', async () => {
      const g = await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Platform Admins', externalId: 'grp-1', members: [{ value: 'alice@example.com' }, { value: 'dave@example.com' }] });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      assert.equal(g.body.id, 'platform-admins');
      assert.equal(g.body.displayName, 'Platform Admins');
      assert.deepEqual(g.body.members.map((m: any) => [m.value, m.type]).sort(), [['alice@example.com', 'User'], ['dave@example.com', 'User']]);
      assert.equal(g.body.meta.resourceType, 'Group');
      isScimError(await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Other', externalId: 'grp-1' }), 409, 'uniqueness');
      const same = await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'platform admins' });
      assert.match(same.body.id, /^g-/);
      const members = async () => (await s.call('GET', '/api/v1/groups/platform-admins/members', A)).body.members.sort();
      assert.deepEqual(await members(), ['alice@example.com', 'dave@example.com']);

      const f = await scim('GET', '/Groups?filter=' + encodeURIComponent('displayName eq "PLATFORM ADMINS"') + '&excludedAttributes=members');
      assert.deepEqual(f.body.Resources.map((r: any) => r.id).sort(), [same.body.id, 'platform-admins'].sort());
      assert.equal(f.body.Resources[0].members, undefined);
      assert.equal((await scim('GET', '/Groups?filter=' + encodeURIComponent('externalId eq "grp-1"'))).body.Resources[0].id, 'platform-admins');
      assert.equal((await scim('GET', '/Groups?filter=' + encodeURIComponent('members[value eq "dave@example.com"]'))).body.totalResults, 1);

      // Okta: add, then remove by a filtered path.
      let r = await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'add', path: 'members', value: [{ value: 'carol' }, { value: 'alice@example.com' }] }));
      assert.equal(r.status, 204, JSON.stringify(r.body));
      assert.deepEqual(await members(), ['alice@example.com', 'carol', 'dave@example.com']);
      r = await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'remove', path: 'members[value eq "dave@example.com"]' }));
      assert.equal(r.status, 204);
      assert.deepEqual(await members(), ['alice@example.com', 'carol']);
      // Removing what is not there is fine (IdPs retry).
      assert.equal((await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'remove', path: 'members[value eq "dave@example.com"]' }))).status, 204);
      // Entra: remove by value list, rename, in one request.
      r = await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'Remove', path: 'members', value: [{ value: 'carol' }] }, { op: 'Replace', path: 'displayName', value: 'Platform Admins (prod)' }));
      assert.equal(r.status, 204);
      assert.deepEqual(await members(), ['alice@example.com']);
      const got = await scim('GET', '/Groups/platform-admins');
      assert.equal(got.body.displayName, 'Platform Admins (prod)');
      assert.deepEqual(got.body.members.map((m: any) => m.value), ['alice@example.com']);
      assert.equal(got.body.members[0].display, 'Alice Okta');

      // Nested groups through the same membership logic: a cycle and unknown members are refused, nothing changes.
      assert.equal((await scim('PATCH', `/Groups/${same.body.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: 'platform-admins' }] }))).status, 204);
      isScimError(await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'add', path: 'members', value: [{ value: same.body.id }] })), 400, 'invalidValue');
      isScimError(await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'add', path: 'members', value: [{ value: 'platform-admins' }] })), 400, 'invalidValue');
      isScimError(await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'add', path: 'members', value: [{ value: 'nobody' }] })), 400, 'invalidValue');
      isScimError(await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'add', path: 'members', value: [{ value: 'Not An Id!' }] })), 400, 'invalidValue');
      assert.deepEqual(await members(), ['alice@example.com']);
      const nested = await scim('GET', `/Groups/${same.body.id}`);
      assert.deepEqual(nested.body.members.map((m: any) => [m.value, m.type]), [['platform-admins', 'Group']]);

      // Eligibility through the group follows membership: removing a member ends her activated grant.
      assert.equal((await s.call('POST', '/api/v1/eligibilities', A, { principalId: 'platform-admins', roleId: 'ops', scope: '/shared', endsAt: null, justification: 'platform rota' })).status, 201);
      const aliceTok = (await s.call('POST', `/api/v1/principals/${encodeURIComponent('alice@example.com')}/tokens`, A, {})).body.token;
      const act = await s.call('POST', '/api/v1/requests', aliceTok, { roleId: 'ops', scope: '/shared', duration: 'PT1H', justification: 'INC-10 shared storage' });
      assert.equal(act.body.status, 'active', JSON.stringify(act.body));
      assert.equal((await check('alice@example.com', 'ops', '/shared')).body.allowed, true);
      assert.equal((await scim('PATCH', '/Groups/platform-admins', patchOp({ op: 'remove', path: 'members[value eq "alice@example.com"]' }))).status, 204);
      assert.equal((await check('alice@example.com', 'ops', '/shared')).body.allowed, false);

      // PUT replaces members; DELETE deletes.
      const put = await scim('PUT', '/Groups/platform-admins', { schemas: [GROUP], displayName: 'Platform Admins', members: [{ value: 'dave@example.com' }] });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body.members.map((m: any) => m.value), ['dave@example.com']);
      assert.equal(put.body.externalId, undefined, 'PUT without externalId clears it');
      assert.equal((await scim('DELETE', '/Groups/platform-admins')).status, 204);
      isScimError(await scim('GET', '/Groups/platform-admins'), 404);
      assert.deepEqual((await scim('GET', `/Groups/${same.body.id}`)).body.members, []);
      isScimError(await scim('GET', '/Groups/alice@example.com'), 404);
      const ev = await s.call('GET', '/api/v1/audit?type=group.members_set&actor=scim', A);
      assert.ok(ev.body.items.length >= 4);
      assert.ok(ev.body.items.every((e: any) => e.data.via === 'scim'));
    });

    test('admin-created SCIM tokens: shown once, work at /scim/v2 only, stop when revoked', async (t) => {
      if (!s.app.hasRoute({ method: 'POST', url: '/api/v1/scim/tokens' })) {
        t.skip('scimAdminRoutes is not registered under /api/v1 yet');
        return;
      }
      const plain = (await s.call('POST', '/api/v1/principals', A, { id: 'plain', kind: 'user' })).status;
      assert.equal(plain, 201);
      const plainTok = (await s.call('POST', '/api/v1/principals/plain/tokens', A, {})).body.token;
      assert.equal((await s.call('POST', '/api/v1/scim/tokens', plainTok, { name: 'sneaky' })).status, 403);
      const c = await s.call('POST', '/api/v1/scim/tokens', A, { name: 'Entra ID' });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      assert.match(c.body.token, /^scim_[A-Za-z0-9_-]{43}$/);
      const tok = c.body.token as string;
      const list = await s.call('GET', '/api/v1/scim/tokens', A);
      const row = list.body.items.find((x: any) => x.id === c.body.id);
      assert.deepEqual([row.name, row.createdBy, row.revokedAt, row.token], ['Entra ID', 'admin', null, undefined]);
      const r = await scim('GET', '/Users?count=1', undefined, tok);
      assert.equal(r.status, 200);
      const made = await scim('POST', '/Users', { schemas: [USER], userName: 'frank' }, tok);
      assert.equal(made.status, 201);
      const ev = await s.call('GET', '/api/v1/audit?type=principal.created&principal=frank', A);
      assert.equal(ev.body.items[0].data.auth.tokenId, c.body.id);
      assert.equal((await s.call('GET', '/api/v1/roles', tok)).status, 401);
      assert.equal((await s.call('DELETE', `/api/v1/scim/tokens/${c.body.id}`, A)).status, 204);
      isScimError(await scim('GET', '/Users?count=1', undefined, tok), 401);
      assert.notEqual((await s.call('GET', '/api/v1/scim/tokens', A)).body.items.find((x: any) => x.id === c.body.id).revokedAt, null);
      assert.equal((await s.call('DELETE', '/api/v1/scim/tokens/nope', A)).status, 404);
      const audit = await s.call('GET', '/api/v1/audit?actor=admin', A);
      const types = audit.body.items.map((e: any) => e.type);
      assert.ok(types.includes('scim.token.created') && types.includes('scim.token.revoked'));
    });
  });
}
