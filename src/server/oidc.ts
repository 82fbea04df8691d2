import * as client from 'openid-client';
import type { ClaimNames } from '../app/sessions.js';

/** OpenID Connect sign-in configuration (ELEVATE_OIDC_*). */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  redirectUri: string;
  claims: ClaimNames;
  autoProvision: boolean;
}

/**
 * The relying party: authorization code + PKCE (S256) with state and nonce, through openid-client.
 * Discovery runs on first use (the IdP may be down when Elevate starts: break-glass must still work).
 */
export function makeOidcClient(cfg: OidcConfig) {
  let config: Promise<client.Configuration> | null = null;
  const discover = (): Promise<client.Configuration> => {
    config ??= client
      .discovery(new URL(cfg.issuer), cfg.clientId, cfg.clientSecret, undefined, cfg.issuer.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : undefined)
      .catch((e: unknown) => {
        config = null;
        throw e;
      });
    return config;
  };
  return {
    config: cfg,
    async authorizationUrl(v: { state: string; nonce: string; verifier: string }): Promise<URL> {
      const c = await discover();
      return client.buildAuthorizationUrl(c, {
        redirect_uri: cfg.redirectUri,
        scope: cfg.scopes,
        code_challenge: await client.calculatePKCECodeChallenge(v.verifier),
        code_challenge_method: 'S256',
        state: v.state,
        nonce: v.nonce,
      });
    },
    /** Exchange the code and validate the ID token (issuer, audience, signature, nonce); returns its claims. */
    async exchange(callbackUrl: URL, v: { state: string; nonce: string; verifier: string }): Promise<Record<string, unknown>> {
      const c = await discover();
      const tokens = await client.authorizationCodeGrant(c, callbackUrl, { pkceCodeVerifier: v.verifier, expectedState: v.state, expectedNonce: v.nonce, idTokenExpected: true });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      return claims as Record<string, unknown>;
    },
  };
}

export type OidcClient = ReturnType<typeof makeOidcClient>;
