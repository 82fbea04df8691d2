import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { keyIdOf, verifyExportFile } from '../audit-offline.js';
import type { AuditEventView, AuditKey, VerifyResult } from '../client.js';
import { clientFor, emit, isJson, parsePositiveInt, setExit } from '../context.js';
import { durationToMs } from '../duration.js';
import { CliError, EXIT, usage } from '../errors.js';
import { fmtTime, note, out, printJson, str, table } from '../output.js';

/** `--since 2025-06-01T00:00Z`, or a duration meaning "that long ago": `--since 1h`. */
export function timeBound(raw: string, flag: string, now = Date.now()): string {
  const s = raw.trim();
  if (/^\d+(\.\d+)?[wdhms]/i.test(s) || /^p/i.test(s)) {
    try {
      return new Date(now - durationToMs(s, flag)).toISOString();
    } catch {
      // not a duration: try a date
    }
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw usage('invalid_time', `${flag} "${raw}" is neither an ISO 8601 time nor a duration such as 1h`, { flag });
  return new Date(t).toISOString();
}

function printEvents(items: AuditEventView[]): void {
  table(
    items.map((e) => ({
      seq: String(e.seq),
      ts: fmtTime(e.ts),
      type: e.type,
      outcome: e.outcome,
      actor: str(e.actorId),
      principal: str(e.principalId),
      role: str(e.roleId),
      scope: str(e.scope),
      reasons: str(e.reasons, ''),
    })),
    [
      ['seq', 'SEQ'],
      ['ts', 'TIME'],
      ['type', 'TYPE'],
      ['outcome', 'OUTCOME'],
      ['actor', 'ACTOR'],
      ['principal', 'PRINCIPAL'],
      ['role', 'ROLE'],
      ['scope', 'SCOPE'],
      ['reasons', 'REASONS'],
    ],
  );
}

/** The same lines for the online and the offline verification. */
function printVerify(r: Pick<VerifyResult, 'ok' | 'events' | 'head' | 'checkpoints' | 'firstBadEvent'>, offline?: { keyIds: string[]; signedThrough: number | null }): void {
  const keyIds = offline?.keyIds;
  if (r.ok) {
    out(`audit log OK: ${r.events} event${r.events === 1 ? '' : 's'}, ${r.checkpoints} signed checkpoint${r.checkpoints === 1 ? '' : 's'} verified`);
    out(`head: ${r.head}`);
    if (r.checkpoints === 0 && r.events > 0) note("note: no signed checkpoint covers these events: only the chain's internal consistency was checked");
    else if (offline?.signedThrough && offline.signedThrough < r.events) {
      note(`note: events ${offline.signedThrough + 1}..${r.events} come after the last signed checkpoint; they are hash-linked but not yet signed`);
    }
  } else {
    const b = r.firstBadEvent;
    out(`audit log BROKEN at event ${b ? b.seq : '?'}${b?.id ? ` (${b.id})` : ''}: ${b ? b.problem : 'unknown problem'}`);
    if (b) out(`  ${b.detail}`);
    if (b?.range) out(`  affected events: ${b.range[0]}..${b.range[1]}`);
    out(`  ${r.events} event${r.events === 1 ? '' : 's'} read, ${r.checkpoints} checkpoint${r.checkpoints === 1 ? '' : 's'} verified before it`);
    if (b?.problem === 'bad_signature' && keyIds) out(`  key ids in the key file: ${keyIds.join(', ')}`);
  }
}

function newestKey(keys: AuditKey[]): AuditKey | undefined {
  const t = (k: AuditKey): number => (k.createdAt === null ? 0 : new Date(k.createdAt).getTime() || 0);
  return [...keys].sort((a, b) => t(b) - t(a))[0];
}

/** Counts bytes and lines while passing the export through untouched. */
export class Counter extends Transform {
  lines = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) this.lines++;
    cb(null, chunk);
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');

  audit
    .command('list', { isDefault: true })
    .description('list audit events (the default), newest filters first')
    .option('--principal <id>')
    .option('--role <id>')
    .option('--type <type>', 'event type, e.g. request.denied')
    .option('--since <time>', 'ISO 8601, or a duration ago such as 1h')
    .option('--until <time>', 'ISO 8601, or a duration ago')
    .option('--limit <n>', 'at most this many events')
    .action(async (o: { principal?: string; role?: string; type?: string; since?: string; until?: string; limit?: string }, cmd: Command) => {
      const query = {
        principal: o.principal,
        role: o.role,
        type: o.type,
        from: o.since !== undefined ? timeBound(o.since, '--since') : undefined,
        to: o.until !== undefined ? timeBound(o.until, '--until') : undefined,
        limit: o.limit !== undefined ? parsePositiveInt(o.limit, '--limit', 1000) : undefined,
      };
      const res = await clientFor(cmd).auditList(query);
      emit(cmd, res, () => printEvents(res.items));
    });

  audit
    .command('verify')
    .description('verify the chain and its signed checkpoints: on the server, or offline with --file and --key')
    .option('--file <export.jsonl>', 'verify an export offline (no server contact)')
    .option('--key <public.pem>', 'with --file: PEM file holding the audit public key(s)')
    .action(async (o: { file?: string; key?: string }, cmd: Command) => {
      if ((o.file === undefined) !== (o.key === undefined)) throw usage('missing_option', 'offline verification needs both --file and --key');
      if (o.file !== undefined && o.key !== undefined) {
        const r = await verifyExportFile(o.file, o.key);
        emit(cmd, r, () => printVerify(r, r));
        setExit(r.ok ? EXIT.ok : EXIT.error);
        return;
      }
      const r = await clientFor(cmd).auditVerify();
      emit(cmd, r, () => printVerify(r));
      setExit(r.ok ? EXIT.ok : EXIT.error);
    });

  audit
    .command('export')
    .description('export events and signed checkpoints as JSON Lines, as received')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (o: { output?: string }, cmd: Command) => {
      const res = await clientFor(cmd).auditExport();
      if (!res.body) throw new CliError(EXIT.error, 'bad_response', 'the server sent an empty export');
      const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
      if (o.output === undefined) {
        await pipeline(body, process.stdout, { end: false });
        return;
      }
      const c = new Counter();
      await pipeline(body, c, createWriteStream(o.output));
      const result = { file: o.output, lines: c.lines, bytes: c.bytes };
      if (isJson(cmd)) printJson(result);
      else note(`wrote ${c.lines} line${c.lines === 1 ? '' : 's'} (${c.bytes} bytes) to ${o.output}`);
    });

  audit
    .command('keys')
    .description('the public keys that sign audit checkpoints')
    .option('--pem', 'output PEM (the newest key; with --all, every key) instead of a list')
    .option('--all', 'with --pem: every key, concatenated')
    .option('-o, --output <file>', 'write the PEM to this file')
    .action(async (o: { pem?: boolean; all?: boolean; output?: string }, cmd: Command) => {
      const res = await clientFor(cmd).auditKeys();
      const keys = res.keys ?? [];
      for (const k of keys) {
        let local: string | null = null;
        try {
          local = keyIdOf(k.publicKeyPem);
        } catch {
          note(`warning: key ${k.keyId} is not a readable public key`);
          continue;
        }
        if (local !== k.keyId) note(`warning: the server names key ${local} as ${k.keyId}; offline verification looks keys up by ${local}`);
      }
      if (!o.pem) {
        if (o.output !== undefined || o.all) throw usage('missing_option', '-o and --all go with --pem');
        emit(cmd, res, () =>
          table(
            keys.map((k) => ({ id: k.keyId, created: fmtTime(k.createdAt) })),
            [
              ['id', 'KEY ID'],
              ['created', 'CREATED'],
            ],
          ),
        );
        return;
      }
      const chosen = o.all ? keys : [newestKey(keys)].filter((k): k is AuditKey => k !== undefined);
      if (chosen.length === 0) throw new CliError(EXIT.error, 'no_keys', 'the server has no audit signing keys');
      const pem = chosen.map((k) => k.publicKeyPem.trimEnd() + '\n').join('');
      if (o.output === undefined) {
        process.stdout.write(pem);
        return;
      }
      await writeFile(o.output, pem);
      if (isJson(cmd)) printJson({ file: o.output, keyIds: chosen.map((k) => k.keyId) });
      else note(`wrote ${chosen.length} public key${chosen.length === 1 ? '' : 's'} (${chosen.map((k) => k.keyId).join(', ')}) to ${o.output}`);
    });
}
