// RFC 6238 Appendix B (SHA-1) through the exact otplib configuration src/app/mfa.ts uses: proves the
// algorithm, the step arithmetic and that time comes from the epoch we pass (never Date.now).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSync, verifySync } from 'otplib';
import { normalizeRecoveryCode, TOTP } from '../../src/app/mfa.js';

const SECRET = new TextEncoder().encode('12345678901234567890');
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

test('RFC 6238 Appendix B SHA-1 vectors (8 digits) with our algorithm and period', () => {
  assert.equal(TOTP.algorithm, 'sha1');
  assert.equal(TOTP.period, 30);
  for (const [epoch, code] of VECTORS) {
    assert.equal(generateSync({ secret: SECRET, epoch, algorithm: TOTP.algorithm, period: TOTP.period, digits: 8 }), code, `T=${epoch}`);
    const r = verifySync({ secret: SECRET, token: code, epoch, algorithm: TOTP.algorithm, period: TOTP.period, digits: 8 });
    assert.equal(r.valid, true, `T=${epoch}`);
  }
});

test('6-digit codes are the low 6 digits of the same HOTP value', () => {
  for (const [epoch, code] of VECTORS) {
    assert.equal(generateSync({ secret: SECRET, epoch, ...TOTP }), code.slice(2), `T=${epoch}`);
  }
});

test('the epoch we pass is the only clock: a code for 59 s is wrong one step later', () => {
  const code = generateSync({ secret: SECRET, epoch: 59, ...TOTP });
  assert.equal(verifySync({ secret: SECRET, token: code, epoch: 59, ...TOTP }).valid, true);
  assert.equal(verifySync({ secret: SECRET, token: code, epoch: 60, ...TOTP }).valid, false);
  assert.equal(verifySync({ secret: SECRET, token: code, epoch: 60, epochTolerance: 30, ...TOTP }).valid, true);
  assert.equal(verifySync({ secret: SECRET, token: code, epoch: 90, epochTolerance: 30, ...TOTP }).valid, false);
});

test('recovery codes normalize case, spaces, dashes and Crockford look-alikes', () => {
  assert.equal(normalizeRecoveryCode('abcd-efgh-jkmn'), 'ABCDEFGHJKMN');
  assert.equal(normalizeRecoveryCode('  ABCD efgh JKMN '), 'ABCDEFGHJKMN');
  assert.equal(normalizeRecoveryCode('abcdefghjkmn'), 'ABCDEFGHJKMN');
  assert.equal(normalizeRecoveryCode('0o1i-l234-5678'), '001112345678');
  assert.equal(normalizeRecoveryCode('abcd-efgh'), null);
  assert.equal(normalizeRecoveryCode('abcd-efgh-jkm!'), null);
  assert.equal(normalizeRecoveryCode('abcd-efgh-jkmu'), null);
});
