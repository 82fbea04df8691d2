/**
 * Domain errors carry a stable machine-readable code. Core and app throw these;
 * the HTTP layer maps the class to a status once, the CLI maps it to an exit code.
 */
export type ErrorDetails = Record<string, unknown>;

export abstract class DomainError extends Error {
  abstract readonly kind: 'invalid' | 'forbidden' | 'not_found' | 'conflict' | 'unauthenticated' | 'rate_limited';
  constructor(
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed or contradictory input: 400. */
export class Invalid extends DomainError {
  readonly kind = 'invalid' as const;
}
/** A rule says no: 403. `details.reasons` lists reason codes. */
export class Forbidden extends DomainError {
  readonly kind = 'forbidden' as const;
}
export class NotFound extends DomainError {
  readonly kind = 'not_found' as const;
}
/** The thing exists but is in a state that does not allow this: 409. */
export class Conflict extends DomainError {
  readonly kind = 'conflict' as const;
}
export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated' as const;
}

/** Too many attempts (sign-in, MFA codes): 429. `details.retryAfterSeconds` says when to try again. */
export class TooManyAttempts extends DomainError {
  readonly kind = 'rate_limited' as const;
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
