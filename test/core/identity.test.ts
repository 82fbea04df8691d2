import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { conditionReasons, freshMfa, mfaReason, SIGN_IN_RISKS, type MfaEvidence, type SignInRisk } from '../../src/core/identity.js';
import type { Eligibility, Principal } from '../../src/core/model.js';
import { evaluateActivation, type CallerFacts } from '../../src/core/requests.js';
import { effectiveSettings, normalizeSettings } from '../../src/core/settings.js';
import { Invalid } from '../../src/core/errors.js';

const MIN = 60_000;
const T0 = Date.parse('2024-03-06T10:00:00Z');

const alice: Principal = { id: 'alice', kind: 'user', name: 'alice', email: null, managerId: null, adminUnit: null, attributes: {}, status: 'active', createdAt: 0, updatedAt: 0 };
const elig: Eligibility = { id: 'e1', principalId: 'alice', roleId: 'r', scope: '/', startsAt: 0, endsAt: null, justification: 'x', createdBy: 'admin', createdAt: 0, removedAt: null };
const NO_FACTS: CallerFacts = { mfa: [], deviceCompliant: null, signInRisk: null, sourceIp: null };

function decide(settingsIn: Record<string, unknown>, caller: CallerFacts): string[] {
  const s = effectiveSettings(normalizeSettings({ justification: { required: false }, ...settingsIn }, 'high', 5 * MIN));
  const plan = evaluateActivation({
    requester: alice, settings: s, scope: '/prod', durationMs: 30 * MIN, justification: '', ticket: null, startAt: null,
    eligibilities: [elig], stageApprovers: [], minActivationMs: 5 * MIN, now: T0, maxScheduleAheadMs: 0, caller,
  });
  return plan.ok ? [] : plan.reasons;
}

describe('MFA strength and freshness', () => {
  const totp = (ago: number): MfaEvidence => ({ method: 'totp', at: T0 - ago });
  const key = (ago: number): MfaEvidence => ({ method: 'webauthn', at: T0 - ago, credentialId: 'c1' });

  it('needs nothing when the role asks for nothing', () => {
    assert.equal(mfaReason('none', [], T0, 5 * MIN), null);
  });
  it('any: a fresh TOTP, passkey or recovery code meets it; stale or missing does not', () => {
    assert.equal(mfaReason('any', [totp(MIN)], T0, 5 * MIN), null);
    assert.equal(mfaReason('any', [key(MIN)], T0, 5 * MIN), null);
    assert.equal(mfaReason('any', [{ method: 'recovery_code', at: T0 }], T0, 5 * MIN), null);
    assert.equal(mfaReason('any', [totp(6 * MIN)], T0, 5 * MIN), 'mfa_required');
    assert.equal(mfaReason('any', [], T0, 5 * MIN), 'mfa_required');
  });
  it('phishing_resistant: only WebAuthn; a fresh TOTP is too weak, a stale passkey is missing MFA', () => {
    assert.equal(mfaReason('phishing_resistant', [key(MIN)], T0, 5 * MIN), null);
    assert.equal(mfaReason('phishing_resistant', [totp(0)], T0, 5 * MIN), 'mfa_too_weak');
    assert.equal(mfaReason('phishing_resistant', [{ method: 'recovery_code', at: T0 }], T0, 5 * MIN), 'mfa_too_weak');
    assert.equal(mfaReason('phishing_resistant', [key(6 * MIN)], T0, 5 * MIN), 'mfa_required');
    assert.equal(mfaReason('phishing_resistant', [key(6 * MIN), totp(0)], T0, 5 * MIN), 'mfa_too_weak');
  });
  it('evidence from the future (clock skew, forged) does not count', () => {
    assert.equal(mfaReason('any', [{ method: 'totp', at: T0 + MIN }], T0, 5 * MIN), 'mfa_required');
  });
  it('names the verification that met it: the phishing-resistant one first', () => {
    assert.deepEqual(freshMfa([totp(0), key(2 * MIN)], T0, 5 * MIN).by, key(2 * MIN));
  });
  it('property: met exactly when some evidence is fresh and strong enough', () => {
    const ev = fc.record({ method: fc.constantFrom<'totp' | 'webauthn' | 'recovery_code'>('totp', 'webauthn', 'recovery_code'), at: fc.integer({ min: T0 - 20 * MIN, max: T0 + MIN }) });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 5 }), fc.constantFrom<'none' | 'any' | 'phishing_resistant'>('none', 'any', 'phishing_resistant'), fc.integer({ min: MIN, max: 15 * MIN }), (evs, req, fresh) => {
        const ok = (e: MfaEvidence) => e.at <= T0 && T0 - e.at <= fresh && (req !== 'phishing_resistant' || e.method === 'webauthn');
        const met = req === 'none' || evs.some(ok);
        assert.equal(mfaReason(req, evs, T0, fresh) === null, met);
      }),
      { numRuns: 500 },
    );
  });
});

describe('role conditions: each one flips the decision, a missing fact denies', () => {
  const clean: CallerFacts = { mfa: [], deviceCompliant: true, signInRisk: 'none', sourceIp: '10.1.2.3' };
  const all = { conditions: { deviceCompliant: true, maxSignInRisk: 'low', networks: ['10.0.0.0/8'] } };

  it('all conditions met: allowed', () => {
    assert.deepEqual(decide(all, clean), []);
  });
  it('device: not compliant, or unknown', () => {
    assert.deepEqual(decide(all, { ...clean, deviceCompliant: false }), ['device_not_compliant']);
    assert.deepEqual(decide(all, { ...clean, deviceCompliant: null }), ['device_compliance_unknown']);
  });
  it('sign-in risk: above the maximum, or unknown', () => {
    assert.deepEqual(decide(all, { ...clean, signInRisk: 'low' }), []);
    assert.deepEqual(decide(all, { ...clean, signInRisk: 'medium' }), ['sign_in_risk_too_high']);
    assert.deepEqual(decide(all, { ...clean, signInRisk: null }), ['sign_in_risk_unknown']);
  });
  it('network: outside the ranges, or no address (an IPv4-mapped address counts as IPv4)', () => {
    assert.deepEqual(decide(all, { ...clean, sourceIp: '192.168.1.1' }), ['network_not_allowed']);
    assert.deepEqual(decide(all, { ...clean, sourceIp: null }), ['network_not_allowed']);
    assert.deepEqual(decide(all, { ...clean, sourceIp: '::ffff:10.9.9.9' }), []);
  });
  it('MFA is its own reason next to the conditions', () => {
    assert.deepEqual(decide({ ...all, mfa: 'phishing_resistant' }, { ...clean, mfa: [{ method: 'totp', at: T0 }] }), ['mfa_too_weak']);
    assert.deepEqual(decide({ mfa: 'any' }, NO_FACTS), ['mfa_required']);
  });
  it('a role without conditions ignores missing facts', () => {
    assert.deepEqual(decide({}, NO_FACTS), []);
  });
  it('property: the reasons are exactly the failing conditions', () => {
    const risk = fc.constantFrom<SignInRisk | null>(null, ...SIGN_IN_RISKS);
    fc.assert(
      fc.property(fc.boolean(), fc.option(fc.constantFrom(...SIGN_IN_RISKS), { nil: null }), fc.boolean(), fc.option(fc.boolean(), { nil: null }), risk, fc.boolean(), (needDevice, maxRisk, needNet, device, r, inNet) => {
        const got = conditionReasons({ deviceCompliant: needDevice, maxSignInRisk: maxRisk, networks: needNet ? ['x'] : [] }, { deviceCompliant: device, signInRisk: r, inAllowedNetwork: inNet });
        const want: string[] = [];
        if (needDevice && device !== true) want.push(device === null ? 'device_compliance_unknown' : 'device_not_compliant');
        if (maxRisk !== null && (r === null || SIGN_IN_RISKS.indexOf(r) > SIGN_IN_RISKS.indexOf(maxRisk))) want.push(r === null ? 'sign_in_risk_unknown' : 'sign_in_risk_too_high');
        if (needNet && !inNet) want.push('network_not_allowed');
        assert.deepEqual(got, want);
      }),
      { numRuns: 500 },
    );
  });
});

describe('settings for MFA and conditions', () => {
  const norm = (i: unknown) => normalizeSettings(i, 'high', 5 * MIN);
  it('defaults: no MFA, five minutes freshness, no conditions, no break-glass', () => {
    const s = norm({});
    assert.equal(s.mfa, 'none');
    assert.equal(s.mfaFreshness, 'PT5M');
    assert.deepEqual(s.conditions, { deviceCompliant: false, maxSignInRisk: null, networks: [] });
    assert.equal(s.breakGlass, false);
  });
  it('networks are stored in canonical form', () => {
    assert.deepEqual(norm({ conditions: { networks: ['10.1.2.3/8', '2001:DB8::/32'] } }).conditions.networks, ['10.0.0.0/8', '2001:db8::/32']);
  });
  for (const [input, field] of [
    [{ mfa: 'sms' }, 'settings.mfa'],
    [{ mfaFreshness: 'PT1S' }, 'settings.mfaFreshness'],
    [{ mfaFreshness: 'P2D' }, 'settings.mfaFreshness'],
    [{ conditions: { maxSignInRisk: 'extreme' } }, 'settings.conditions.maxSignInRisk'],
    [{ conditions: { networks: ['10.0.0.0/33'] } }, 'settings.conditions.networks[0]'],
    [{ conditions: { networks: '10.0.0.0/8' } }, 'settings.conditions.networks'],
    [{ conditions: { ipAllow: [] } }, 'settings.conditions.ipAllow'],
    [{ conditions: { deviceCompliant: 'yes' } }, 'settings.conditions.deviceCompliant'],
    [{ breakGlass: 1 }, 'settings.breakGlass'],
  ] as const) {
    it(`refuses ${JSON.stringify(input)} naming ${field}`, () => {
      assert.throws(() => norm(input), (e: unknown) => e instanceof Invalid && e.code === 'invalid_settings' && e.details.field === field);
    });
  }
});
