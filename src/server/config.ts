import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keyIdOf, type AuditSigner } from '../app/index.js';
import { parseDuration } from '../core/duration.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | null;
  bootstrapToken: string | null;
  minActivationMs: number;
  signingKeyPath: string;
  logLevel: string;
}

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
  };
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
