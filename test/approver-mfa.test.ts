import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSync } from 'otplib';
import { TOTP } from '../src/app/mfa.js';
import { ADMIN_TOKEN, BACKENDS, sessionFor, startServer, user, type TestServer } from './helpers/harness.js';

/**
 * MFA at activation through an API token (X-Elevate-TOTP), and approving is as privileged as
 * activating: the approver's own fresh MFA of the role's strength, or the decision is refused.
 */
const JUST = 'deploying the hotfix for INC-881 to payments';

for (const b of BACKENDS) {
  describe(`MFA for requesters and approvers (${b.name})`, { skip: b.skip }, () => {
    let s: TestServer;
    const tokens: Record<string, string> = {};
    const secrets: Record<string, string> = {};
    const code = (who: string) => generateSync({ secret: secrets[who]!, epoch: Math.floor(s.clock.now() / 1000), ...TOTP });

    /** Factors are enrolled in a browser session; an API token cannot give itself MFA. */
    async function enrollTotp(who: string) {
      assert.equal((await s.call('POST', '/api/v1/me/mfa/totp', tokens[who]!)).body.error.code, 'session_required');
      const session = await sessionFor(s, who);
      const e = await s.call('POST', '/api/v1/me/mfa/totp', session);
      assert.equal(e.status, 201, JSON.stringify(e.body));
      secrets[who] = e.body.secret;
      assert.ok((await s.call('POST', '/api/v1/me/mfa/totp/confirm', session, { code: code(who) })).status < 300);
      s.clock.advance(30_000);
    }

    before(async () => {
      s = await startServer(b.name);
      for (const id of ['alice', 'bob']) tokens[id] = await user(s, id);
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'payments-deploy', riskTier: 'high', settings: { mfa: 'any', approval: { required: true, approvers: [{ principal: 'bob' }] } } });
      await s.call('POST', '/api/v1/roles', ADMIN_TOKEN, { id: 'payments-root', riskTier: 'critical', settings: { mfa: 'phishing_resistant', approval: { required: true, approvers: [{ principal: 'bob' }] } } });
      for (const r of ['payments-deploy', 'payments-root']) {
        await s.call('POST', '/api/v1/eligibilities', ADMIN_TOKEN, { principalId: 'alice', roleId: r, scope: '/payments', endsAt: null, justification: 'payments team' });
      }
      await enrollTotp('alice');
      await enrollTotp('bob');
    });
    after(() => s.cleanup());

    it('an API token alone cannot satisfy a role that needs MFA; the answer says how', async () => {
      const r = await s.call('POST', '/api/v1/requests', tokens.alice!, { roleId: 'payments-deploy', scope: '/payments', duration: 'PT30M', justification: JUST });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'mfa_required');
      assert.match(r.body.error.message, /--totp or --step-up/);
    });

    it('a code sent with the request meets it once; the same code again is a replay', async () => {
      const c = code('alice');
      const r = await s.call('POST', '/api/v1/requests', tokens.alice!, { roleId: 'payments-deploy', scope: '/payments', duration: 'PT30M', justification: JUST }, { 'x-elevate-totp': c });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'pending_approval');
      const again = await s.call('POST', '/api/v1/requests', tokens.alice!, { roleId: 'payments-deploy', scope: '/payments/x', duration: 'PT30M', justification: JUST }, { 'x-elevate-totp': c });
      assert.equal(again.status, 403);
      assert.equal(again.body.error.code, 'mfa_code_replayed');
    });

    it('the approver needs their own fresh MFA: refused without, audited; approved with', async () => {
      s.clock.advance(30_000);
      const req = await s.call('POST', '/api/v1/requests', tokens.alice!, { roleId: 'payments-deploy', scope: '/payments/api', duration: 'PT30M', justification: JUST }, { 'x-elevate-totp': code('alice') });
      assert.equal(req.status, 201);
      const bare = await s.call('POST', `/api/v1/requests/${req.body.id}/approve`, tokens.bob!, { reason: 'looks right' });
      assert.equal(bare.status, 403);
      assert.equal(bare.body.error.code, 'mfa_required');
      const still = await s.call('GET', `/api/v1/requests/${req.body.id}`, ADMIN_TOKEN);
      assert.equal(still.body.status ?? still.body.request?.status, 'pending_approval', 'nothing changed');
      const refused = await s.call('GET', '/api/v1/audit?type=request.decision_refused', ADMIN_TOKEN);
      assert.ok(refused.body.items.some((e: any) => e.requestId === req.body.id && e.actorId === 'bob' && e.reasons.includes('mfa_required')));

      const ok = await s.call('POST', `/api/v1/requests/${req.body.id}/approve`, tokens.bob!, { reason: 'looks right' }, { 'x-elevate-totp': code('bob') });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.status, 'active');
      const approved = await s.call('GET', '/api/v1/audit?actor=bob&limit=20', ADMIN_TOKEN);
      const ev = approved.body.items.find((e: any) => e.requestId === req.body.id && e.data.approverMfa);
      assert.equal(ev.data.approverMfa.metBy.method, 'totp');
    });

    it('a phishing-resistant role: TOTP is too weak for the requester and for the approver', async () => {
      s.clock.advance(30_000);
      const r = await s.call('POST', '/api/v1/requests', tokens.alice!, { roleId: 'payments-root', scope: '/payments', duration: 'PT30M', justification: JUST }, { 'x-elevate-totp': code('alice') });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'mfa_too_weak');
    });
  });
}
