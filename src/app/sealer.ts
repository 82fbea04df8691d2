import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Sealer } from './context.js';

/** AES-256-GCM with a random 96-bit nonce per value: `v1.<nonce>.<ciphertext+tag>` in base64url. */
export function makeSealer(key: Uint8Array): Sealer {
  if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
      return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(sealed) {
      const [v, iv, body] = sealed.split('.');
      if (v !== 'v1' || !iv || !body) throw new Error('not a sealed value');
      const raw = Buffer.from(body, 'base64url');
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(0, raw.length - 16)), d.final()]).toString('utf8');
    },
  };
}
