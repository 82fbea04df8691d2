import type { Command } from 'commander';
import { clientFor } from './context.js';
import { usage } from './errors.js';
import type { ElevateClient } from './client.js';

export interface MfaFlags {
  totp?: string;
  stepUp?: boolean;
}

/** Add --totp and --step-up to a command whose call may need the caller's MFA. */
export function withMfaFlags(c: Command): Command {
  return c
    .option('--totp <code>', 'a code from your authenticator app, for roles that need MFA')
    .option('--step-up', 'verify in your browser (passkey or authenticator) and confirm the code shown; needed for phishing-resistant roles');
}

/**
 * A client whose calls carry the MFA the person provides now: an authenticator code, or a step-up
 * confirmed in a signed-in browser (the code and link are printed on stderr, so --json stays clean).
 */
export async function mfaClient(cmd: Command, o: MfaFlags, opts: { timeoutMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<ElevateClient> {
  if (o.totp !== undefined && o.stepUp) throw usage('conflicting_flags', 'use either --totp or --step-up, not both');
  if (o.totp !== undefined) {
    if (!/^\d{6}$/.test(o.totp.trim())) throw usage('invalid_totp', '--totp takes the 6-digit code from your authenticator app', { flag: '--totp' });
    return clientFor(cmd, { headers: { 'x-elevate-totp': o.totp.trim() } });
  }
  if (!o.stepUp) return clientFor(cmd);
  const plain = clientFor(cmd);
  const s = await plain.startStepUp();
  process.stderr.write(`To verify it is you, open ${s.verificationUri}\nsign in, use your passkey, and confirm the code ${s.userCode}. Waiting…\n`);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Math.min(Date.parse(s.expiresAt), Date.now() + (opts.timeoutMs ?? 10 * 60_000));
  for (;;) {
    const p = await plain.pollStepUp(s.deviceCode);
    if (p.status === 'confirmed') {
      process.stderr.write(`verified (${p.methods.join(', ')})\n`);
      return clientFor(cmd, { headers: { 'x-elevate-step-up': s.deviceCode } });
    }
    if (Date.now() >= deadline) throw usage('step_up_timeout', 'the step-up was not confirmed in time');
    await sleep(Math.max(1, s.interval) * 1000);
  }
}
