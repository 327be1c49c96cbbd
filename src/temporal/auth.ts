// How this process authenticates to the Temporal frontend: mTLS (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY,
// optionally TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME) and/or an API key (TEMPORAL_API_KEY), the same
// for the client (API, CLI) and the worker. loadConfig has already checked the files (src/config.ts).
import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config';

export interface TemporalAuth {
  /** false: plaintext (the embedded dev server, or TEMPORAL_ALLOW_UNAUTHENTICATED); true: TLS with the system's roots. */
  tls: boolean | TLSConfig;
  apiKey?: string;
}

type AuthConfig = Pick<Config, 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME'>;

export function temporalAuth(config: AuthConfig): TemporalAuth {
  const tls: TLSConfig = {};
  if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
    tls.clientCertPair = { crt: fs.readFileSync(config.TEMPORAL_TLS_CERT), key: fs.readFileSync(config.TEMPORAL_TLS_KEY) };
  }
  if (config.TEMPORAL_TLS_CA) tls.serverRootCACertificate = fs.readFileSync(config.TEMPORAL_TLS_CA);
  if (config.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  const useTls = config.TEMPORAL_TLS || Boolean(config.TEMPORAL_API_KEY) || Object.keys(tls).length > 0;
  return {
    tls: !useTls ? false : Object.keys(tls).length ? tls : true,
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}

/** What a log line may say about it (never the key or a file's content). */
export function describeTemporalAuth(auth: TemporalAuth): string {
  const parts: string[] = [];
  if (typeof auth.tls === 'object' && auth.tls.clientCertPair) parts.push('mTLS client certificate');
  else if (auth.tls) parts.push('TLS');
  if (auth.apiKey) parts.push('API key');
  return parts.length ? parts.join(' + ') : 'none (plaintext, unauthenticated)';
}
