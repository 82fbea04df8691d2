import { connect as tcpConnect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { SiemSink } from '../../app/siem-ports.js';
import { canonical, type AuditEvent } from '../../core/audit.js';

/**
 * RFC 5424 syslog over TCP (RFC 6587 octet-counting framing) or TLS (RFC 5425 uses the same
 * framing). Each audit event is one message:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME elevate PROCID MSGID [elevate@32473 seq="…" id="…" type="…" outcome="…" actor="…" …] {canonical JSON}
 *
 * PRI = facility authpriv (10: security messages that name people) × 8 + severity (warning 4 for
 * denied outcomes, notice 5 otherwise). MSGID is the event type. The structured data element
 * carries the fields a SIEM indexes; MSG is the RFC 8785 canonical JSON of the whole event (its
 * hash included), so a receiver can re-verify the chain. Audit data never holds secrets.
 *
 * One connection per batch: connect, write every frame, close, and count the batch handed over
 * once the peer has closed its side cleanly. A refused or dropped connection fails the batch.
 */

export interface SyslogTarget {
  protocol: 'tcp' | 'tls';
  host: string;
  port: number;
  /** PEM CA bundle for tls:// (ELEVATE_SYSLOG_CA_FILE); null: the system's trusted CAs. */
  ca?: string | null;
  /** HOSTNAME field (default: this machine's host name). */
  hostname?: string;
  timeoutMs?: number;
}

export const FACILITY_AUTHPRIV = 10;
const SEVERITY_WARNING = 4;
const SEVERITY_NOTICE = 5;
/** 32473 is the private enterprise number RFC 5612 reserves for documentation and examples. */
export const SD_ID = 'elevate@32473';

/** RFC 5424 §6.3.3: inside PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export const escapeParam = (v: string): string => v.replace(/["\\\]]/g, (c) => `\\${c}`);

/** PRINTUSASCII, no spaces, at most `max` characters; `-` when empty. */
const header = (v: string, max: number): string => v.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

export function syslogMessage(e: AuditEvent, host: string, procId: string): string {
  const severity = e.outcome === 'denied' ? SEVERITY_WARNING : SEVERITY_NOTICE;
  const pri = FACILITY_AUTHPRIV * 8 + severity;
  const params: [string, string | null][] = [
    ['seq', String(e.seq)],
    ['id', e.id],
    ['type', e.type],
    ['outcome', e.outcome],
    ['actor', e.actorId],
    ['principal', e.principalId],
    ['role', e.roleId],
    ['scope', e.scope],
    ['request', e.requestId],
    ['reasons', e.reasons.length ? e.reasons.join(',') : null],
    ['hash', e.hash],
  ];
  const sd = `[${SD_ID}${params
    .filter((p): p is [string, string] => p[1] !== null)
    .map(([k, v]) => ` ${k}="${escapeParam(v)}"`)
    .join('')}]`;
  return `<${pri}>1 ${new Date(e.ts).toISOString()} ${header(host, 255)} elevate ${header(procId, 128)} ${header(e.type, 32)} ${sd} ${canonical(e)}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function frame(msg: string): Buffer {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ECONNREFUSED') return 'connection refused';
  if (err?.code === 'ETIMEDOUT') return 'timed out';
  if (err?.code) return `${err.code}: ${String(err.message ?? '').split('\n')[0]!.slice(0, 160)}`;
  return e instanceof Error ? e.message : String(e);
}

export function syslogSink(t: SyslogTarget): SiemSink {
  const host = t.hostname ?? osHostname();
  const procId = String(process.pid);
  const timeoutMs = t.timeoutMs ?? 10_000;
  return {
    target: `${t.protocol}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`,
    async send(events) {
      if (events.length === 0) return;
      const payload = Buffer.concat(events.map((e) => frame(syslogMessage(e, host, procId))));
      await new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (err) {
            sock.destroy();
            reject(new Error(`syslog ${t.protocol}: ${describe(err)}`));
          } else resolve();
        };
        const onConnect = () => {
          sock.end(payload);
        };
        const sock: Socket =
          t.protocol === 'tls'
            ? tlsConnect({ host: t.host, port: t.port, servername: /^[\d.:]+$/.test(t.host) ? undefined : t.host, ...(t.ca ? { ca: t.ca } : {}) }, onConnect)
            : tcpConnect({ host: t.host, port: t.port }, onConnect);
        const timer = setTimeout(() => finish(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
        sock.on('error', finish);
        // The peer read to our end of stream and closed: everything was handed over.
        sock.on('close', (hadError) => finish(hadError ? new Error('connection closed with an error') : null));
        sock.resume(); // discard anything the server says (nothing, for syslog)
      });
    },
  };
}
