// Encryption of every Temporal payload (workflow inputs and results, activity arguments, update and
// query payloads, memos): AES-256-GCM, the key id in the payload's metadata. New payloads are sealed
// with the newest key; every listed key still opens what it sealed, so keys rotate without downtime.
import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** Parses `id1:base64key1,id2:base64key2` (newest first), each key 32 bytes. */
export function parsePayloadKeys(spec: string): PayloadKey[] {
  const keys = spec.split(',').map((part, i) => {
    const [id, b64] = part.trim().split(':');
    if (!id || !b64) throw new Error(`PAYLOAD_KEYS entry ${i + 1}: expected id:base64key`);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error(`PAYLOAD_KEYS entry ${i + 1}: key id may hold letters, digits, . _ - only`);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new Error(`PAYLOAD_KEYS entry ${i + 1} (${id}): key must be 32 bytes (base64 of 32 random bytes)`);
    return { id, key };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('PAYLOAD_KEYS: key ids must be unique');
  return keys;
}

export function generatePayloadKey(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${id}:${crypto.randomBytes(32).toString('base64')}`;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: PayloadKey;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', this.current.key, iv);
      // The key id is bound into the tag, so metadata cannot be swapped to another key unnoticed.
      cipher.setAAD(Buffer.from(this.current.id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
          [KEY_ID]: Buffer.from(this.current.id),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID];
      if (!keyIdBytes) throw new ValueError('encrypted payload without a key id');
      const keyId = Buffer.from(keyIdBytes).toString();
      const key = this.byId.get(keyId);
      if (!key) throw new ValueError(`no key "${keyId}" to decrypt this payload: add it to PAYLOAD_KEYS`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload too short');
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
