import { useState, type FormEvent } from 'react';
import { ApiError, signIn } from './api.js';
import { Problem } from './ui.js';

/** Local sign-in form, and the identity provider's link when one is configured. */
export function SignIn({ oidc, note, onSignedIn }: { oidc: boolean; note: string | null; onSignedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const returnTo = location.pathname + location.search;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
      setPassword('');
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 400 ? new Error('Enter your user name and password.') : err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin" id="main">
      <h1>Sign in to Elevate</h1>
      <p className="muted">Activate the access you need, when you need it.</p>
      {note ? (
        <p className="notice" role="status">
          {note}
        </p>
      ) : null}
      {oidc ? (
        <>
          <p>
            <a className="button primary wide" href={`/auth/oidc/login?returnTo=${encodeURIComponent(returnTo).replace(/%2F/g, '/')}`}>
              Sign in with your identity provider
            </a>
          </p>
          <p className="or">or with a local account</p>
        </>
      ) : null}
      <form onSubmit={(e) => void submit(e)} className="panel">
        <div className="field">
          <label htmlFor="username">User name</label>
          <input id="username" name="username" autoComplete="username" autoCapitalize="none" spellCheck={false} required value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </div>
        <Problem error={error} />
        <button type="submit" className={oidc ? 'wide' : 'primary wide'} disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
