import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { signWebhook } from '../src/adapters/webhook/webhook.js';
import { MAX_ATTEMPTS } from '../src/app/outbox.js';
import { ADMIN_TOKEN, BACKENDS, startServer, type TestServer } from './helpers/harness.js';

/** A local receiver standing in for the notification endpoint: it checks every signature. */
function receiver(secret: string) {
  const got: { headers: IncomingHttpHeaders; body: string; valid: boolean }[] = [];
  let failWith = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const ts = String(req.headers['x-elevate-timestamp']);
      const valid = req.headers['x-elevate-signature'] === signWebhook(secret, ts, body);
      got.push({ headers: req.headers, body, valid });
      res.statusCode = failWith || (valid ? 204 : 401);
      res.end();
    });
  });
  return {
    got,
    fail: (status: number) => (failWith = status),
    listen: () => new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as { port: number }).port}/hook`))),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const b of BACKENDS) {
  describe(`outbox delivery (${b.name})`, { skip: b.skip }, () => {
    const rx = receiver('hook-secret');
    let s: TestServer;
    before(async () => {
      const url = await rx.listen();
      s = await startServer(b.name, { server: { notifyWebhook: { url, secret: 'hook-secret' } } });
    });
    after(async () => {
      await s.cleanup();
      await rx.close();
    });

    const enqueue = (id: string) =>
      s.store.transaction((tx) => s.store.outbox.enqueue(tx, { id, kind: 'notify', payload: { event: 'breakglass.activated', principalId: 'bob' }, createdAt: s.clock.now(), attempts: 0, nextAttemptAt: s.clock.now(), deliveredAt: null, lastError: null }));

    it('delivers after commit, signed, once', async () => {
      await enqueue('n-1');
      await s.jobs.tick();
      assert.equal(rx.got.length, 1);
      assert.ok(rx.got[0]!.valid, 'signature checks out');
      assert.equal(rx.got[0]!.headers['x-elevate-delivery'], 'n-1');
      assert.deepEqual(JSON.parse(rx.got[0]!.body).payload, { event: 'breakglass.activated', principalId: 'bob' });
      await s.jobs.tick();
      assert.equal(rx.got.length, 1, 'not sent twice');
      const list = await s.call('GET', '/api/v1/outbox', ADMIN_TOKEN);
      assert.ok(list.body.items.find((i: any) => i.id === 'n-1').deliveredAt);
    });

    it('retries failures with back-off, then keeps a visible dead letter', async () => {
      rx.fail(503);
      await enqueue('n-2');
      await s.jobs.tick();
      const before = rx.got.length;
      await s.jobs.tick();
      assert.equal(rx.got.length, before, 'not retried before the back-off passes');
      for (let i = 1; i < MAX_ATTEMPTS; i++) {
        s.clock.advance(3_600_000);
        await s.jobs.tick();
      }
      const dead = (await s.call('GET', '/api/v1/outbox?undelivered=true', ADMIN_TOKEN)).body.items.find((i: any) => i.id === 'n-2');
      assert.equal(dead.attempts, MAX_ATTEMPTS);
      assert.equal(dead.nextAttemptAt, null);
      assert.match(dead.lastError, /HTTP 503/);
      const sent = rx.got.length;
      s.clock.advance(86_400_000);
      await s.jobs.tick();
      assert.equal(rx.got.length, sent, 'a dead letter is not retried by itself');
      rx.fail(0);
    });

    it('only admins see the outbox', async () => {
      await s.call('POST', '/api/v1/principals', ADMIN_TOKEN, { id: 'eve', kind: 'user' });
      const t = await s.call('POST', '/api/v1/principals/eve/tokens', ADMIN_TOKEN, {});
      assert.equal((await s.call('GET', '/api/v1/outbox', t.body.token)).status, 403);
    });
  });
}
