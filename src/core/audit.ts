import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

/**
 * The audit log is append-only and hash-chained: each event's hash is SHA-256 over the RFC 8785
 * canonical JSON of the event (its `prevHash` included, its own `hash` left out). Signed
 * checkpoints (Ed25519 over the canonical JSON of {seq, hash, ts, keyId}) pin the chain, so a
 * rewrite that recomputes every hash is still caught, and an export can be verified offline.
 */

type Canonicalize = (value: unknown) => string | undefined;
// canonicalize is CommonJS; under NodeNext its default import is the function itself at run time.
const canonicalize = ((canonicalizeImport as unknown as { default?: Canonicalize }).default ?? canonicalizeImport) as unknown as Canonicalize;

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

export function canonical(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new Error('value cannot be canonicalized');
  return s;
}

export function hashEvent(body: AuditEventBody): string {
  const b: AuditEventBody = {
    seq: body.seq,
    id: body.id,
    ts: body.ts,
    type: body.type,
    outcome: body.outcome,
    actorId: body.actorId,
    principalId: body.principalId,
    roleId: body.roleId,
    scope: body.scope,
    requestId: body.requestId,
    reasons: body.reasons,
    data: body.data,
    prevHash: body.prevHash,
  };
  return createHash('sha256').update(canonical(b)).digest('hex');
}

/** Link a batch of new events onto the chain head. */
export function chain(head: { seq: number; hash: string }, bodies: Omit<AuditEventBody, 'seq' | 'prevHash'>[]): AuditEvent[] {
  const out: AuditEvent[] = [];
  let seq = head.seq;
  let prev = head.hash;
  for (const b of bodies) {
    const body: AuditEventBody = { ...b, seq: ++seq, prevHash: prev };
    const hash = hashEvent(body);
    out.push({ ...body, hash });
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
    const h = hashEvent(e);
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
