import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  canonical,
  chain,
  ChainVerifier,
  GENESIS_HASH,
  hashEvent,
  signCheckpoint,
  verifyCheckpointSignature,
  type AuditEvent,
  type AuditEventBody,
  type Checkpoint,
  type VerifyReport,
} from '../../src/core/audit.js';

const T0 = Date.parse('2024-03-06T10:00:00Z');
const N = 200;
const CHECKPOINT_EVERY = 50;

const keys = generateKeyPairSync('ed25519');
const KEY_ID = 'audit-2024';
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const KEYS: ReadonlyMap<string, string> = new Map([[KEY_ID, publicPem]]);

type Body = Omit<AuditEventBody, 'seq' | 'prevHash'>;

function body(i: number): Body {
  const types = ['request.created', 'approval.granted', 'assignment.activated', 'check.denied', 'assignment.expired'] as const;
  return {
    id: `ev-${String(i).padStart(4, '0')}`,
    ts: T0 + i * 1000,
    type: types[i % types.length]!,
    outcome: i % 7 === 0 ? 'denied' : i % 3 === 0 ? 'allowed' : 'info',
    actorId: i % 4 === 0 ? null : `user-${i % 5}`,
    principalId: `user-${i % 3}`,
    roleId: 'db-admin',
    scope: i % 2 ? '/prod/payments' : '/prod',
    requestId: i % 5 === 0 ? null : `req-${Math.floor(i / 5)}`,
    reasons: i % 7 === 0 ? ['not_eligible', 'duration_exceeds_max'] : [],
    data: { i, note: `event ${i}`, nested: { amount: i * 1.5, flags: [i % 2 === 0, null] } },
  };
}

/** 200 events appended in batches of uneven size, as use cases would, and a checkpoint every 50. */
function buildLog(): { events: AuditEvent[]; checkpoints: Checkpoint[] } {
  const events: AuditEvent[] = [];
  const sizes = [1, 3, 7, 2, 13, 5];
  let i = 1;
  let b = 0;
  while (i <= N) {
    const n = Math.min(sizes[b++ % sizes.length]!, N - i + 1);
    const head = events.length ? { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash } : { seq: 0, hash: GENESIS_HASH };
    const bodies: Body[] = [];
    for (let k = 0; k < n; k++) bodies.push(body(i + k));
    events.push(...chain(head, bodies));
    i += n;
  }
  const checkpoints = events.filter((e) => e.seq % CHECKPOINT_EVERY === 0).map((e) => checkpoint(e, keys.privateKey));
  return { events, checkpoints };
}

function checkpoint(e: AuditEvent, key: KeyObject, keyId = KEY_ID): Checkpoint {
  return signCheckpoint({ seq: e.seq, hash: e.hash, ts: e.ts + 1, keyId }, key);
}

function verify(events: readonly AuditEvent[], checkpoints: readonly Checkpoint[], keyMap: ReadonlyMap<string, string> = KEYS): VerifyReport {
  const v = new ChainVerifier(checkpoints, keyMap);
  for (const e of events) v.push(e);
  return v.finish();
}

const clone = (events: readonly AuditEvent[]): AuditEvent[] => structuredClone([...events]);

/** A careful attacker: after changing events, recompute every link and hash from `from` on. */
function relink(events: AuditEvent[], from: number): void {
  for (let i = from - 1; i < events.length; i++) {
    const e = events[i]!;
    e.prevHash = i === 0 ? GENESIS_HASH : events[i - 1]!.hash;
    e.hash = hashEvent(e);
  }
}

describe('audit chain', () => {
  const { events, checkpoints } = buildLog();

  it('builds a gap-free chain whose links and hashes hold', () => {
    assert.equal(events.length, N);
    events.forEach((e, i) => {
      assert.equal(e.seq, i + 1);
      assert.equal(e.prevHash, i === 0 ? GENESIS_HASH : events[i - 1]!.hash);
      assert.equal(e.hash, hashEvent(e));
      assert.match(e.hash, /^[0-9a-f]{64}$/);
    });
    assert.equal(checkpoints.length, 4);
  });

  it('an intact chain with signed checkpoints verifies', () => {
    const r = verify(events, checkpoints);
    assert.equal(r.ok, true, JSON.stringify(r.firstBadEvent));
    assert.equal(r.firstBadEvent, null);
    assert.equal(r.events, N);
    assert.equal(r.checkpoints, 4);
    assert.equal(r.head, events.at(-1)!.hash);
  });

  it('an empty log with no checkpoints verifies', () => {
    const r = verify([], []);
    assert.equal(r.ok, true);
    assert.equal(r.head, GENESIS_HASH);
  });

  it('the signature covers seq, hash, ts and keyId', () => {
    const cp = checkpoints[0]!;
    assert.equal(verifyCheckpointSignature(cp, publicPem), true);
    assert.equal(verifyCheckpointSignature({ ...cp, seq: cp.seq + 1 }, publicPem), false);
    assert.equal(verifyCheckpointSignature({ ...cp, hash: events[0]!.hash }, publicPem), false);
    assert.equal(verifyCheckpointSignature({ ...cp, ts: cp.ts + 1 }, publicPem), false);
    assert.equal(verifyCheckpointSignature({ ...cp, keyId: 'other' }, publicPem), false);
    assert.equal(verifyCheckpointSignature(cp, 'not a key'), false);
  });

  const alterations: [string, (e: AuditEvent) => void][] = [
    ['type', (e) => (e.type = 'assignment.revoked')],
    ['outcome', (e) => (e.outcome = e.outcome === 'denied' ? 'allowed' : 'denied')],
    ['actorId', (e) => (e.actorId = 'mallory')],
    ['ts', (e) => (e.ts += 1)],
    ['reasons', (e) => (e.reasons = [...e.reasons, 'approved_by_admin'])],
    ['a nested data field', (e) => ((e.data.nested as { amount: number }).amount += 0.5)],
    ['scope', (e) => (e.scope = '/')],
  ];
  for (const k of [1, 77, 150, N]) {
    for (const [field, change] of alterations) {
      it(`altering ${field} of event ${k} is located at event ${k} as 'altered'`, () => {
        const tampered = clone(events);
        change(tampered[k - 1]!);
        const r = verify(tampered, checkpoints);
        assert.equal(r.ok, false);
        assert.equal(r.firstBadEvent?.seq, k);
        assert.equal(r.firstBadEvent?.problem, 'altered');
        assert.equal(r.firstBadEvent?.id, events[k - 1]!.id);
      });
    }
  }

  for (const k of [1, 42, 100, 199]) {
    it(`deleting event ${k} is located at ${k} as 'removed'`, () => {
      const tampered = clone(events);
      tampered.splice(k - 1, 1);
      const r = verify(tampered, checkpoints);
      assert.equal(r.ok, false);
      assert.equal(r.firstBadEvent?.problem, 'removed');
      assert.equal(r.firstBadEvent?.seq, k);
    });
  }

  it('deleting several events in a row is located at the first of them', () => {
    const tampered = clone(events);
    tampered.splice(59, 5); // events 60..64
    const r = verify(tampered, checkpoints);
    assert.equal(r.firstBadEvent?.problem, 'removed');
    assert.equal(r.firstBadEvent?.seq, 60);
  });

  for (const [a, b] of [
    [42, 43],
    [10, 20],
    [1, 2],
    [199, 200],
  ] as const) {
    it(`swapping events ${a} and ${b} is reported as 'reordered', located at one of them`, () => {
      const tampered = clone(events);
      [tampered[a - 1], tampered[b - 1]] = [tampered[b - 1]!, tampered[a - 1]!];
      const r = verify(tampered, checkpoints);
      assert.equal(r.ok, false);
      assert.equal(r.firstBadEvent?.problem, 'reordered', JSON.stringify(r.firstBadEvent));
      assert.ok([a, b].includes(r.firstBadEvent!.seq as typeof a), `located at ${r.firstBadEvent?.seq}`);
    });
  }

  it('an event moved back from later in the log is reported as reordered', () => {
    const tampered = clone(events);
    const [moved] = tampered.splice(120, 1); // event 121
    tampered.splice(80, 0, moved!); // now stored before event 81
    const r = verify(tampered, checkpoints);
    assert.equal(r.firstBadEvent?.problem, 'reordered', JSON.stringify(r.firstBadEvent));
  });

  it('an event whose link to the previous one is broken is reported as reordered', () => {
    const tampered = clone(events);
    // Event 30 is pointed at event 1 and its own hash recomputed: its hash matches its content,
    // but it no longer links to event 29.
    const e30 = tampered[29]!;
    e30.prevHash = tampered[0]!.hash;
    e30.hash = hashEvent(e30);
    const r = verify(tampered, checkpoints);
    assert.equal(r.firstBadEvent?.problem, 'reordered');
    assert.equal(r.firstBadEvent?.seq, 30);
  });

  for (const k of [1, 77, 120, 150, 151, 199]) {
    it(`rewriting event ${k} and recomputing every later hash is caught by the next checkpoint ('rewritten')`, () => {
      const tampered = clone(events);
      tampered[k - 1]!.outcome = 'allowed';
      tampered[k - 1]!.reasons = [];
      tampered[k - 1]!.data = { i: k, note: 'nothing to see' };
      relink(tampered, k);
      // Links and hashes are all consistent now: only the checkpoints can tell.
      const unsigned = verify(tampered, []);
      assert.equal(unsigned.ok, true, 'without checkpoints a careful rewrite is invisible');

      const r = verify(tampered, checkpoints);
      assert.equal(r.ok, false);
      assert.equal(r.firstBadEvent?.problem, 'rewritten');
      const range = r.firstBadEvent!.range!;
      assert.ok(range, 'a rewrite is located by a range');
      const nextCheckpoint = Math.ceil(k / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
      const previousCheckpoint = nextCheckpoint - CHECKPOINT_EVERY;
      assert.deepEqual(range, [previousCheckpoint + 1, nextCheckpoint]);
      assert.ok(range[0] <= k && k <= range[1], `range ${range} contains ${k}`);
      assert.equal(r.firstBadEvent?.seq, range[0]);
    });
  }

  it('deleting tail events that a checkpoint covers is reported as truncated', () => {
    const tampered = clone(events).slice(0, 170); // events 171..200 gone, checkpoint at 200 remains
    const r = verify(tampered, checkpoints);
    assert.equal(r.ok, false);
    assert.equal(r.firstBadEvent?.problem, 'truncated');
    assert.equal(r.firstBadEvent?.seq, 171);
    assert.equal(r.checkpoints, 3);
  });

  it('deleting tail events beyond the last checkpoint cannot be told from a shorter log', () => {
    const tampered = clone(events).slice(0, 170);
    const r = verify(tampered, checkpoints.filter((c) => c.seq <= 150));
    assert.equal(r.ok, true);
    assert.equal(r.events, 170);
  });

  it('a checkpoint with a forged signature is reported as bad_signature', () => {
    const forged = checkpoints.map((c) => (c.seq === 100 ? { ...c, signature: Buffer.from(c.signature, 'base64').fill(7, 0, 8).toString('base64') } : c));
    const r = verify(events, forged);
    assert.equal(r.ok, false);
    assert.equal(r.firstBadEvent?.problem, 'bad_signature');
    assert.equal(r.firstBadEvent?.seq, 100);
  });

  it('a checkpoint signed by a key the verifier does not trust is reported as bad_signature', () => {
    const other = generateKeyPairSync('ed25519');
    const cps = checkpoints.map((c) => (c.seq === 150 ? checkpoint(events[149]!, other.privateKey, KEY_ID) : c));
    const r = verify(events, cps);
    assert.equal(r.firstBadEvent?.problem, 'bad_signature');
    assert.equal(r.firstBadEvent?.seq, 150);
  });

  it('a checkpoint naming an unknown key is reported as bad_signature', () => {
    const other = generateKeyPairSync('ed25519');
    const cps = checkpoints.map((c) => (c.seq === 50 ? checkpoint(events[49]!, other.privateKey, 'rogue-key') : c));
    const r = verify(events, cps);
    assert.equal(r.firstBadEvent?.problem, 'bad_signature');
    assert.equal(r.firstBadEvent?.seq, 50);
  });

  it('a checkpoint whose hash was edited without re-signing is reported as bad_signature', () => {
    const cps = checkpoints.map((c) => (c.seq === 200 ? { ...c, hash: events[198]!.hash } : c));
    const r = verify(events, cps);
    assert.equal(r.firstBadEvent?.problem, 'bad_signature');
  });

  it('checkpoints are honoured whatever order they are given in', () => {
    const r = verify(events, [...checkpoints].reverse());
    assert.equal(r.ok, true);
    assert.equal(r.checkpoints, 4);
  });

  it('does not change the events it is given', () => {
    const before = structuredClone(events);
    verify(events, checkpoints);
    assert.deepEqual(events, before);
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('formats numbers like ECMAScript, as RFC 8785 requires', () => {
    const cases: [number, string][] = [
      [1e30, '1e+30'],
      [4.5, '4.5'],
      [4.5, '4.5'], // written 4.50 in the source text: same number
      [0.002, '0.002'],
      [2e-3, '0.002'],
      [333333333.33333329, '333333333.3333333'],
      [1e-27, '1e-27'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [9007199254740991, '9007199254740991'],
      [-1.5e-7, '-1.5e-7'],
      [0.000001, '0.000001'],
    ];
    for (const [n, want] of cases) assert.equal(canonical(n), want, String(n));
  });

  it('reproduces the RFC 8785 section 3.2.2 sample', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    assert.equal(canonical(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by UTF-16 code units, recursively (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const out = canonical(input);
    const keysInOrder = Object.keys(JSON.parse(out) as Record<string, string>);
    // JSON.parse keeps insertion order for non-integer keys; "1" is an integer key and goes first anyway.
    assert.deepEqual(keysInOrder, ['1', '\r', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    const values = [...out.matchAll(/":"([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(values, [
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('sorts nested keys, keeps array order, and has no whitespace', () => {
    assert.equal(canonical({ b: 1, a: { d: [3, 1, 2], c: null }, A: true }), '{"A":true,"a":{"c":null,"d":[3,1,2]},"b":1}');
  });

  it('gives equal objects equal text whatever their key order, so the hash does not depend on it', () => {
    const a: AuditEventBody = { seq: 1, id: 'x', ts: T0, type: 't', outcome: 'info', actorId: null, principalId: null, roleId: null, scope: null, requestId: null, reasons: [], data: { a: 1, b: 2 }, prevHash: GENESIS_HASH };
    const b = { ...a, data: { b: 2, a: 1 } };
    assert.equal(canonical(a.data), canonical(b.data));
    assert.equal(hashEvent(a), hashEvent(b));
  });
});
