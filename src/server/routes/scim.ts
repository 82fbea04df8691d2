import type { FastifyInstance } from 'fastify';
import type { UseCases } from '../../app/index.js';

/** /scim/v2: its own bearer token (ELEVATE_SCIM_TOKEN or one an admin created), its own error shape (RFC 7644 §3.12). */
export function scimRoutes(uc: UseCases, opts: { envToken: string | null }) {
  return async function plugin(_scim: FastifyInstance): Promise<void> {
    void uc;
    void opts;
  };
}
