import { useEffect, useId, useRef, useState } from 'react';
import { browserSupportsWebAuthn, startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { passkeyOptions, passkeyVerify, verifyTotp } from './api.js';
import { Problem } from './ui.js';

/**
 * Inline MFA step-up: the server refused with mfa_required or mfa_too_weak; verify here (a passkey,
 * or an authenticator code where the role accepts one) and the caller retries. The server records
 * the verification on this session and decides again.
 */
export function StepUp({ strength, onVerified }: { strength: 'any' | 'phishing_resistant'; onVerified: () => void }) {
  const id = useId();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState('');
  const first = useRef<HTMLButtonElement>(null);
  // Shown after a refusal: take the keyboard (and the view) straight to it.
  useEffect(() => first.current?.focus(), []);

  async function run(what: string, f: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    setStatus(what);
    try {
      await f();
      setStatus('Verified.');
      onVerified();
    } catch (e) {
      setStatus('');
      if (e instanceof Error && (e.name === 'NotAllowedError' || e.name === 'AbortError')) setError(new Error('The passkey check was cancelled or timed out. Try again.'));
      else setError(e);
    } finally {
      setBusy(false);
    }
  }

  const passkey = () =>
    run('Waiting for your passkey…', async () => {
      if (!browserSupportsWebAuthn()) throw new Error('This browser cannot use passkeys here.');
      const options = (await passkeyOptions()) as unknown as PublicKeyCredentialRequestOptionsJSON;
      const response = await startAuthentication({ optionsJSON: options });
      await passkeyVerify(response);
    });
  const totp = () => run('Checking the code…', () => verifyTotp(code.trim()));

  return (
    <section className="stepup" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>Confirm it is you</h3>
      <p>
        {strength === 'phishing_resistant' ? 'Use your passkey or security key' : 'Use your passkey, or a code from your authenticator app'}, and it is sent again.
      </p>
      <div className="row">
        <button type="button" ref={first} className="primary" onClick={() => void passkey()} disabled={busy}>
          Use passkey
        </button>
      </div>
      {strength === 'any' ? (
        <div className="totp">
          <label htmlFor={`${id}-totp`}>Authenticator code</label>
          <div className="row">
            <input
              id={`${id}-totp`}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={6}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  void totp();
                }
              }}
            />
            <button type="button" onClick={() => void totp()} disabled={busy || code.trim() === ''}>
              Verify code
            </button>
          </div>
        </div>
      ) : null}
      <p role="status" className="status-line">
        {status}
      </p>
      <Problem error={error} />
    </section>
  );
}
