import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkClientLink, deriveLinkKey, resolveSecretKey, signClientLink } from '../../../src/security/client-links';

describe('signed client links (pure part)', () => {
  const key = deriveLinkKey('k'.repeat(40));
  const now = new Date('2026-05-01T12:00:00Z');
  const expiresAt = new Date('2026-05-03T12:00:00Z');

  test('a fresh link verifies with its claims', () => {
    const { token, nonce } = signClientLink(key, { assessmentId: 'course-1/a-2', expiresAt });
    const r = checkClientLink(key, token, now);
    expect(r).toEqual({ ok: true, assessmentId: 'course-1/a-2', expiresAt, nonce });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  test('two links for the same assessment differ (nonce)', () => {
    expect(signClientLink(key, { assessmentId: 'a', expiresAt }).token).not.toBe(signClientLink(key, { assessmentId: 'a', expiresAt }).token);
  });

  test('expired', () => {
    const { token } = signClientLink(key, { assessmentId: 'a', expiresAt });
    expect(checkClientLink(key, token, expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  test('tampered payload, tampered signature, other key', () => {
    const { token } = signClientLink(key, { assessmentId: 'a', expiresAt });
    const [p, s] = token.split('.') as [string, string];
    const forged = Buffer.from(Buffer.from(p, 'base64url').toString('utf8').replace('"a":"a"', '"a":"b"')).toString('base64url');
    expect(checkClientLink(key, `${forged}.${s}`, now)).toEqual({ ok: false, reason: 'tampered' });
    const flipped = s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`;
    expect(checkClientLink(key, `${p}.${flipped}`, now)).toEqual({ ok: false, reason: 'tampered' });
    expect(checkClientLink(deriveLinkKey('x'.repeat(40)), token, now)).toEqual({ ok: false, reason: 'tampered' });
    // An expired forgery says tampered, not expired: nothing is learnt without the key.
    expect(checkClientLink(key, `${forged}.${s}`, new Date('2030-01-01'))).toEqual({ ok: false, reason: 'tampered' });
  });

  test.each([[''], ['abc'], ['a.b.c'], ['a b.c'], [42], [null], ['x'.repeat(2000)]])('malformed %j', (t) => {
    expect(checkClientLink(key, t, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('one spelling per token: the same bytes with the unused bits of a last character set are refused', () => {
    const { token } = signClientLink(key, { assessmentId: 'a', expiresAt });
    const [p, s] = token.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respell = (x: string) => `${x.slice(0, -1)}${alphabet[alphabet.indexOf(x[x.length - 1]!) ^ 1]}`;
    // A 32-byte MAC is 43 characters: the last one carries 2 unused bits.
    expect(Buffer.from(respell(s), 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    expect(checkClientLink(key, `${p}.${respell(s)}`, now)).toEqual({ ok: false, reason: 'malformed' });
    if (p.length % 4 !== 0) expect(checkClientLink(key, `${respell(p)}.${s}`, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkClientLink(key, token, now)).toMatchObject({ ok: true });
  });

  test('a validly signed payload of the wrong shape is malformed', () => {
    const payload = Buffer.from(JSON.stringify({ v: 1, p: 'other', a: 'x', e: 9999999999, n: 'n' }));
    const sig = crypto.createHmac('sha256', key).update(payload).digest('base64url');
    expect(checkClientLink(key, `${payload.toString('base64url')}.${sig}`, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('the development key is generated once and kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-key-'));
    try {
      const a = resolveSecretKey({ DATA_DIR: dir });
      const b = resolveSecretKey({ DATA_DIR: dir });
      expect(a).toBe(b);
      expect(a.length).toBeGreaterThanOrEqual(32);
      expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
      expect(resolveSecretKey({ DATA_DIR: dir, SECRET_KEY: 's'.repeat(32) })).toBe('s'.repeat(32));
      expect(() => resolveSecretKey({ DATA_DIR: dir, NODE_ENV: 'production' })).toThrow(/SECRET_KEY/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
