import { Invalid } from './errors.js';

/**
 * Identifiers are normalized so that `Alice `, `alice` and `ＡＬＩＣＥ` name one principal:
 * Unicode NFKC, trimmed, lower-cased. What remains must be a plain slug.
 */
/** Ids the audit trail uses for actors that are not people: never given to a principal. */
export const RESERVED_PRINCIPAL_IDS: ReadonlySet<string> = new Set(['system', 'scim', 'anonymous']);

export const ID_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,127}$/;

export function normalizeId(raw: string): string {
  // Already normal (the common case on hot paths): plain lower-case ASCII slug.
  if (ID_PATTERN.test(raw)) return raw;
  return raw.normalize('NFKC').trim().toLowerCase();
}

export function parseId(raw: unknown, field = 'id'): string {
  if (typeof raw !== 'string') throw new Invalid('invalid_request', `${field} must be a string`, { field });
  const id = normalizeId(raw);
  if (!ID_PATTERN.test(id)) {
    throw new Invalid('invalid_request', `${field} must be 1-128 characters of a-z 0-9 . _ @ - starting with a letter or digit`, { field });
  }
  return id;
}
