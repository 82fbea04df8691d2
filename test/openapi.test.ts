import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer } from './helpers/harness.js';

// The published OpenAPI document is checked by an outside validator (issue 10, finding 14): a
// parameter declared with a schema the generator cannot describe must fail here, not in a user's tool.
test('GET /api/v1/openapi.json is a valid OpenAPI 3.1 document (outside validator)', async () => {
  const s = await startServer('sqlite');
  try {
    const r = await s.call('GET', '/api/v1/openapi.json', null);
    assert.equal(r.status, 200);
    const result = await new Validator().validate(r.body as Parameters<Validator["validate"]>[0]);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 4000));
    const cb = r.body.paths['/auth/oidc/callback'].get.parameters as { name: string; schema: unknown }[];
    assert.ok(cb.some((p) => p.name === 'code' && typeof p.schema === 'object'));
  } finally {
    await s.cleanup();
  }
});
