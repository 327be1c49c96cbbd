import crypto from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, ENCODING, generatePayloadKey, parsePayloadKeys, UnencryptedPayloadError } from '../../../src/security/payload-codec';
import { isRefusedPayload, REFUSED_PAYLOAD_KEY } from '../../../src/workflows/refused';

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

test('a plain payload is refused: clients throw, workers get the marker, the Web UI sees it as it is', async () => {
  const client = new EncryptionCodec([key('k1')]);
  await expect(client.decode([plain])).rejects.toThrow(/not sealed with a PAYLOAD_KEYS key \(not encrypted\)/);
  // Every payload of a batch must be sealed: one plain payload among sealed ones fails the batch.
  const [sealed] = await client.encode([plain]);
  await expect(client.decode([sealed, plain])).rejects.toThrow(UnencryptedPayloadError);
  // No metadata at all, a binary/null payload (what a raw client sends for "no value").
  await expect(client.decode([{ data: Buffer.from('{}') }])).rejects.toThrow(/not encrypted/);
  await expect(client.decode([defaultPayloadConverter.toPayload(undefined)])).rejects.toThrow(/not encrypted/);

  const [marked] = await client.withMode('mark').decode([plain]);
  const value = defaultPayloadConverter.fromPayload(marked);
  expect(value).toEqual({ [REFUSED_PAYLOAD_KEY]: 'not-encrypted' });
  expect(isRefusedPayload(value)).toBe(true);
  expect(JSON.stringify(value)).not.toMatch(/Robin|slept/);

  const [shown] = await client.withMode('display').decode([plain]);
  expect(shown).toBe(plain);
});

test('a forged seal (encoding and key id set, data not made with the key) is refused; the Web UI sees it as it is', async () => {
  const k1 = key('k1');
  const codec = new EncryptionCodec([k1]);
  const forged = { metadata: { encoding: Buffer.from(ENCODING), 'encryption-key-id': Buffer.from('k1') }, data: crypto.randomBytes(64) };
  await expect(codec.decode([forged])).rejects.toThrow(/seal does not verify/);
  const [shown] = await codec.withMode('display').decode([forged]);
  expect(shown).toBe(forged);
  const [marked] = await codec.withMode('mark').decode([forged]);
  expect(defaultPayloadConverter.fromPayload(marked)).toEqual({ [REFUSED_PAYLOAD_KEY]: 'not-authentic' });
  const noKeyId = { metadata: { encoding: Buffer.from(ENCODING) }, data: crypto.randomBytes(64) };
  await expect(codec.decode([noKeyId])).rejects.toThrow(UnencryptedPayloadError);
  const tooShort = { metadata: { encoding: Buffer.from(ENCODING), 'encryption-key-id': Buffer.from('k1') }, data: crypto.randomBytes(8) };
  await expect(codec.decode([tooShort])).rejects.toThrow(UnencryptedPayloadError);
});

test('a payload sealed with a key that is not listed throws in every mode, naming PAYLOAD_KEYS', async () => {
  const [sealed] = await new EncryptionCodec([key('gone')]).encode([plain]);
  const codec = new EncryptionCodec([key('k1')]);
  for (const mode of ['throw', 'mark', 'display'] as const) {
    await expect(codec.withMode(mode).decode([sealed])).rejects.toThrow(/no key "gone" to decrypt this payload: add it to PAYLOAD_KEYS/);
  }
});

test('PAYLOAD_KEYS parsing names the bad entry', () => {
  const good = generatePayloadKey('one');
  expect(parsePayloadKeys(`${good},${generatePayloadKey('two')}`).map((k) => k.id)).toEqual(['one', 'two']);
  expect(() => parsePayloadKeys(`${good},two:${Buffer.alloc(16).toString('base64')}`)).toThrow(/entry 2 \(two\): key must be 32 bytes/);
  expect(() => parsePayloadKeys(`${good},${good}`)).toThrow(/unique/);
  expect(() => parsePayloadKeys('nokey')).toThrow(/entry 1: expected id:base64key/);
});
