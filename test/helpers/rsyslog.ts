import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real rsyslogd (Debian's rsyslog + rsyslog-gnutls) on loopback for the SIEM tests: one plain
 * imtcp listener and one TLS (gtls) listener on free ports, its own work directory and config, no
 * /dev/log (no imuxsock, no imklog). Each listener writes what it receives to its own file with a
 * template that keeps the header fields and the structured data apart.
 */
export interface ReceivedLine {
  pri: number;
  severity: number;
  facility: number;
  msgid: string;
  app: string;
  host: string;
  sd: string;
  msg: string;
}

export interface Rsyslog {
  tcpPort: number;
  tlsPort: number;
  /** PEM of the throwaway CA that signed the TLS listener's certificate. */
  caPem: string;
  caFile: string;
  dir: string;
  received(kind: 'tcp' | 'tls'): ReceivedLine[];
  /** Wait until `pred` holds for what the listener received (polling the file). */
  waitFor(kind: 'tcp' | 'tls', pred: (lines: ReceivedLine[]) => boolean, timeoutMs?: number): Promise<ReceivedLine[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const RSYSLOGD = '/usr/sbin/rsyslogd';

const hasGtls = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].some((a) => existsSync(`/usr/lib/${a}/rsyslog/lmnsd_gtls.so`));
/** `{ skip: RSYSLOG_SKIP }`: false when rsyslogd and its TLS driver are installed, else the reason (CI installs both). */
export const RSYSLOG_SKIP: string | false =
  existsSync(RSYSLOGD) && hasGtls ? false : `${RSYSLOGD} or rsyslog-gnutls not found: syslog export tests skipped (CI installs rsyslog and rsyslog-gnutls)`;
const SEP = '\u001f';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  const key = join(dir, 'server-key.pem');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=Elevate test syslog CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { ca, cert, key };
}

const waitPort = async (port: number, timeoutMs: number): Promise<void> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`rsyslogd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startRsyslog(): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), 'elevate-rsyslog-'));
  const work = join(dir, 'work');
  mkdirSync(work);
  const { ca, cert, key } = makeCerts(dir);
  const tcpPort = await freePort();
  const tlsPort = await freePort();
  const out = { tcp: join(dir, 'tcp.log'), tls: join(dir, 'tls.log') };
  const conf = join(dir, 'rsyslog.conf');
  const tpl = ['%pri%', '%syslogseverity%', '%syslogfacility%', '%msgid%', '%app-name%', '%hostname%', '%structured-data%', '%msg%'].join(SEP);
  writeFileSync(
    conf,
    `global(workDirectory="${work}" maxMessageSize="256k"
       defaultNetstreamDriverCAFile="${ca}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
module(load="imtcp" maxSessions="200")
template(name="siem" type="string" string="${tpl}\\n")
ruleset(name="tcp") { action(type="omfile" file="${out.tcp}" template="siem") }
ruleset(name="tls") { action(type="omfile" file="${out.tls}" template="siem") }
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`,
  );
  let child: ChildProcess | null = null;
  let stderr = '';

  const parse = (file: string): ReceivedLine[] => {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pri, severity, facility, msgid, app, host, sd, ...msg] = l.split(SEP);
        return { pri: Number(pri), severity: Number(severity), facility: Number(facility), msgid: msgid!, app: app!, host: host!, sd: sd!, msg: msg.join(SEP) };
      });
  };

  const r: Rsyslog = {
    tcpPort,
    tlsPort,
    caPem: readFileSync(ca, 'utf8'),
    caFile: ca,
    dir,
    received: (kind) => parse(out[kind]),
    async waitFor(kind, pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const lines = parse(out[kind]);
        if (pred(lines)) return lines;
        if (Date.now() > until) throw new Error(`rsyslog (${kind}) did not receive what was expected; it has ${lines.length} line(s). rsyslogd stderr: ${stderr.slice(-2000)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async start() {
      if (child) return;
      const c = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      live.add(c);
      child = c;
      c.once('exit', () => {
        live.delete(c);
        if (child === c) child = null;
      });
      await Promise.all([waitPort(tcpPort, 10_000), waitPort(tlsPort, 10_000)]);
    },
    async stop() {
      const c = child;
      if (!c) return;
      child = null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        c.kill('SIGTERM');
      });
    },
  };
  await r.start();
  const origStop = r.stop;
  // Removing the directory is the caller's last step: `dispose`.
  return Object.assign(r, {
    stop: origStop,
    dispose: async () => {
      await origStop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export type RsyslogHandle = Awaited<ReturnType<typeof startRsyslog>> & { dispose(): Promise<void> };
