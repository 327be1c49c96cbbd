import { openSecret, sealSecret } from '../../../src/webhooks/secret-box';
import { signPayload, verifySignature } from '../../../src/webhooks/signature';

describe('webhook signatures', () => {
  const body = '{"id":"evt_1","type":"step.entered"}';
  test('sign then verify; tampering, a wrong secret, an old timestamp and garbage all fail', () => {
    const now = 1_800_000_000;
    const header = signPayload('whsec_a', now, body);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature('whsec_a', header, body, { nowSeconds: now + 10 })).toEqual({ ok: true, timestamp: now });
    expect(verifySignature('whsec_a', header, body.replace('entered', 'overdue'), { nowSeconds: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature('whsec_b', header, body, { nowSeconds: now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature('whsec_a', header, body, { nowSeconds: now + 301 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifySignature('whsec_a', 'nonsense', body)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature('whsec_a', undefined, body)).toEqual({ ok: false, reason: 'malformed' });
    // During a secret rotation a sender may add a second v1: either matching is enough.
    expect(verifySignature('whsec_a', `${signPayload('whsec_old', now, body)},v1=${header.split('v1=')[1]}`, body, { nowSeconds: now }).ok).toBe(true);
  });

  test('secrets are sealed at rest and bound to their subscription', () => {
    const key = 'k'.repeat(40);
    const sealed = sealSecret(key, 'whk_1', 'whsec_s3cret');
    expect(sealed).not.toContain('s3cret');
    expect(openSecret(key, 'whk_1', sealed)).toBe('whsec_s3cret');
    expect(() => openSecret(key, 'whk_2', sealed)).toThrow();
    expect(() => openSecret('x'.repeat(40), 'whk_1', sealed)).toThrow();
  });
});
