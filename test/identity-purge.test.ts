import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, sessionFor, startServer, user, type TestServer } from './helpers/harness.js';
import { sessionIdOf } from '../src/app/sessions.js';

/** Sign-in state does not pile up: the jobs drop challenges, old attempt counters and ended sessions. */
for (const b of BACKENDS) {
  describe(`purging sign-in state (${b.name})`, { skip: b.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(b.name);
      await user(s, 'frank');
    });
    after(() => s.cleanup());

    it('keeps what is live, drops what ended more than a day ago', async () => {
      const now = s.clock.now();
      const live = await sessionFor(s, 'frank');
      const ended = await sessionFor(s, 'frank');
      await s.store.transaction(async (tx) => {
        await s.store.sessions.revoke(tx, sessionIdOf(ended), now);
        await s.store.throttles.put(tx, { key: 'login:user:old', failures: 3, windowStartedAt: now, lockedUntil: null });
        await s.store.throttles.put(tx, { key: 'login:user:locked', failures: 5, windowStartedAt: now, lockedUntil: now + 3 * 86_400_000 });
        await s.store.challenges.put(tx, { id: 'c-old', kind: 'webauthn_auth', principalId: 'frank', data: {}, expiresAt: now + 60_000 });
      });
      s.clock.advance(25 * 3_600_000);
      // 25 h later: the 12 h session ended 13 h ago (kept a day), the revoked one 25 h ago (dropped).
      await s.jobs.tick();
      await s.store.transaction(async (tx) => {
        assert.ok(await s.store.sessions.get(tx, sessionIdOf(live)), 'a session that ended less than a day ago stays');
        assert.equal(await s.store.sessions.get(tx, sessionIdOf(ended)), null, 'an ended session goes');
        assert.equal(await s.store.throttles.get(tx, 'login:user:old').then((t) => t?.failures ?? 0), 0, 'an old counter goes');
        assert.equal((await s.store.throttles.get(tx, 'login:user:locked'))?.failures, 5, 'a lock still running stays');
        assert.equal(await s.store.challenges.get(tx, 'c-old', 'webauthn_auth', 0), null, 'an expired challenge goes');
      });
    });
  });
}
