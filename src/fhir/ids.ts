// FHIR resource ids must match [A-Za-z0-9\-\.]{1,64}; ours contain '/' (`<courseId>/<stepKey>`).
// A name-based UUID (RFC 4122 version 5 layout over SHA-1) makes the same record always export
// under the same id, so a receiver can upsert instead of duplicating on re-export.
import crypto from 'node:crypto';

const NAMESPACE = Buffer.from('6f1d3f5e9b2a4c7d8e0f1a2b3c4d5e6f', 'hex');

export function fhirId(kind: string, key: string): string {
  const h = crypto.createHash('sha1').update(NAMESPACE).update(`${kind}:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export const fullUrl = (id: string) => `urn:uuid:${id}`;
