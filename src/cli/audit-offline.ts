import { createHash, createPublicKey } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ChainVerifier, type AuditEvent, type Checkpoint, type VerifyReport } from '../core/audit.js';
import { CliError, EXIT } from './errors.js';

/**
 * Offline verification of an audit export (`elevate audit export`) against the server's public
 * signing key(s): no server contact at all. The export is JSON Lines, one record per line:
 * `{"record":"event", …AuditEvent}` or `{"record":"checkpoint", …Checkpoint}`.
 */

/**
 * The key id a checkpoint names: the first 16 hex characters of SHA-256 over the public key's
 * SubjectPublicKeyInfo DER encoding. The server must compute it the same way.
 */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/** Every Ed25519 public key in a PEM file (a file may hold several, e.g. across rotations), by key id. */
export function parsePublicKeys(pemText: string, source = 'key file'): Map<string, string> {
  const keys = new Map<string, string>();
  for (const m of pemText.matchAll(PEM_BLOCK)) {
    const pem = m[0] + '\n';
    let type: string | undefined;
    try {
      type = createPublicKey(pem).asymmetricKeyType;
    } catch (e) {
      throw new CliError(EXIT.error, 'invalid_key', `${source}: a PUBLIC KEY block cannot be read (${(e as Error).message})`);
    }
    if (type !== 'ed25519') throw new CliError(EXIT.error, 'invalid_key', `${source}: audit checkpoints are signed with Ed25519, but a key in it is ${type ?? 'unknown'}`);
    keys.set(keyIdOf(pem), pem);
  }
  if (keys.size === 0) {
    const hint = /PRIVATE KEY-----/.test(pemText) ? ' (it holds a private key: give the public key, e.g. from `elevate audit keys --pem`)' : '';
    throw new CliError(EXIT.error, 'invalid_key', `${source} holds no "-----BEGIN PUBLIC KEY-----" block${hint}`);
  }
  return keys;
}

export interface OfflineReport extends VerifyReport {
  /** Key ids found in the key file. */
  keyIds: string[];
  /** When ok: the last event a verified signature covers (0 = none). Events after it are only hash-linked. */
  signedThrough: number | null;
}

type RecordLine = { kind: 'event'; event: AuditEvent } | { kind: 'checkpoint'; checkpoint: Checkpoint };

function parseLine(text: string, lineNo: number, file: string): RecordLine | null {
  if (text.trim() === '') return null;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    const seq = /"seq"\s*:\s*(\d+)/.exec(text)?.[1];
    throw new CliError(EXIT.error, 'malformed_export', `${file}:${lineNo} is not valid JSON${seq ? ` (it looks like event ${seq})` : ''}`, {
      line: lineNo,
      ...(seq ? { seq: Number(seq) } : {}),
    });
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new CliError(EXIT.error, 'malformed_export', `${file}:${lineNo} is not a JSON object`, { line: lineNo });
  const { record, ...rest } = o as Record<string, unknown>;
  if (typeof rest.seq !== 'number') throw new CliError(EXIT.error, 'malformed_export', `${file}:${lineNo} has no numeric "seq"`, { line: lineNo });
  if (record === 'event') return { kind: 'event', event: rest as unknown as AuditEvent };
  if (record === 'checkpoint') return { kind: 'checkpoint', checkpoint: rest as unknown as Checkpoint };
  throw new CliError(EXIT.error, 'malformed_export', `${file}:${lineNo} has record type ${JSON.stringify(record)} (expected "event" or "checkpoint")`, { line: lineNo });
}

async function* lines(file: string): AsyncGenerator<[number, string]> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const l of rl) yield [++n, l];
}

/**
 * Verify an export file with the keys in a PEM file. Two streaming passes: the first collects the
 * checkpoints (they may come anywhere in the file), the second pushes events through the verifier,
 * so memory stays proportional to the number of checkpoints, not events.
 */
export async function verifyExportFile(exportFile: string, keyFile: string): Promise<OfflineReport> {
  let pemText: string;
  try {
    pemText = readFileSync(keyFile, 'utf8');
  } catch (e) {
    throw new CliError(EXIT.error, 'file_unreadable', `cannot read ${keyFile}: ${(e as Error).message}`);
  }
  const keys = parsePublicKeys(pemText, keyFile);

  const checkpoints: Checkpoint[] = [];
  try {
    for await (const [n, l] of lines(exportFile)) {
      const r = parseLine(l, n, exportFile);
      if (r?.kind === 'checkpoint') checkpoints.push(r.checkpoint);
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(EXIT.error, 'file_unreadable', `cannot read ${exportFile}: ${(e as Error).message}`);
  }

  const verifier = new ChainVerifier(checkpoints, keys);
  for await (const [n, l] of lines(exportFile)) {
    const r = parseLine(l, n, exportFile);
    if (r?.kind === 'event') verifier.push(r.event);
  }
  const report = verifier.finish();
  const signedThrough = report.ok ? checkpoints.reduce((m, c) => Math.max(m, c.seq), 0) : null;
  return { ...report, keyIds: [...keys.keys()], signedThrough };
}
