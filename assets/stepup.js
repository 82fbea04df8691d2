// The step-up page: a person confirms, in a signed-in browser with a fresh passkey (or authenticator
// code), the code their CLI shows. Talks only to the JSON API; decides nothing itself.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const say = (text) => { $('status').textContent = text; };
let csrf = null;

async function api(path, body) {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(data && data.error ? data.error.message : `HTTP ${res.status}`);
  return data;
}

async function start() {
  $('code').value = params.get('code') || '';
  try {
    const me = await api('/api/v1/me');
    csrf = me.csrfToken;
    $('who').textContent = `Signed in as ${me.principal.name} (${me.principal.id})`;
    $('form').hidden = false;
    if ($('code').value) await describe();
  } catch {
    const back = encodeURIComponent(location.pathname + location.search);
    $('who').innerHTML = '';
    const a = document.createElement('a');
    a.href = `/auth/oidc/login?returnTo=${back}`;
    a.textContent = 'Sign in with your identity provider';
    $('who').append(a, ', or with a local account below, to confirm this step-up.');
    $('login').hidden = false;
  }
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('/auth/login', { username: $('username').value, password: $('password').value });
    location.reload();
  } catch (err) {
    say(`Not signed in: ${err.message}`);
  }
});

/** Show who started the step-up, so a link sent by someone else is recognised before it is confirmed. */
async function describe() {
  try {
    const d = await api('/api/v1/stepups/describe', { userCode: $('code').value });
    const token = d.tokenName ? `the API token "${d.tokenName}"` : 'an API token';
    $('origin').textContent = `Started ${new Date(d.startedAt).toLocaleString()} from ${d.sourceIp || 'an unknown address'} with ${token}${d.userAgent ? ` (${d.userAgent})` : ''}. If you did not just run this command, do not confirm.`;
  } catch (err) {
    $('origin').textContent = `This code is not a pending step-up of yours: ${err.message}`;
  }
}

$('code').addEventListener('change', () => void describe());

async function verifyPasskey() {
  const options = await api('/api/v1/me/mfa/webauthn/authenticate/options', {});
  const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options.options ?? options });
  await api('/api/v1/me/mfa/webauthn/verify', { response });
}

$('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const totp = $('totp').value.trim();
    say('Verifying…');
    if (totp) await api('/api/v1/me/mfa/totp/verify', { code: totp });
    else await verifyPasskey();
    await api('/api/v1/stepups/confirm', { userCode: $('code').value });
    say('Confirmed. You can return to your terminal.');
  } catch (err) {
    say(`Not confirmed: ${err.message}`);
  }
});
void start();
