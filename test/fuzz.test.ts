import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ADMIN_TOKEN, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * Bad input gets a clear 4xx with a stable error code and changes nothing: never a 500.
 * Random bodies, ids and query strings against every route, as an admin and as a plain user.
 */
let s: TestServer;
let alice: string;

before(async () => {
  s = await startServer('sqlite');
  alice = await user(s, 'alice');
  await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'ops', riskTier: 'low' });
  await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: 'ops', scope: '/', endsAt: null, justification: 'sre' });
});
after(async () => s?.cleanup());

const routes: [string, string][] = [
  ['POST', '/api/v1/principals'], ['PATCH', '/api/v1/principals/{id}'], ['DELETE', '/api/v1/principals/{id}'], ['GET', '/api/v1/principals/{id}'],
  ['POST', '/api/v1/principals/{id}/tokens'], ['DELETE', '/api/v1/principals/{id}/tokens/{id}'], ['PUT', '/api/v1/groups/{id}/members'],
  ['POST', '/api/v1/roles'], ['PUT', '/api/v1/roles/{id}'], ['DELETE', '/api/v1/roles/{id}'], ['POST', '/api/v1/eligibilities'],
  ['DELETE', '/api/v1/eligibilities/{id}'], ['POST', '/api/v1/requests'], ['GET', '/api/v1/requests/{id}'], ['POST', '/api/v1/requests/{id}/approve'],
  ['POST', '/api/v1/requests/{id}/deny'], ['POST', '/api/v1/requests/{id}/cancel'], ['POST', '/api/v1/assignments'], ['POST', '/api/v1/assignments/{id}/deactivate'],
  ['POST', '/api/v1/assignments/{id}/revoke'], ['POST', '/api/v1/assignments/{id}/extend'], ['POST', '/api/v1/check'], ['GET', '/api/v1/check'],
  ['GET', '/api/v1/audit'], ['GET', '/api/v1/eligibilities'], ['GET', '/api/v1/requests'], ['GET', '/api/v1/assignments'],
];

const keys = ['id', 'kind', 'name', 'email', 'managerId', 'adminUnit', 'attributes', 'status', 'members', 'riskTier', 'settings', 'principalId', 'roleId',
  'scope', 'endsAt', 'startsAt', 'justification', 'duration', 'ticket', 'startAt', 'reason', 'checks', 'principal', 'role', 'limit', 'mine', 'from', 'type'];
const scalar = fc.oneof(
  fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom('alice', 'ops', '/', '/prod', '//', '/..', 'PT30M', 'P1Y', '2026-03-02T09:00:00Z', 'user', 'group', 'low', 'critical', 'ＡＬＩＣＥ', '\u0000', 'x'.repeat(600)),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom(...keys, 'approval', 'maxActivation', 'windows'), scalar, { maxKeys: 3 }));
const body = fc.oneof(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 }), value);
const id = fc.oneof(fc.constantFrom('alice', 'admin', 'ops', 'elevate-admin', '%2e%2e', 'ÄLICE', 'x'.repeat(200)), fc.uuid(), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent));

test('no input makes a 500, and every error is {error:{code,message}}', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), body, id, fc.boolean(), fc.dictionary(fc.constantFrom(...keys), scalar, { maxKeys: 3 }), async ([method, path], b, pid, asAdmin, query) => {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
      const url = path.replaceAll('{id}', pid) + (qs ? `?${qs}` : '');
      const r = await s.call(method as 'POST', url, asAdmin ? ADMIN_TOKEN : alice, method === 'GET' || method === 'DELETE' ? undefined : b);
      assert.ok(r.status < 500, `${method} ${url} ${JSON.stringify(b)} → ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status >= 400) assert.equal(typeof r.body?.error?.code, 'string', `${method} ${url} → ${JSON.stringify(r.body)}`);
    }),
    { numRuns: 1500 },
  );
  const v = await s.call('GET', '/api/v1/audit/verify', ADMIN_TOKEN);
  assert.equal(v.body.ok, true);
});
