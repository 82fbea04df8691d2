import { Invalid } from './errors.js';

/**
 * A scope is a path in a resource hierarchy: `/`, `/prod`, `/prod/payments`.
 * A grant at a scope covers the scope and every scope below it.
 */
export const MAX_SCOPE_LENGTH = 512;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Scopes already found valid: checks ask about the same few thousand scopes over and over. */
const known = new Set<string>();

export function parseScope(raw: unknown, field = 'scope'): string {
  if (typeof raw !== 'string') throw new Invalid('invalid_scope', `${field} must be a string`, { field });
  if (raw === '/' || known.has(raw)) return raw;
  if (raw.length === 0 || raw.length > MAX_SCOPE_LENGTH || raw[0] !== '/' || raw.endsWith('/')) {
    throw new Invalid('invalid_scope', `${field} must be "/" or a path like /prod/payments without a trailing slash (at most ${MAX_SCOPE_LENGTH} characters)`, { field });
  }
  const segments = raw.slice(1).split('/');
  for (const s of segments) {
    if (!SEGMENT.test(s) || s === '.' || s === '..' || s.includes('..')) {
      throw new Invalid('invalid_scope', `${field} has a malformed segment ${JSON.stringify(s)}`, { field });
    }
  }
  if (known.size >= 50_000) known.clear();
  known.add(raw);
  return raw;
}

export function isValidScope(raw: string): boolean {
  try {
    parseScope(raw);
    return true;
  } catch {
    return false;
  }
}

/** Does a grant at `granted` cover `target`? Both must be valid scopes. */
export function covers(granted: string, target: string): boolean {
  if (granted === '/') return true;
  if (target.length === granted.length) return target === granted;
  return target.length > granted.length && target.charCodeAt(granted.length) === 47 && target.startsWith(granted);
}
