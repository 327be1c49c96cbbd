// Temporal client authentication settings (mTLS files, API key): every problem names its variable, and
// the client and the worker get the same TLS settings from them (src/temporal/auth.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';
import { describeTemporalAuth, temporalAuth } from '../../../src/temporal/auth';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-tls-'));
const cert = path.join(dir, 'client.pem');
const key = path.join(dir, 'client.key');
const ca = path.join(dir, 'ca.pem');
const certPem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const keyPem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
fs.writeFileSync(cert, certPem);
fs.writeFileSync(key, keyPem, { mode: 0o600 });
fs.writeFileSync(ca, certPem);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const prod = { NODE_ENV: 'production', SMTP_URL: 'smtp://mail.internal:587', SECRET_KEY: 's'.repeat(40), PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`, TEMPORAL_ADDRESS: 'temporal.internal:7233' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('a missing key file is a clear error naming TEMPORAL_TLS_KEY and the path', () => {
  const missing = path.join(dir, 'nope.key');
  const p = problems({ ...prod, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: missing });
  expect(p).toEqual([`TEMPORAL_TLS_KEY: cannot read ${missing} (no such file)`]);
});

test('a certificate needs its key and a key its certificate; files must be PEM of the right kind', () => {
  expect(problems({ ...prod, TEMPORAL_TLS_CERT: cert })).toEqual([expect.stringMatching(/^TEMPORAL_TLS_KEY: required with TEMPORAL_TLS_CERT/)]);
  expect(problems({ ...prod, TEMPORAL_TLS_KEY: key, TEMPORAL_API_KEY: 'k' })).toEqual([expect.stringMatching(/^TEMPORAL_TLS_CERT: required with TEMPORAL_TLS_KEY/)]);
  // Swapped files: each names its variable.
  expect(problems({ ...prod, TEMPORAL_TLS_CERT: key, TEMPORAL_TLS_KEY: cert }).map((x) => x.split(':')[0]).sort()).toEqual(['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']);
  expect(problems({ ...prod, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: dir })).toEqual([`TEMPORAL_TLS_CA: cannot read ${dir} (a directory, not a file)`]);
  expect(problems({ ...prod, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_SERVER_NAME: 'not a host' })).toEqual([expect.stringMatching(/^TEMPORAL_TLS_SERVER_NAME: /)]);
});

test('production with TEMPORAL_ADDRESS requires mTLS or an API key, unless explicitly allowed', () => {
  expect(problems(prod)).toEqual([expect.stringMatching(/^TEMPORAL_TLS_CERT: required in production with TEMPORAL_ADDRESS/)]);
  expect(problems({ ...prod, TEMPORAL_API_KEY: 'cloud-key' })).toEqual([]);
  expect(problems({ ...prod, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key })).toEqual([]);
  expect(problems({ ...prod, TEMPORAL_ALLOW_UNAUTHENTICATED: 'true' })).toEqual([]);
  // Development and the embedded dev server need none.
  expect(problems({ TEMPORAL_ADDRESS: 'temporal.internal:7233' })).toEqual([]);
  expect(problems({})).toEqual([]);
});

test('client credentials without TEMPORAL_ADDRESS are refused (the embedded dev server takes none)', () => {
  expect(problems({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key }).map((x) => x.split(':')[0]).sort()).toEqual(['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY']);
});

test('the connection settings: mTLS with the files read, TLS for an API key, plaintext otherwise', () => {
  const mtls = temporalAuth(loadConfig({ ...prod, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal' }));
  expect(mtls.apiKey).toBeUndefined();
  expect(typeof mtls.tls).toBe('object');
  const tls = mtls.tls as Exclude<typeof mtls.tls, boolean>;
  expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe(certPem);
  expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe(keyPem);
  expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe(certPem);
  expect(tls.serverNameOverride).toBe('frontend.temporal.internal');
  expect(describeTemporalAuth(mtls)).toBe('mTLS client certificate');

  const cloud = temporalAuth(loadConfig({ ...prod, TEMPORAL_API_KEY: 'cloud-key' }));
  expect(cloud).toEqual({ tls: true, apiKey: 'cloud-key' });
  expect(describeTemporalAuth(cloud)).toBe('TLS + API key');
  expect(describeTemporalAuth(cloud)).not.toContain('cloud-key');

  expect(temporalAuth(loadConfig({}))).toEqual({ tls: false });
  expect(temporalAuth(loadConfig({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS: 'true' }))).toEqual({ tls: true });
});
