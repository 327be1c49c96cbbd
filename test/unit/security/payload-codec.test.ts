import crypto from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, ENCODING, generatePayloadKey, parsePayloadKeys } from '../../../src/security/payload-codec';

const key = (id: string) => ({ id, key: crypto.randomBytes(32) });
const plain = defaultPayloadConverter.toPayload({ name: 'Robin Vale', answers: [3, 2, 1], note: 'slept badly' });

test('encode seals with the newest key and leaves no plaintext; decode restores the payload', async () => {
  const codec = new EncryptionCodec([key('k2'), key('k1')]);
  const [sealed] = await codec.encode([plain]);
  expect(Buffer.from(sealed.metadata!.encoding!).toString()).toBe(ENCODING);
  expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('k2');
  expect(Buffer.from(sealed.data!).toString('latin1')).not.toMatch(/Robin|slept|answers/);
  const [opened] = await codec.decode([sealed]);
  expect(defaultPayloadConverter.fromPayload(opened)).toEqual({ name: 'Robin Vale', answers: [3, 2, 1], note: 'slept badly' });
});

test('rotation: payloads sealed under an older key still open once a newer key leads', async () => {
  const k1 = key('k1');
  const old = new EncryptionCodec([k1]);
  const [sealedOld] = await old.encode([plain]);
  const rotated = new EncryptionCodec([key('k2'), k1]);
  const [opened] = await rotated.decode([sealedOld]);
  expect(defaultPayloadConverter.fromPayload(opened)).toMatchObject({ name: 'Robin Vale' });
  const [sealedNew] = await rotated.encode([plain]);
  expect(Buffer.from(sealedNew.metadata!['encryption-key-id']!).toString()).toBe('k2');
  // Dropping the old key too early is a clear error, not garbage.
  await expect(new EncryptionCodec([key('k3')]).decode([sealedOld])).rejects.toThrow(/no key "k1"/);
});

test('tampering with the data or relabelling the key id is detected', async () => {
  const a = key('a');
  const b = { id: 'b', key: a.key }; // same bytes under another id: the id is authenticated too
  const codec = new EncryptionCodec([a, b]);
  const [sealed] = await codec.encode([plain]);
  const flipped = Buffer.from(sealed.data!);
  flipped[20] ^= 1;
  await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow();
  await expect(codec.decode([{ ...sealed, metadata: { ...sealed.metadata, 'encryption-key-id': Buffer.from('b') } }])).rejects.toThrow();
});

test('unencrypted payloads pass through decode (histories from before encryption)', async () => {
  const codec = new EncryptionCodec([key('k1')]);
  const [out] = await codec.decode([plain]);
  expect(out).toBe(plain);
});

test('PAYLOAD_KEYS parsing names the bad entry', () => {
  const good = generatePayloadKey('one');
  expect(parsePayloadKeys(`${good},${generatePayloadKey('two')}`).map((k) => k.id)).toEqual(['one', 'two']);
  expect(() => parsePayloadKeys(`${good},two:${Buffer.alloc(16).toString('base64')}`)).toThrow(/entry 2 \(two\): key must be 32 bytes/);
  expect(() => parsePayloadKeys(`${good},${good}`)).toThrow(/unique/);
  expect(() => parsePayloadKeys('nokey')).toThrow(/entry 1: expected id:base64key/);
});
