import type { AppDeps } from './context.js';

/** SCIM 2.0 provisioning (RFC 7643/7644): users and groups pushed by an identity provider. */
export function makeScim(_deps: AppDeps) {
  return {};
}
