// A real OpenID Connect provider (panva's oidc-provider) for tests, on localhost, with no
// network beyond the loopback interface. Sign-in goes through oidc-provider's built-in
// development interactions: a form where any login/password works and the typed login becomes
// the account id (`sub`). Consent is granted automatically, so the browser flow is just
// "app -> IdP login form -> app".
//
// Claims: every claim set with `setUser` (from the registered claim names below, plus any
// `extraClaims`) is mapped to the `openid` scope, so it lands in the ID token itself, not only
// in UserInfo. `acr`/`amr` are session properties in oidc-provider (they come from the login
// interaction result and override whatever the account returns); the helper injects the
// user's configured acr/amr into the login result when the dev login form is submitted.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Claims the IdP knows about and puts into the ID token (besides the protocol claims). */
export const IDP_CLAIMS = [
  'sub',
  'email',
  'email_verified',
  'name',
  'preferred_username',
  'groups',
  'acr',
  'amr',
  'device_compliant',
  'signin_risk',
] as const;

export interface IdpUserClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
  preferred_username?: string;
  groups?: string[];
  /** Authentication Methods References, e.g. ['pwd', 'mfa', 'hwk']. Put into the ID token `amr`. */
  amr?: string[];
  /** Authentication Context Class Reference, put into the ID token `acr`. */
  acr?: string;
  device_compliant?: boolean;
  signin_risk?: 'none' | 'low' | 'medium' | 'high';
  [claim: string]: unknown;
}

export interface TestIdp {
  /** `http://localhost:<port>` — no trailing slash. */
  issuer: string;
  port: number;
  /** Create or replace the account `sub`. Signing in with login `sub` yields these claims. */
  setUser(sub: string, claims: IdpUserClaims): void;
  /** Forget an account. Signing in as it afterwards yields an ID token with only `sub`. */
  deleteUser(sub: string): void;
  close(): Promise<void>;
}

export interface StartIdpOptions {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Additional custom claim names (beyond IDP_CLAIMS) that setUser may set. */
  extraClaims?: string[];
  /** ID token lifetime in seconds (default 3600). */
  idTokenTtl?: number;
}

// oidc-provider ships no TypeScript declarations; this is the small slice the helper uses.
interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface OidcCtx {
  oidc: {
    client: { clientId: string };
    session: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    requestParamOIDCScopes: Set<string>;
    requestParamClaims: Set<string>;
    provider: OidcProvider;
  };
}
interface LoginResult {
  login?: { accountId: string; acr?: string; amr?: string[]; [k: string]: unknown };
  [k: string]: unknown;
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionResult(req: IncomingMessage, res: ServerResponse, result: LoginResult, opts?: unknown): Promise<string>;
  Grant: {
    new (init: { clientId: string; accountId?: string }): OidcGrant;
    find(id: string): Promise<OidcGrant | undefined>;
  };
}
type ProviderCtor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

// oidc-provider prints "development-only" warnings through console.warn/console.info (at import,
// at construction and on first use of defaults). Filter exactly those while any IdP is alive.
let quietDepth = 0;
let restoreConsole: (() => void) | undefined;
function quietOidcProvider(): void {
  quietDepth += 1;
  if (quietDepth > 1) return;
  const { warn, info } = console;
  const isOidcNoise = (args: unknown[]): boolean =>
    typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE):/.test(args[0]);
  console.warn = (...args: unknown[]) => {
    if (!isOidcNoise(args)) warn.apply(console, args);
  };
  console.info = (...args: unknown[]) => {
    if (!isOidcNoise(args)) info.apply(console, args);
  };
  restoreConsole = () => {
    console.warn = warn;
    console.info = info;
  };
}
function unquietOidcProvider(): void {
  quietDepth -= 1;
  if (quietDepth === 0) {
    restoreConsole?.();
    restoreConsole = undefined;
  }
}

let providerCtor: Promise<ProviderCtor> | undefined;
function loadProvider(): Promise<ProviderCtor> {
  // A non-literal specifier: the package has no typings, and TypeScript must not try to resolve it.
  const specifier: string = 'oidc-provider';
  providerCtor ??= import(specifier).then((m: { default: ProviderCtor }) => m.default);
  return providerCtor;
}

export async function startIdp(opts: StartIdpOptions): Promise<TestIdp> {
  quietOidcProvider();
  try {
    return await start(opts);
  } catch (err) {
    unquietOidcProvider();
    throw err;
  }
}

async function start(opts: StartIdpOptions): Promise<TestIdp> {
  const Provider = await loadProvider();
  const users = new Map<string, IdpUserClaims>();
  const claimNames = [...new Set<string>([...IDP_CLAIMS, ...(opts.extraClaims ?? [])])];
  const known = new Set(claimNames);

  // Listen first (port 0), so the issuer can carry the real port.
  const app: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server = createServer((req, res) => {
    if (app.handler) app.handler(req, res);
    else {
      res.statusCode = 503;
      res.end();
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://localhost:${port}`;

  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const configuration: Record<string, unknown> = {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: opts.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // oidc-provider accepts client_secret_post for a client registered with
        // client_secret_basic (and vice versa): both are "the client secret".
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        // Always put auth_time into the ID token (otherwise only with max_age/prompt=login).
        require_auth_time: true,
      },
    ],
    jwks: { keys: [{ ...signingKey, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    // Every claim belongs to the `openid` scope: with conformIdTokenClaims (the default) only
    // openid-scope claims go into the ID token when UserInfo is enabled.
    claims: {
      openid: claimNames,
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    features: {
      devInteractions: { enabled: true },
      userinfo: { enabled: true },
    },
    ttl: { IdToken: opts.idTokenTtl ?? 3600 },
    findAccount(_ctx: unknown, sub: string) {
      return {
        accountId: sub,
        claims() {
          const claims = users.get(sub) ?? {};
          return { ...claims, sub };
        },
      };
    },
    // Auto-consent: find or create the grant and add whatever this request asks for.
    async loadExistingGrant(ctx: OidcCtx) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
      let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      grant ??= new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
      if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    renderError(ctx: { type: string; body: string }, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><body><h1>oidc error</h1><pre id="error">${escapeHtml(JSON.stringify(out))}</pre></body></html>`;
    },
  };

  let provider: OidcProvider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (err) {
    server.close();
    throw err;
  }

  // acr/amr in the ID token come from the login session, not the account. The dev login form
  // finishes with `{ login: { accountId } }`; add the user's configured acr/amr to that result.
  const interactionResult = provider.interactionResult.bind(provider);
  provider.interactionResult = (req, res, result, options) => {
    if (result.login && typeof result.login.accountId === 'string') {
      const user = users.get(result.login.accountId);
      if (user?.acr !== undefined && result.login.acr === undefined) result.login.acr = user.acr;
      if (user?.amr !== undefined && result.login.amr === undefined) result.login.amr = [...user.amr];
    }
    return interactionResult(req, res, result, options);
  };

  app.handler = provider.callback();

  let closed = false;
  return {
    issuer,
    port,
    setUser(sub, claims) {
      for (const name of Object.keys(claims)) {
        if (!known.has(name)) {
          throw new Error(`IdP claim "${name}" is not registered; pass it in startIdp({ extraClaims })`);
        }
      }
      users.set(sub, structuredClone(claims));
    },
    deleteUser(sub) {
      users.delete(sub);
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      unquietOidcProvider();
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
