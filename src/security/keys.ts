// Payload encryption keys: PAYLOAD_KEYS in production; in development a key generated once and kept
// in the data folder (mode 0600), so that `npm start` encrypts from the first run with no setup.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { EncryptionCodec, generatePayloadKey, parsePayloadKeys, type PayloadKey } from './payload-codec';

export function resolvePayloadKeys(config: Pick<Config, 'PAYLOAD_KEYS' | 'DATA_DIR' | 'NODE_ENV'>): PayloadKey[] {
  if (config.PAYLOAD_KEYS) return parsePayloadKeys(config.PAYLOAD_KEYS);
  if (config.NODE_ENV === 'production') throw new Error('PAYLOAD_KEYS is required in production');
  const file = path.join(config.DATA_DIR, 'payload-keys');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.DATA_DIR, { recursive: true });
    fs.writeFileSync(file, `${generatePayloadKey('dev1')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parsePayloadKeys(fs.readFileSync(file, 'utf8').trim());
}

export function payloadCodecFor(config: Pick<Config, 'PAYLOAD_KEYS' | 'DATA_DIR' | 'NODE_ENV'>): EncryptionCodec {
  return new EncryptionCodec(resolvePayloadKeys(config));
}
