import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import canonicalizeImport from 'canonicalize';
import { canonical, canonicalEvent, hashEvent, type AuditEventBody } from '../../src/core/audit.js';

type Canonicalize = (v: unknown) => string | undefined;
const oracle = ((canonicalizeImport as unknown as { default?: Canonicalize }).default ?? canonicalizeImport) as unknown as Canonicalize;

test('canonical() agrees with the canonicalize package (RFC 8785) on arbitrary JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.equal(canonical(v), oracle(v));
    }),
    { numRuns: 2000 },
  );
});

const nullable = (a: fc.Arbitrary<string>) => fc.option(a, { nil: null });
const body: fc.Arbitrary<AuditEventBody> = fc.record({
  seq: fc.nat(),
  id: fc.uuid(),
  ts: fc.nat({ max: 4_102_444_800_000 }),
  type: fc.string(),
  outcome: fc.constantFrom('allowed' as const, 'denied' as const, 'info' as const),
  actorId: nullable(fc.string()),
  principalId: nullable(fc.string()),
  roleId: nullable(fc.string()),
  scope: nullable(fc.string()),
  requestId: nullable(fc.string()),
  reasons: fc.array(fc.string()),
  data: fc.dictionary(fc.string(), fc.jsonValue()),
  prevHash: fc.stringMatching(/^[0-9a-f]{64}$/),
});

test('an event hashes as SHA-256 over the RFC 8785 form of the whole event', () => {
  fc.assert(
    fc.property(body, (b) => {
      assert.equal(canonicalEvent(b), oracle(b));
      assert.equal(hashEvent(b), createHash('sha256').update(oracle(b)!).digest('hex'));
    }),
    { numRuns: 1000 },
  );
});
