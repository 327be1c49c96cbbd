// Encryption of every Temporal payload (workflow inputs and results, activity arguments, update and
// query payloads, memos): AES-256-GCM, the key id in the payload's metadata. New payloads are sealed
// with the newest key; every listed key still opens what it sealed, so keys rotate without downtime.
//
// Decoding is strict: a payload that is not sealed with one of the listed keys is refused. AES-GCM is
// authenticated, so only a holder of PAYLOAD_KEYS can make a payload this codec opens: a client that
// reaches the Temporal frontend without them (a raw `temporal workflow update`, an SDK client without
// this codec) cannot start, signal or update a course: the worker's codec hands workflow code a marker
// instead of the payload, and the workflow refuses it (RefusalMode below; src/workflows/refused.ts).
// Search attributes and headers do not pass through codecs.
import crypto from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { REFUSED_PAYLOAD_KEY, type RefusedPayload } from '../workflows/refused';

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

/** A payload that was not sealed by this codec (thrown by a codec in 'throw' mode). */
export class UnencryptedPayloadError extends ValueError {
  constructor(reason: string) {
    super(`refused a payload that is not sealed with a PAYLOAD_KEYS key (${reason}): only the engine may send payloads to its workflows`);
  }
}

/**
 * What decode does with a payload that is not sealed with a listed key, or whose seal does not verify:
 * - 'throw' (clients: the API, the CLI): an error, the caller's request fails.
 * - 'mark' (workers): the payload is replaced by a marker (src/workflows/refused.ts) that workflow
 *   code refuses: the Update is rejected, the signal ignored, the start fails. Its content never
 *   reaches workflow or activity code. Throwing in a worker would fail the whole workflow task, and
 *   for a signal (already in history) every later one too.
 * - 'display' (the codec endpoint for the Temporal Web UI): unsealed or forged payloads are shown as
 *   they are (a forged signal stays in history; it must not make the history unreadable to staff).
 * A payload sealed with a key id that is not listed throws in every mode: it names PAYLOAD_KEYS, so a
 * key dropped too early fails loudly and is retried once the key is back, instead of being ignored.
 */
export type RefusalMode = 'throw' | 'mark' | 'display';

export class EncryptionCodec implements PayloadCodec {
  /** Each key as a KeyObject, made once: given a Buffer, every cipher would import the key again (a measurable share of the worker's CPU per payload). */
  private readonly byId: Map<string, crypto.KeyObject>;
  private readonly current: PayloadKey;
  private readonly currentKey: crypto.KeyObject;
  private readonly currentAad: Buffer;

  constructor(
    private readonly keys: PayloadKey[],
    readonly mode: RefusalMode = 'throw',
  ) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, crypto.createSecretKey(k.key)]));
    this.currentKey = this.byId.get(this.current.id)!;
    this.currentAad = Buffer.from(this.current.id);
  }

  /** The same keys with another refusal mode. */
  withMode(mode: RefusalMode): EncryptionCodec {
    return mode === this.mode ? this : new EncryptionCodec(this.keys, mode);
  }

  private refuse(payload: Payload, reason: RefusedPayload[typeof REFUSED_PAYLOAD_KEY]): Payload {
    // The Web UI shows a forgery as it is: failing the batch would hide the whole history from staff.
    if (this.mode === 'display') return payload;
    if (this.mode === 'mark') return defaultPayloadConverter.toPayload({ [REFUSED_PAYLOAD_KEY]: reason });
    throw new UnencryptedPayloadError(reason === 'not-encrypted' ? 'not encrypted' : 'the seal does not verify');
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', this.currentKey, iv);
      // The key id is bound into the tag, so metadata cannot be swapped to another key unnoticed.
      cipher.setAAD(this.currentAad);
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
      if (!encoding || Buffer.from(encoding).toString() !== ENCODING) return this.refuse(payload, 'not-encrypted');
      const keyIdBytes = payload.metadata?.[KEY_ID];
      if (!keyIdBytes) return this.refuse(payload, 'not-authentic');
      const keyId = Buffer.from(keyIdBytes).toString();
      const key = this.byId.get(keyId);
      if (!key) throw new ValueError(`no key "${keyId.slice(0, 64)}" to decrypt this payload: add it to PAYLOAD_KEYS`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) return this.refuse(payload, 'not-authentic');
      let plain: Buffer;
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(keyId));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        return this.refuse(payload, 'not-authentic');
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
