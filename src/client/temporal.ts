import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { PayloadCodec, ProtoFailure } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
  /** From src/temporal/auth.ts temporalAuth(config): mTLS and/or an API key (an API key implies TLS). */
  apiKey?: string;
  tls?: boolean | TLSConfig;
  /** Encrypts every payload; the same codec as the workers'. */
  payloadCodec: PayloadCodec;
}

export async function connectTemporal(opts: TemporalClientOptions): Promise<Client> {
  const connection = await Connection.connect({
    address: opts.address,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...(opts.apiKey ? { apiKey: opts.apiKey, tls: opts.tls || true } : {}),
  });
  return new Client({ connection, namespace: opts.namespace, dataConverter: { payloadCodecs: [opts.payloadCodec], failureConverterPath: require.resolve('../temporal/failure-converter') } });
}

/**
 * The message of a failure read raw from the server (a pending activity's last failure in describe()):
 * its message is in an encrypted payload (src/temporal/failure-converter.ts), opened with the client's codec.
 */
export async function failureMessage(client: Client, failure: ProtoFailure | null | undefined): Promise<string | null> {
  if (!failure) return null;
  try {
    const err = await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, failure);
    return err?.message ?? failure.message ?? null;
  } catch {
    return failure.message ?? null;
  }
}

/** Liveness probe used by /health: the frontend answers GetSystemInfo. */
export async function pingTemporal(client: Client, timeoutMs = 2000): Promise<void> {
  await client.connection.withDeadline(Date.now() + timeoutMs, () => client.connection.workflowService.getSystemInfo({}));
}
