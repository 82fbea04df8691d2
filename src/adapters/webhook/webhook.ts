import { createHmac } from 'node:crypto';
import type { OutboxItem } from '../../app/ports.js';

export interface WebhookTarget {
  url: string;
  /** HMAC-SHA256 key; the receiver checks `x-elevate-signature`. */
  secret: string;
  timeoutMs?: number;
}

/** The signature over `<timestamp>.<body>`, as the receiver recomputes it. */
export const signWebhook = (secret: string, timestamp: string, body: string): string => `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * POST one outbox item as JSON, signed. The delivery id (the item id) lets the receiver drop
 * duplicates: delivery is at least once.
 */
export function webhookSender(t: WebhookTarget, now: () => number = Date.now) {
  return async (item: OutboxItem): Promise<void> => {
    const body = JSON.stringify({ id: item.id, kind: item.kind, createdAt: new Date(item.createdAt).toISOString(), payload: item.payload });
    const timestamp = String(Math.floor(now() / 1000));
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-elevate-delivery': item.id, 'x-elevate-timestamp': timestamp, 'x-elevate-signature': signWebhook(t.secret, timestamp, body) },
      body,
      signal: AbortSignal.timeout(t.timeoutMs ?? 5_000),
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered HTTP ${res.status}`);
  };
}
