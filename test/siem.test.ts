import assert from 'node:assert/strict';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { syslogSink } from '../src/adapters/siem/syslog.js';
import { parseSignatureHeader, signSiemBatch, siemWebhookSink } from '../src/adapters/siem/webhook.js';
import type { SiemSink } from '../src/app/siem-ports.js';
import { SIEM_BATCH, SIEM_MAX_ATTEMPTS, siemBackoffMs } from '../src/app/siem.js';
import { ManualClock } from '../src/core/clock.js';
import { readConfig } from '../src/server/config.js';
import { openStore } from '../src/storage/index.js';
import { ADMIN_TOKEN, BACKENDS, PG_URL, startServer, T0, user, type TestServer } from './helpers/harness.js';
import { RSYSLOG_SKIP, startRsyslog, type ReceivedLine, type RsyslogHandle } from './helpers/rsyslog.js';

/**
 * SIEM export of the audit log: RFC 5424 over TCP and TLS to a real rsyslogd, and a batched,
 * HMAC-signed webhook to a local receiver that checks every signature. Delivery runs in the job
 * (never on the request path), at least once, with back-off, dead letters, replay, and a cursor
 * that survives a restart. On both backends.
 */
const A = ADMIN_TOKEN;
const SECRET = 'siem-test-secret-' + randomBytes(8).toString('hex');

/** The structured data's params, unescaped (RFC 5424 §6.3.3). */
function sdParams(sd: string): Record<string, string> {
  assert.ok(sd.startsWith('[elevate@32473 '), sd);
  const out: Record<string, string> = {};
  for (const m of sd.matchAll(/ ([a-z]+)="((?:[^"\\\]]|\\.)*)"/g)) out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
}

interface Received {
  events: any[];
  delivery: string;
}

/** A local SIEM webhook receiver: checks each signature, records batches; `mode` says how it answers. */
async function receiver() {
  const r = {
    mode: 'ok' as 'ok' | 'down' | 'take-then-fail',
    batches: [] as Received[],
    badSignatures: 0,
    hits: 0,
    server: null as Server | null,
    url: '',
    seqs(): number[] {
      return this.batches.flatMap((b) => b.events.map((e) => e.seq as number));
    },
  };
  r.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      r.hits++;
      if (r.mode === 'down') {
        res.statusCode = 503;
        return res.end();
      }
      const sig = parseSignatureHeader(req.headers['x-elevate-signature'] as string | undefined);
      const want = sig ? signSiemBatch(SECRET, sig.t, body) : '';
      if (!sig || sig.v1.length !== want.length || !timingSafeEqual(Buffer.from(sig.v1), Buffer.from(want))) {
        r.badSignatures++;
        res.statusCode = 401;
        return res.end();
      }
      r.batches.push({ events: (JSON.parse(body) as { events: any[] }).events, delivery: String(req.headers['x-elevate-delivery']) });
      res.statusCode = r.mode === 'take-then-fail' ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => r.server!.listen(0, '127.0.0.1', resolve));
  const addr = r.server.address();
  r.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/siem/in?token=query-secret`;
  return Object.assign(r, { close: () => new Promise<void>((resolve) => r.server!.close(() => resolve())) });
}

const head = async (s: TestServer): Promise<number> => s.store.transaction(async (tx) => (await s.store.audit.head(tx)).seq);
const audit = async (s: TestServer) => (await s.call('GET', '/api/v1/audit?limit=1000', A)).body.items as any[];
const sinkStatus = async (s: TestServer, name: string) => {
  const r = await s.call('GET', '/api/v1/siem', A);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.sinks.find((k: any) => k.name === name);
  assert.ok(x, JSON.stringify(r.body));
  return x;
};

/** Some real activity: principals, a role, an eligibility, an activation, and denied attempts. */
async function activity(s: TestServer, tag: string): Promise<void> {
  const alice = await user(s, `alice-${tag}`);
  assert.equal((await s.call('POST', '/api/v1/roles', A, { id: `reader-${tag}`, riskTier: 'low' })).status, 201);
  assert.equal((await s.call('POST', '/api/v1/eligibilities', A, { principalId: `alice-${tag}`, roleId: `reader-${tag}`, scope: '/prod', endsAt: null, justification: 'rota' })).status, 201);
  const act = await s.call('POST', '/api/v1/requests', alice, { roleId: `reader-${tag}`, scope: '/prod', duration: 'PT30M', justification: 'Investigating INC-1234 on the replica' });
  assert.equal(act.status, 201, JSON.stringify(act.body));
  // Denied, and audited as such: an admin-only read by a non-admin.
  assert.equal((await s.call('GET', '/api/v1/siem', alice)).status, 403);
}

describe('SIEM configuration', () => {
  test('a malformed ELEVATE_SYSLOG_URL or webhook setting stops the start with a message naming the variable', () => {
    const base = { ELEVATE_DATA_DIR: '/tmp/elevate-config-test' };
    for (const url of ['udp://127.0.0.1:514', 'tcp://127.0.0.1', 'tcp://:514', 'tls://host:99999', 'tcp://u:p@host:514', 'tcp://host:514/path', 'nonsense']) {
      assert.throws(() => readConfig({ ...base, ELEVATE_SYSLOG_URL: url }), /ELEVATE_SYSLOG_URL must be tcp:\/\/host:port or tls:\/\/host:port/, url);
    }
    assert.throws(() => readConfig({ ...base, ELEVATE_SYSLOG_URL: 'tcp://h:514', ELEVATE_SYSLOG_CA_FILE: '/etc/hostname' }), /only used with a tls/);
    assert.throws(() => readConfig({ ...base, ELEVATE_SYSLOG_URL: 'tls://h:6514', ELEVATE_SYSLOG_CA_FILE: '/nonexistent/ca.pem' }), /ELEVATE_SYSLOG_CA_FILE cannot be read/);
    assert.throws(() => readConfig({ ...base, ELEVATE_SIEM_WEBHOOK_URL: 'ftp://x/y', ELEVATE_SIEM_WEBHOOK_SECRET: SECRET }), /ELEVATE_SIEM_WEBHOOK_URL must be an http/);
    assert.throws(() => readConfig({ ...base, ELEVATE_SIEM_WEBHOOK_URL: 'https://siem.example/in' }), /ELEVATE_SIEM_WEBHOOK_SECRET .* is required/);
    assert.throws(() => readConfig({ ...base, ELEVATE_SIEM_WEBHOOK_SECRET: SECRET }), /without ELEVATE_SIEM_WEBHOOK_URL/);

    const ok = readConfig({ ...base, ELEVATE_SYSLOG_URL: 'tls://siem.example:6514', ELEVATE_SIEM_WEBHOOK_URL: 'https://siem.example/in', ELEVATE_SIEM_WEBHOOK_SECRET: SECRET, ELEVATE_METRICS_TOKEN: 'm' });
    assert.deepEqual(ok.siem.syslog, { protocol: 'tls', host: 'siem.example', port: 6514, ca: null });
    assert.deepEqual(ok.siem.webhook, { url: 'https://siem.example/in', secret: SECRET });
    assert.equal(ok.metricsToken, 'm');
    assert.deepEqual(readConfig(base).siem, { syslog: null, webhook: null });
  });
});

let rs: RsyslogHandle;
before(async () => {
  if (!RSYSLOG_SKIP) rs = (await startRsyslog()) as RsyslogHandle;
});
after(async () => {
  await rs?.dispose();
});

for (const backend of BACKENDS) {
  describe(`SIEM export on ${backend.name}`, { skip: backend.skip }, () => {
    test('syslog over TCP: every audit event arrives, in order, as RFC 5424 with its structured data; nothing is sent on the request path', { skip: RSYSLOG_SKIP }, async () => {
      const hostname = `elevate-${backend.name}-tcp-${randomBytes(3).toString('hex')}`;
      const s = await startServer(backend.name, { server: { siemSinks: { syslog: syslogSink({ protocol: 'tcp', host: '127.0.0.1', port: rs.tcpPort, hostname }) } } });
      try {
        await activity(s, 'tcp');
        const mine = (l: ReceivedLine[]) => l.filter((x) => x.host === hostname);
        // Requests returned; nothing was sent yet: export is the job's work.
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(mine(rs.received('tcp')).length, 0);
        const before = await sinkStatus(s, 'syslog');
        assert.equal(before.target, `tcp://127.0.0.1:${rs.tcpPort}`);
        assert.ok(before.lag > 0);

        const sent = await s.uc.siem.dispatch();
        const events = await audit(s);
        const h = await head(s);
        assert.equal(sent, h);
        const lines = mine(await rs.waitFor('tcp', (l) => mine(l).length >= h));
        assert.equal(lines.length, h, 'each event exactly once');
        for (const [i, line] of lines.entries()) {
          const e = events.find((x) => x.seq === i + 1);
          assert.ok(e, `event ${i + 1}`);
          const sd = sdParams(line.sd);
          assert.equal(Number(sd.seq), e.seq);
          assert.deepEqual([sd.id, sd.type, sd.outcome, sd.actor, sd.principal, sd.role, sd.scope], [e.id, e.type, e.outcome, e.actorId ?? undefined, e.principalId ?? undefined, e.roleId ?? undefined, e.scope ?? undefined]);
          assert.equal(sd.hash, e.hash);
          assert.equal(line.msgid, e.type.slice(0, 32));
          assert.equal(line.app, 'elevate');
          assert.equal(line.facility, 10); // authpriv
          assert.equal(line.severity, e.outcome === 'denied' ? 4 : 5, `${e.type} ${e.outcome}`);
          const msg = JSON.parse(line.msg);
          assert.equal(msg.hash, e.hash);
          assert.equal(msg.seq, e.seq);
        }
        const denied = lines.filter((l) => sdParams(l.sd).outcome === 'denied');
        assert.ok(denied.length >= 1 && denied.every((l) => l.pri === 84), 'denials are warnings');
        assert.ok(lines.some((l) => sdParams(l.sd).type === 'assignment.activated' && sdParams(l.sd).role === 'reader-tcp' && sdParams(l.sd).scope === '/prod'));

        const st = await sinkStatus(s, 'syslog');
        assert.equal(st.deliveredSeq, h);
        assert.equal(st.lag, 0);
        assert.equal(st.lastError, null);
        assert.equal(st.lastDeliveredAt, new Date(s.clock.now()).toISOString());
        // Nothing new: nothing sent again.
        assert.equal(await s.uc.siem.dispatch(), 0);
      } finally {
        await s.cleanup();
      }
    });

    test('syslog over TLS with the configured CA; a server the CA does not vouch for fails the batch and backs off', { skip: RSYSLOG_SKIP }, async () => {
      const hostname = `elevate-${backend.name}-tls-${randomBytes(3).toString('hex')}`;
      const tls = syslogSink({ protocol: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: rs.caPem, hostname });
      let untrusted = true;
      const wrongCa = syslogSink({ protocol: 'tls', host: '127.0.0.1', port: rs.tlsPort, ca: null, hostname });
      const sink: SiemSink = { target: tls.target, send: (evs) => (untrusted ? wrongCa.send(evs) : tls.send(evs)) };
      const s = await startServer(backend.name, { server: { siemSinks: { syslog: sink } } });
      try {
        await activity(s, 'tls');
        assert.equal(await s.uc.siem.dispatch(), 0);
        let st = await sinkStatus(s, 'syslog');
        assert.equal(st.attempts, 1);
        assert.match(st.lastError, /syslog tls: .*(certificate|CERT)/i);
        assert.equal(st.deliveredSeq, 0);
        assert.equal(st.nextAttemptAt, new Date(s.clock.now() + siemBackoffMs(1)).toISOString());
        assert.equal(rs.received('tls').filter((l) => l.host === hostname).length, 0);

        untrusted = false;
        assert.equal(await s.uc.siem.dispatch(), 0, 'backing off: not due yet');
        s.clock.advance(siemBackoffMs(1));
        const h = await head(s);
        assert.equal(await s.uc.siem.dispatch(), h);
        const lines = (await rs.waitFor('tls', (l) => l.filter((x) => x.host === hostname).length >= h)).filter((x) => x.host === hostname);
        assert.deepEqual(lines.map((l) => Number(sdParams(l.sd).seq)), Array.from({ length: h }, (_, i) => i + 1));
        st = await sinkStatus(s, 'syslog');
        assert.deepEqual([st.deliveredSeq, st.attempts, st.lastError], [h, 0, null]);
      } finally {
        await s.cleanup();
      }
    });

    test('webhook: batches signed with HMAC; receiver down → back-off → dead letter (visible, audited); replay delivers it', async () => {
      const rx = await receiver();
      const s = await startServer(backend.name, { server: { siemSinks: { webhook: siemWebhookSink({ url: rx.url, secret: SECRET }) } } });
      try {
        await activity(s, 'wh');
        // Enough events for more than one batch.
        for (let i = 0; i < SIEM_BATCH; i++) assert.equal((await s.call('POST', '/api/v1/principals', A, { id: `svc-${i}`, kind: 'service', name: `svc ${i}` })).status, 201);
        const h = await head(s);
        assert.ok(h > SIEM_BATCH);
        assert.equal(await s.uc.siem.dispatch(), h);
        assert.equal(rx.badSignatures, 0);
        assert.ok(rx.batches.length >= 2 && rx.batches.every((b) => b.events.length <= SIEM_BATCH), `${rx.batches.length} batches`);
        assert.deepEqual(rx.seqs(), Array.from({ length: h }, (_, i) => i + 1));
        assert.equal(rx.batches[0]!.delivery, `1-${SIEM_BATCH}`);
        const st0 = await sinkStatus(s, 'webhook');
        assert.equal(st0.target, rx.url.replace(/\?.*$/, ''), 'no query string (it may carry a token)');

        // The receiver goes down: each failure backs off, then the batch becomes a dead letter.
        rx.mode = 'down';
        await activity(s, 'down');
        const h2 = await head(s);
        for (let attempt = 1; attempt <= SIEM_MAX_ATTEMPTS; attempt++) {
          const hits = rx.hits;
          assert.equal(await s.uc.siem.dispatch(), 0);
          assert.equal(rx.hits, hits + 1, `attempt ${attempt} reached the receiver`);
          const st = await sinkStatus(s, 'webhook');
          if (attempt < SIEM_MAX_ATTEMPTS) {
            assert.deepEqual([st.attempts, st.lastError, st.deliveredSeq], [attempt, 'webhook answered HTTP 503', h]);
            assert.equal(st.nextAttemptAt, new Date(s.clock.now() + siemBackoffMs(attempt)).toISOString());
            assert.ok(!st.lastError.includes(SECRET) && !st.lastError.includes('query-secret'));
            assert.equal(await s.uc.siem.dispatch(), 0);
            assert.equal(rx.hits, hits + 1, 'not retried before the back-off');
            s.clock.advance(siemBackoffMs(attempt));
          } else {
            assert.equal(st.deliveredSeq, h2, 'the cursor moved past the dead letter');
            assert.equal(st.deadLetters, 1);
          }
        }
        const dls = await s.call('GET', '/api/v1/siem/dead-letters', A);
        assert.equal(dls.status, 200);
        assert.equal(dls.body.items.length, 1);
        const dl = dls.body.items[0];
        assert.deepEqual([dl.sink, dl.fromSeq, dl.toSeq, dl.attempts, dl.error, dl.replayedAt], ['webhook', h + 1, h2, SIEM_MAX_ATTEMPTS, 'webhook answered HTTP 503', null]);
        const lettered = (await audit(s)).filter((e) => e.type === 'siem.dead_lettered');
        assert.equal(lettered.length, 1);
        assert.equal(lettered[0].data.deadLetterId, dl.id);

        // Non-admins cannot see or replay; unknown ids are 404; a replay while still down is 409 and changes nothing but the count.
        const bob = await user(s, 'bob');
        assert.equal((await s.call('GET', '/api/v1/siem/dead-letters', bob)).status, 403);
        assert.equal((await s.call('POST', `/api/v1/siem/dead-letters/${dl.id}/replay`, bob)).status, 403);
        assert.equal((await s.call('POST', '/api/v1/siem/dead-letters/nope/replay', A)).body.error.code, 'not_found');
        const failed = await s.call('POST', `/api/v1/siem/dead-letters/${dl.id}/replay`, A);
        assert.equal(failed.status, 409);
        assert.equal(failed.body.error.code, 'replay_failed');

        rx.mode = 'ok';
        const before = rx.batches.length;
        const replayed = await s.call('POST', `/api/v1/siem/dead-letters/${dl.id}/replay`, A);
        assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
        assert.equal(replayed.body.replayedAt, new Date(s.clock.now()).toISOString());
        assert.deepEqual(rx.batches.slice(before).flatMap((b) => b.events.map((e) => e.seq)), Array.from({ length: h2 - h }, (_, i) => h + 1 + i));
        assert.equal((await sinkStatus(s, 'webhook')).deadLetters, 0);
        assert.ok((await audit(s)).some((e) => e.type === 'siem.dead_letter_replayed' && e.data.deadLetterId === dl.id && e.actorId === 'admin'));

        // And the export carries on after the dead letter (its own audit events included).
        assert.ok((await s.uc.siem.dispatch()) > 0);
        const all = new Set(rx.seqs());
        for (let seq = 1; seq <= (await sinkStatus(s, 'webhook')).deliveredSeq; seq++) assert.ok(all.has(seq), `seq ${seq} delivered`);
      } finally {
        await s.cleanup();
        await rx.close();
      }
    });

    test('restart resumes from the stored cursor: no gaps, duplicates only for a batch whose outcome was not recorded', async () => {
      const rx = await receiver();
      const where = backend.name === 'sqlite' ? { dir: mkdtempSync(join(tmpdir(), 'elevate-siem-')) } : { schema: `t_${randomBytes(6).toString('hex')}` };
      const open = () =>
        where.dir !== undefined ? openStore({ sqlitePath: join(where.dir, 'elevate.db') }) : openStore({ databaseUrl: PG_URL!, pgSchema: where.schema! });
      const drop = async () => {
        if (where.dir) rmSync(where.dir, { recursive: true, force: true });
        else {
          const pg = (await import('pg')).default;
          const c = new pg.Client({ connectionString: PG_URL! });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${where.schema}" CASCADE`);
          await c.end();
        }
      };
      const clock = new ManualClock(T0);
      const sinks = { webhook: siemWebhookSink({ url: rx.url, secret: SECRET }) };
      const noCleanup = async () => {};
      try {
        const s1 = await startServer(backend.name, { clock, store: { store: await open(), cleanup: noCleanup }, server: { siemSinks: sinks } });
        await activity(s1, 'r1');
        const first = await head(s1);
        assert.equal(await s1.uc.siem.dispatch(), first);
        await activity(s1, 'r2');
        // The receiver takes the batch but answers 500: the outcome is a failure, so it will come again.
        rx.mode = 'take-then-fail';
        assert.equal(await s1.uc.siem.dispatch(), 0);
        await activity(s1, 'r3'); // committed, never sent by this node
        const last = await head(s1);
        await s1.close();

        rx.mode = 'ok';
        const s2 = await startServer(backend.name, { clock, store: { store: await open(), cleanup: noCleanup }, server: { siemSinks: sinks } });
        try {
          const st = await sinkStatus(s2, 'webhook');
          assert.deepEqual([st.deliveredSeq, st.attempts], [first, 1], 'the cursor and the retry state survived the restart');
          clock.advance(siemBackoffMs(1));
          assert.ok((await s2.uc.siem.dispatch()) >= last - first);
          const seqs = rx.seqs();
          const h = await head(s2);
          for (let seq = 1; seq <= h; seq++) assert.ok(seqs.includes(seq), `seq ${seq} delivered (no gap)`);
          assert.ok(seqs.length > new Set(seqs).size, 'the batch whose outcome failed was delivered again (at least once)');
          assert.equal((await sinkStatus(s2, 'webhook')).deliveredSeq, h);
        } finally {
          await s2.close();
        }
      } finally {
        await drop();
        await rx.close();
      }
    });
  });
}
