import { createPublicKey, hash, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

/**
 * The audit log is append-only and hash-chained: each event's hash is SHA-256 over the RFC 8785
 * canonical JSON of the event (its `prevHash` included, its own `hash` left out). Signed
 * checkpoints (Ed25519 over the canonical JSON of {seq, hash, ts, keyId}) pin the chain, so a
 * rewrite that recomputes every hash is still caught, and an export can be verified offline.
 */

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEventBody {
  seq: number;
  id: string;
  ts: number;
  type: string;
  outcome: 'allowed' | 'denied' | 'info';
  actorId: string | null;
  principalId: string | null;
  roleId: string | null;
  scope: string | null;
  requestId: string | null;
  reasons: string[];
  data: Record<string, unknown>;
  prevHash: string;
}

export interface AuditEvent extends AuditEventBody {
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
  ts: number;
  keyId: string;
  signature: string; // base64
}

/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers
 * and strings as ECMAScript serializes them. Written here for speed on the verification path
 * (the `canonicalize` package is the oracle it is tested against).
 */
export function canonical(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error('non-finite numbers cannot be canonicalized');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const x: unknown = value[i];
          out += x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : canonical(x);
        }
        return out + ']';
      }
      const o = value as Record<string, unknown> & { toJSON?: () => unknown };
      if (typeof o.toJSON === 'function') return canonical(o.toJSON());
      const keys = Object.keys(o).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const x = o[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(k) + ':' + canonical(x);
      }
      return out + '}';
    }
    default:
      throw new Error(`a ${typeof value} cannot be canonicalized`);
  }
}

const str = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));

/**
 * Storage keeps each event's `data` as its canonical JSON text and may hand that text over under
 * this symbol, so verification hashes it as stored instead of parsing and re-serializing it.
 */
export const RAW_DATA: unique symbol = Symbol.for('elevate.audit.rawData');
export type WithRawData = { [RAW_DATA]?: string };

/** The canonical form of an event body, its keys already in RFC 8785 order. */
export function canonicalEvent(b: AuditEventBody, dataJson: string = canonical(b.data)): string {
  return (
    '{"actorId":' + str(b.actorId) +
    ',"data":' + dataJson +
    ',"id":' + JSON.stringify(b.id) +
    ',"outcome":' + JSON.stringify(b.outcome) +
    ',"prevHash":' + JSON.stringify(b.prevHash) +
    ',"principalId":' + str(b.principalId) +
    ',"reasons":' + canonical(b.reasons) +
    ',"requestId":' + str(b.requestId) +
    ',"roleId":' + str(b.roleId) +
    ',"scope":' + str(b.scope) +
    ',"seq":' + canonical(b.seq) +
    ',"ts":' + canonical(b.ts) +
    ',"type":' + JSON.stringify(b.type) +
    '}'
  );
}

/** One-shot SHA-256 (Node ≥ 20.12): half the cost of createHash().update().digest() per event. */
const sha256 = (text: string): string => hash('sha256', text, 'hex');

export function hashEvent(body: AuditEventBody): string {
  return sha256(canonicalEvent(body));
}

/** Link a batch of new events onto the chain head. */
export function chain(head: { seq: number; hash: string }, bodies: Omit<AuditEventBody, 'seq' | 'prevHash'>[]): AuditEvent[] {
  const out: AuditEvent[] = [];
  let seq = head.seq;
  let prev = head.hash;
  for (const b of bodies) {
    const body: AuditEventBody = { ...b, seq: ++seq, prevHash: prev };
    const dataJson = canonical(body.data);
    const hash = sha256(canonicalEvent(body, dataJson));
    // Hand the canonical data text on, so storage writes exactly what was hashed without redoing it.
    const e: AuditEvent & WithRawData = { ...body, hash };
    Object.defineProperty(e, RAW_DATA, { value: dataJson, enumerable: false });
    out.push(e);
    prev = hash;
  }
  return out;
}

function checkpointMessage(c: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(canonical({ seq: c.seq, hash: c.hash, ts: c.ts, keyId: c.keyId }));
}

export function signCheckpoint(c: Omit<Checkpoint, 'signature'>, privateKey: KeyObject): Checkpoint {
  return { ...c, signature: edSign(null, checkpointMessage(c), privateKey).toString('base64') };
}

export function verifyCheckpointSignature(c: Checkpoint, publicKeyPem: string): boolean {
  try {
    return edVerify(null, checkpointMessage(c), createPublicKey(publicKeyPem), Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

export type ChainProblem =
  | 'altered' // the event's content no longer matches its hash
  | 'removed' // a sequence number is missing
  | 'reordered' // an event is out of sequence, or its link to the previous one is broken
  | 'rewritten' // links are consistent but disagree with a signed checkpoint
  | 'truncated' // a signed checkpoint names events that are gone
  | 'bad_signature'; // a checkpoint's signature does not verify

export interface VerifyReport {
  ok: boolean;
  events: number;
  head: string;
  checkpoints: number;
  firstBadEvent: { seq: number; id: string | null; problem: ChainProblem; detail: string; range?: [number, number] } | null;
}

/**
 * Streaming verifier: push events in stored order, then finish. Names the first event that was
 * altered, removed or reordered; a chain rewritten wholesale is located between two checkpoints.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prev = GENESIS_HASH;
  private count = 0;
  private bad: VerifyReport['firstBadEvent'] = null;
  private cps: Checkpoint[];
  private cpIndex = 0;
  private lastGoodCheckpointSeq = 0;
  private keyPems: Map<string, string>;
  /** A sequence gap in stored order: 'removed', unless the missing event turns up later ('reordered'). */
  private gap: { missing: number; found: AuditEvent } | null = null;

  constructor(checkpoints: readonly Checkpoint[], keys: ReadonlyMap<string, string>) {
    this.cps = [...checkpoints].sort((a, b) => a.seq - b.seq);
    this.keyPems = new Map(keys);
  }

  push(e: AuditEvent): void {
    if (this.bad) return;
    this.count++;
    if (this.gap) {
      const { missing, found } = this.gap;
      if (e.seq === missing) this.bad = { seq: found.seq, id: found.id, problem: 'reordered', detail: `event ${found.seq} appears where ${missing} was expected` };
      return;
    }
    if (e.seq !== this.expectedSeq) {
      if (e.seq > this.expectedSeq) this.gap = { missing: this.expectedSeq, found: e };
      else this.bad = { seq: e.seq, id: e.id, problem: 'reordered', detail: `event ${e.seq} appears where ${this.expectedSeq} was expected` };
      return;
    }
    if (e.prevHash !== this.prev) {
      this.bad = { seq: e.seq, id: e.id, problem: 'reordered', detail: `event ${e.seq} does not link to the event before it` };
      return;
    }
    const raw = (e as AuditEvent & WithRawData)[RAW_DATA];
    let h = sha256(canonicalEvent(e, raw ?? canonical(e.data)));
    // Stored text that is not canonical (written by an older version) is judged by its meaning.
    if (h !== e.hash && raw !== undefined) h = sha256(canonicalEvent(e, canonical(JSON.parse(raw))));
    if (h !== e.hash) {
      this.bad = { seq: e.seq, id: e.id, problem: 'altered', detail: `event ${e.seq} does not match its hash` };
      return;
    }
    this.prev = h;
    this.expectedSeq++;
    // Checkpoints at or below this seq.
    while (this.cpIndex < this.cps.length && this.cps[this.cpIndex]!.seq <= e.seq) {
      const cp = this.cps[this.cpIndex]!;
      const pem = this.keyPems.get(cp.keyId);
      if (!pem || !verifyCheckpointSignature(cp, pem)) {
        this.bad = { seq: cp.seq, id: null, problem: 'bad_signature', detail: `checkpoint at event ${cp.seq} has no valid signature (key ${cp.keyId})` };
        return;
      }
      if (cp.seq === e.seq && cp.hash !== h) {
        this.bad = {
          seq: this.lastGoodCheckpointSeq + 1,
          id: null,
          problem: 'rewritten',
          detail: `events ${this.lastGoodCheckpointSeq + 1}..${cp.seq} were rewritten: the chain disagrees with the checkpoint signed at event ${cp.seq}`,
          range: [this.lastGoodCheckpointSeq + 1, cp.seq],
        };
        return;
      }
      this.lastGoodCheckpointSeq = cp.seq;
      this.cpIndex++;
    }
  }

  finish(): VerifyReport {
    if (!this.bad && this.gap) {
      const { missing, found } = this.gap;
      this.bad = { seq: missing, id: null, problem: 'removed', detail: `event ${missing} is missing (next present is ${found.seq})` };
    }
    if (!this.bad && this.cpIndex < this.cps.length) {
      const cp = this.cps[this.cpIndex]!;
      this.bad = { seq: this.expectedSeq, id: null, problem: 'truncated', detail: `a checkpoint signed at event ${cp.seq} names events after ${this.expectedSeq - 1} that are gone` };
    }
    return { ok: this.bad === null, events: this.count, head: this.prev, checkpoints: this.cpIndex, firstBadEvent: this.bad };
  }
}
