import { generateKeyPairSync, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keyIdOf, type AuditSigner } from '../app/index.js';
import { parseDuration } from '../core/duration.js';
import { parseCidrs } from '../core/network.js';
import type { IdentityOptions } from '../app/index.js';
import type { OidcConfig } from './oidc.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | null;
  bootstrapToken: string | null;
  minActivationMs: number;
  signingKeyPath: string;
  logLevel: string;
  publicUrl: string;
  identity: Partial<IdentityOptions>;
  oidc: OidcConfig | null;
  scimToken: string | null;
  notifyWebhook: { url: string; secret: string } | null;
  trustedProxies: string[];
  secretKeyPath: string;
  /** ELEVATE_METRICS_TOKEN: GET /metrics then needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** SIEM outputs of the audit log (none by default). */
  siem: SiemConfig;
}

export interface SiemConfig {
  /** ELEVATE_SYSLOG_URL (tcp://host:port | tls://host:port), ELEVATE_SYSLOG_CA_FILE (PEM, for tls://). */
  syslog: { protocol: 'tcp' | 'tls'; host: string; port: number; ca: string | null } | null;
  /** ELEVATE_SIEM_WEBHOOK_URL + ELEVATE_SIEM_WEBHOOK_SECRET: batched, HMAC-signed POSTs. */
  webhook: { url: string; secret: string } | null;
}

const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : /^(1|true|yes|on)$/i.test(v));

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.ELEVATE_DATA_DIR ?? './data');
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a port number');
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    dataDir,
    databaseUrl: env.ELEVATE_DATABASE_URL || null,
    bootstrapToken: env.ELEVATE_BOOTSTRAP_TOKEN || null,
    minActivationMs: env.ELEVATE_MIN_ACTIVATION ? parseDuration(env.ELEVATE_MIN_ACTIVATION, 'ELEVATE_MIN_ACTIVATION') : 5 * 60_000,
    signingKeyPath: env.ELEVATE_AUDIT_KEY_FILE ? resolve(env.ELEVATE_AUDIT_KEY_FILE) : join(dataDir, 'audit-signing-key.pem'),
    logLevel: env.ELEVATE_LOG_LEVEL ?? 'info',
    ...identityConfig(env, port),
    secretKeyPath: env.ELEVATE_SECRET_KEY_FILE ? resolve(env.ELEVATE_SECRET_KEY_FILE) : join(dataDir, 'secret-key'),
    metricsToken: env.ELEVATE_METRICS_TOKEN || null,
    siem: siemConfig(env),
  };
}

/** SIEM outputs; a malformed setting stops the start with a message naming the variable. */
export function siemConfig(env: NodeJS.ProcessEnv): SiemConfig {
  let syslog: SiemConfig['syslog'] = null;
  if (env.ELEVATE_SYSLOG_URL) {
    const bad = () => new Error(`ELEVATE_SYSLOG_URL must be tcp://host:port or tls://host:port (got ${JSON.stringify(env.ELEVATE_SYSLOG_URL!.slice(0, 100))})`);
    let u: URL;
    try {
      u = new URL(env.ELEVATE_SYSLOG_URL);
    } catch {
      throw bad();
    }
    const protocol = u.protocol.slice(0, -1);
    if ((protocol !== 'tcp' && protocol !== 'tls') || !u.hostname || !u.port || u.username || u.password || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) throw bad();
    const port = Number(u.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad();
    let ca: string | null = null;
    if (env.ELEVATE_SYSLOG_CA_FILE) {
      if (protocol !== 'tls') throw new Error('ELEVATE_SYSLOG_CA_FILE is only used with a tls:// ELEVATE_SYSLOG_URL');
      try {
        ca = readFileSync(resolve(env.ELEVATE_SYSLOG_CA_FILE), 'utf8');
      } catch (e) {
        throw new Error(`ELEVATE_SYSLOG_CA_FILE cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('ELEVATE_SYSLOG_CA_FILE must hold PEM certificates');
    }
    syslog = { protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port, ca };
  } else if (env.ELEVATE_SYSLOG_CA_FILE) {
    throw new Error('ELEVATE_SYSLOG_CA_FILE is set without ELEVATE_SYSLOG_URL');
  }
  let webhook: SiemConfig['webhook'] = null;
  if (env.ELEVATE_SIEM_WEBHOOK_URL) {
    let u: URL | null = null;
    try {
      u = new URL(env.ELEVATE_SIEM_WEBHOOK_URL);
    } catch {
      u = null;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) {
      throw new Error('ELEVATE_SIEM_WEBHOOK_URL must be an http:// or https:// URL without credentials in it');
    }
    const secret = env.ELEVATE_SIEM_WEBHOOK_SECRET ?? '';
    if (secret.length < 16) throw new Error('ELEVATE_SIEM_WEBHOOK_SECRET (at least 16 characters) is required with ELEVATE_SIEM_WEBHOOK_URL: every batch is signed');
    webhook = { url: u.href, secret };
  } else if (env.ELEVATE_SIEM_WEBHOOK_SECRET) {
    throw new Error('ELEVATE_SIEM_WEBHOOK_SECRET is set without ELEVATE_SIEM_WEBHOOK_URL');
  }
  return { syslog, webhook };
}

function identityConfig(env: NodeJS.ProcessEnv, port: number) {
  const publicUrl = (env.ELEVATE_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(publicUrl)) throw new Error('ELEVATE_PUBLIC_URL must be an origin such as https://elevate.example.com (no path)');
  const identity: Partial<IdentityOptions> = { publicUrl, rpId: new URL(publicUrl).hostname };
  if (env.ELEVATE_SESSION_IDLE) identity.sessionIdleMs = parseDuration(env.ELEVATE_SESSION_IDLE, 'ELEVATE_SESSION_IDLE');
  if (env.ELEVATE_SESSION_MAX) identity.sessionMaxMs = parseDuration(env.ELEVATE_SESSION_MAX, 'ELEVATE_SESSION_MAX');
  if (env.ELEVATE_WEBAUTHN_RP_ID) identity.rpId = env.ELEVATE_WEBAUTHN_RP_ID;
  let oidc: OidcConfig | null = null;
  if (env.ELEVATE_OIDC_ISSUER) {
    if (!env.ELEVATE_OIDC_CLIENT_ID) throw new Error('ELEVATE_OIDC_CLIENT_ID is required with ELEVATE_OIDC_ISSUER');
    oidc = {
      issuer: env.ELEVATE_OIDC_ISSUER,
      clientId: env.ELEVATE_OIDC_CLIENT_ID,
      clientSecret: env.ELEVATE_OIDC_CLIENT_SECRET ?? '',
      scopes: env.ELEVATE_OIDC_SCOPES || 'openid email profile',
      redirectUri: `${publicUrl}/auth/oidc/callback`,
      claims: {
        groups: env.ELEVATE_OIDC_GROUPS_CLAIM || 'groups',
        device: env.ELEVATE_OIDC_DEVICE_CLAIM || 'device_compliant',
        risk: env.ELEVATE_OIDC_RISK_CLAIM || 'signin_risk',
        link: env.ELEVATE_OIDC_LINK_CLAIM || 'sub',
      },
      autoProvision: bool(env.ELEVATE_OIDC_AUTO_PROVISION, false),
    };
  }
  const trustedProxies = (env.ELEVATE_TRUSTED_PROXIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  parseCidrs(trustedProxies, 'ELEVATE_TRUSTED_PROXIES');
  let notifyWebhook: { url: string; secret: string } | null = null;
  if (env.ELEVATE_NOTIFY_WEBHOOK_URL) {
    if (!env.ELEVATE_NOTIFY_WEBHOOK_SECRET) throw new Error('ELEVATE_NOTIFY_WEBHOOK_SECRET is required with ELEVATE_NOTIFY_WEBHOOK_URL (deliveries are signed)');
    notifyWebhook = { url: new URL(env.ELEVATE_NOTIFY_WEBHOOK_URL).href, secret: env.ELEVATE_NOTIFY_WEBHOOK_SECRET };
  }
  return { publicUrl, identity, oidc, scimToken: env.ELEVATE_SCIM_TOKEN || null, trustedProxies, notifyWebhook };
}

/** The key that seals secrets at rest (TOTP seeds): 32 random bytes in a 0600 file, shared by every node, never in the database. */
export function loadOrCreateSecretKey(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(resolve(path, '..'), { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} must hold 32 bytes in base64`);
  return key;
}

/**
 * The Ed25519 key that signs audit checkpoints. Kept in a 0600 file beside the data (or where
 * ELEVATE_AUDIT_KEY_FILE says, shared by every node of a cluster), never in the database it vouches for.
 */
export function loadOrCreateSigner(path: string): AuditSigner {
  if (!existsSync(path)) {
    mkdirSync(resolve(path, '..'), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  const privateKey = createPrivateKey(readFileSync(path));
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
