// Webhook signing secrets at rest. A signing secret has to be used in the clear to sign, so unlike
// API tokens it cannot be stored as a hash: it is sealed with AES-256-GCM under a key derived from
// the installation's SECRET_KEY (HKDF-SHA256, its own label), so a database dump alone does not
// reveal it. Format: `v1.<iv>.<tag>.<ciphertext>` (base64url); the subscription id is bound in as
// associated data, so a sealed secret copied onto another subscription does not open.
import crypto from 'node:crypto';

function keyFrom(secretKey: string | Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', secretKey, Buffer.alloc(0), 'kap/webhook-secrets/v1', 32));
}

export function sealSecret(secretKey: string | Buffer, subscriptionId: string, secret: string): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', keyFrom(secretKey), iv);
  c.setAAD(Buffer.from(subscriptionId, 'utf8'));
  const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function openSecret(secretKey: string | Buffer, subscriptionId: string, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unrecognised sealed webhook secret');
  const d = crypto.createDecipheriv('aes-256-gcm', keyFrom(secretKey), Buffer.from(iv, 'base64url'));
  d.setAAD(Buffer.from(subscriptionId, 'utf8'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}
