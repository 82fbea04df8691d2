import { useId, useState } from 'react';
import { browserSupportsWebAuthn, startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ApiError, client } from './api.js';
import { StepUp } from './StepUp.js';
import { Empty, Problem, useLoad } from './ui.js';
import { formatTime } from './time.js';

/**
 * Sign-in and security: the person's own MFA factors. Passkeys (phishing-resistant), an
 * authenticator app, recovery codes. The server decides every rule (a second factor needs fresh
 * MFA, a second passkey a fresh passkey); this page shows what it says and steps up when asked.
 */

interface MfaStatus {
  totp: { enrolled: boolean; confirmed: boolean };
  webauthn: { id: string; name: string; createdAt: string; lastUsedAt: string | null }[];
  recoveryCodesRemaining: number;
}

const call = <T,>(method: string, path: string, body?: unknown) => client().call<T>(method, path, body === undefined ? {} : { body });
const status = () => call<MfaStatus>('GET', '/api/v1/me/mfa');

/** Refusals that a fresh verification fixes: show the step-up panel, then let the person retry. */
const needsStepUp = (e: unknown): 'any' | 'phishing_resistant' | null => {
  if (!(e instanceof ApiError) || e.status !== 403) return null;
  if (e.code !== 'mfa_required') return null;
  return /passkey/.test(e.message) ? 'phishing_resistant' : 'any';
};

export function Security() {
  const id = useId();
  const { data, error, reload } = useLoad(status, 60_000);
  const [problem, setProblem] = useState<unknown>(null);
  const [stepUp, setStepUp] = useState<'any' | 'phishing_resistant' | null>(null);
  const [retry, setRetry] = useState<(() => Promise<void>) | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState('');
  const [passkeyName, setPasskeyName] = useState('');
  const [enrolling, setEnrolling] = useState<{ secret: string; otpauthUrl: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);

  async function run(what: string, f: () => Promise<void>) {
    setBusy(true);
    setProblem(null);
    setNotice('');
    try {
      await f();
      setStepUp(null);
      setRetry(null);
      await reload();
    } catch (e) {
      const need = needsStepUp(e);
      if (need) {
        setStepUp(need);
        setRetry(() => () => run(what, f));
      } else if (e instanceof Error && (e.name === 'NotAllowedError' || e.name === 'AbortError')) {
        setProblem(new Error('The passkey prompt was cancelled or timed out. Try again.'));
      } else {
        setProblem(e);
      }
    } finally {
      setBusy(false);
    }
  }

  const addPasskey = () =>
    run('add passkey', async () => {
      if (!browserSupportsWebAuthn()) throw new Error('This browser cannot create passkeys here.');
      const options = await call<PublicKeyCredentialCreationOptionsJSON>('POST', '/api/v1/me/mfa/webauthn/register/options', {});
      const response = await startRegistration({ optionsJSON: options });
      const r = await call<{ name: string; recoveryCodes?: string[] }>('POST', '/api/v1/me/mfa/webauthn/register', { response, ...(passkeyName.trim() ? { name: passkeyName.trim() } : {}) });
      setPasskeyName('');
      setNotice(`Passkey "${r.name}" added. Use it when Elevate asks you to confirm it is you.`);
      if (r.recoveryCodes) setCodes(r.recoveryCodes);
    });
  const startApp = () => run('set up app', async () => setEnrolling(await call<{ secret: string; otpauthUrl: string }>('POST', '/api/v1/me/mfa/totp')));
  const confirmApp = () =>
    run('confirm app', async () => {
      const r = await call<{ recoveryCodes?: string[] }>('POST', '/api/v1/me/mfa/totp/confirm', { code: code.trim() });
      setEnrolling(null);
      setCode('');
      setNotice('Authenticator app set up.');
      if (r.recoveryCodes) setCodes(r.recoveryCodes);
    });
  const removePasskey = (pid: string, name: string) =>
    run('remove passkey', async () => {
      await call('DELETE', `/api/v1/me/mfa/webauthn/${encodeURIComponent(pid)}`);
      setNotice(`Passkey "${name}" removed.`);
    });
  const removeApp = () =>
    run('remove app', async () => {
      await call('DELETE', '/api/v1/me/mfa/totp');
      setNotice('Authenticator app removed.');
    });
  const newCodes = () => run('new codes', async () => setCodes((await call<{ recoveryCodes: string[] }>('POST', '/api/v1/me/mfa/recovery-codes', {})).recoveryCodes));

  return (
    <>
      <h1 tabIndex={-1}>Sign-in and security</h1>
      <p className="lede">Roles that need MFA ask you to confirm it is you when you activate or approve. A passkey is the strongest way, and the only one phishing-resistant roles accept.</p>
      <Problem error={error} title="Your security settings cannot be loaded:" />
      <Problem error={problem} />
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {stepUp && retry ? (
        <StepUp
          strength={stepUp}
          onVerified={() => {
            const again = retry;
            setStepUp(null);
            setRetry(null);
            void again();
          }}
        />
      ) : null}
      {codes ? (
        <section className="card security recovery" aria-labelledby={`${id}-codes`}>
          <h2 id={`${id}-codes`}>Your recovery codes</h2>
          <p>Each works once, if you lose your passkeys and your app. Keep them somewhere safe now: they are not shown again.</p>
          <ul className="codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => setCodes(null)}>
            I have saved them
          </button>
        </section>
      ) : null}

      <section className="card security" aria-labelledby={`${id}-pk`}>
        <h2 id={`${id}-pk`}>Passkeys and security keys</h2>
        {data && data.webauthn.length === 0 ? <Empty>No passkey yet.</Empty> : null}
        <ul className="factors">
          {data?.webauthn.map((c) => (
            <li key={c.id}>
              <span className="factor-name">{c.name}</span>
              <span className="muted">
                added {formatTime(c.createdAt)}
                {c.lastUsedAt ? `, last used ${formatTime(c.lastUsedAt)}` : ''}
              </span>
              <button type="button" onClick={() => void removePasskey(c.id, c.name)} disabled={busy} aria-label={`Remove passkey ${c.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <div className="row">
          <label htmlFor={`${id}-pkname`}>Passkey name</label>
          <input id={`${id}-pkname`} value={passkeyName} onChange={(e) => setPasskeyName(e.target.value)} maxLength={100} placeholder="e.g. work laptop" />
          <button type="button" className="primary" onClick={() => void addPasskey()} disabled={busy}>
            Add passkey
          </button>
        </div>
      </section>

      <section className="card security" aria-labelledby={`${id}-app`}>
        <h2 id={`${id}-app`}>Authenticator app</h2>
        {data?.totp.confirmed ? (
          <div className="row">
            <p>An authenticator app is set up.</p>
            <button type="button" onClick={() => void removeApp()} disabled={busy}>
              Remove authenticator app
            </button>
          </div>
        ) : enrolling ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void confirmApp();
            }}
          >
            <p>
              Add this key to your authenticator app (or open <a href={enrolling.otpauthUrl}>the setup link</a> on your phone), then type the code it shows.
            </p>
            <p>
              Key: <code className="secret">{enrolling.secret}</code>
            </p>
            <label htmlFor={`${id}-code`}>Verification code</label>
            <input id={`${id}-code`} value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" required />
            <button type="submit" className="primary" disabled={busy}>
              Confirm app
            </button>
          </form>
        ) : (
          <button type="button" onClick={() => void startApp()} disabled={busy}>
            Set up authenticator app
          </button>
        )}
      </section>

      <section className="card security" aria-labelledby={`${id}-rc`}>
        <h2 id={`${id}-rc`}>Recovery codes</h2>
        <p>{data ? `${data.recoveryCodesRemaining} unused.` : ''}</p>
        <button type="button" onClick={() => void newCodes()} disabled={busy}>
          New recovery codes
        </button>
      </section>
    </>
  );
}
