// Signing of webhook deliveries, and the check a receiver runs (exported for receivers and tests).
//
//   X-KAP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// The timestamp is signed with the body, so a captured request cannot be replayed later than the
// receiver's tolerance (5 minutes by default); the event id header lets it drop duplicates inside
// that window (deliveries are at least once: a lost 2xx means the same event again).
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'x-kap-signature';
export const EVENT_ID_HEADER = 'x-kap-event-id';
export const EVENT_TYPE_HEADER = 'x-kap-event-type';
export const DELIVERY_ID_HEADER = 'x-kap-delivery-id';
/** The subscription's sequence number of the delivery (1, 2, 3 ...; also `sequence` in the body): order by it, a gap is a missed event. */
export const SEQUENCE_HEADER = 'x-kap-sequence';
/** When the event happened (ISO 8601, UTC; also `occurredAt` in the body), whenever it is delivered. */
export const OCCURRED_AT_HEADER = 'x-kap-occurred-at';

export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  const mac = crypto.createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'mismatch' | 'expired' };

/** Checks a signature header against the raw body (before any JSON parsing). */
export function verifySignature(secret: string, header: string | undefined, body: string, opts: { toleranceSeconds?: number; nowSeconds?: number } = {}): VerifyResult {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = new Map<string, string[]>();
  for (const kv of header.split(',')) {
    const i = kv.indexOf('=');
    if (i <= 0) return { ok: false, reason: 'malformed' };
    const k = kv.slice(0, i).trim();
    parts.set(k, [...(parts.get(k) ?? []), kv.slice(i + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  const sigs = parts.get('v1') ?? [];
  if (!Number.isInteger(t) || sigs.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signPayload(secret, t, body).split('v1=')[1]!, 'hex');
  const match = sigs.some((s) => {
    const got = Buffer.from(s, 'hex');
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
  if (!match) return { ok: false, reason: 'mismatch' };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSeconds ?? 300)) return { ok: false, reason: 'expired' };
  return { ok: true, timestamp: t };
}
