import { createHmac } from 'node:crypto';
import type { SiemSink } from '../../app/siem-ports.js';
import type { AuditEvent } from '../../core/audit.js';

/**
 * A batched, signed HTTP export: `POST {"events":[…]}` (each event as GET /api/v1/audit shows it,
 * times as ISO strings, plus its hash), signed with HMAC-SHA256 over `<timestamp>.<body>`:
 *
 *   X-Elevate-Signature: t=<unix seconds>,v1=<hex>
 *   X-Elevate-Delivery: <first seq>-<last seq>   (the same batch keeps the same id when retried)
 *
 * The receiver recomputes the HMAC with the shared secret, rejects old timestamps, and drops
 * duplicates by event `seq` (delivery is at least once). Any non-2xx answer fails the batch.
 */

export interface SiemWebhookTarget {
  url: string;
  secret: string;
  timeoutMs?: number;
}

export const signSiemBatch = (secret: string, timestamp: string, body: string): string => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** Parse `t=…,v1=…`; null when malformed. */
export function parseSignatureHeader(h: string | undefined): { t: string; v1: string } | null {
  if (!h) return null;
  const parts = Object.fromEntries(h.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  return parts.t && parts.v1 ? { t: parts.t, v1: parts.v1 } : null;
}

const present = (e: AuditEvent) => ({
  seq: e.seq,
  id: e.id,
  ts: new Date(e.ts).toISOString(),
  type: e.type,
  outcome: e.outcome,
  actorId: e.actorId,
  principalId: e.principalId,
  roleId: e.roleId,
  scope: e.scope,
  requestId: e.requestId,
  reasons: e.reasons,
  data: e.data,
  prevHash: e.prevHash,
  hash: e.hash,
});

/** The URL as shown to admins: no credentials, no query string (it may carry a token). */
export function safeTarget(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export function siemWebhookSink(t: SiemWebhookTarget, now: () => number = Date.now): SiemSink {
  return {
    target: safeTarget(t.url),
    async send(events) {
      if (events.length === 0) return;
      const body = JSON.stringify({ events: events.map(present) });
      const timestamp = String(Math.floor(now() / 1000));
      let res: Response;
      try {
        res = await fetch(t.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-elevate-delivery': `${events[0]!.seq}-${events[events.length - 1]!.seq}`,
            'x-elevate-signature': `t=${timestamp},v1=${signSiemBatch(t.secret, timestamp, body)}`,
          },
          body,
          signal: AbortSignal.timeout(t.timeoutMs ?? 10_000),
        });
      } catch (e) {
        // fetch's message names neither the URL nor the secret; the cause says why (refused, timed out).
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        throw new Error(`webhook: ${cause ? `${cause}` : (e as Error).name === 'TimeoutError' ? 'timed out' : 'request failed'}`);
      }
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered HTTP ${res.status}`);
    },
  };
}
