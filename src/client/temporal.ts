import { Client, Connection, type ConnectionLike, InternalConnectionLikeSymbol, type InternalConnectionLike, type TLSConfig } from '@temporalio/client';
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
  /**
   * The in-process worker's connection (`npm start`: the API and the worker in one process), instead of
   * a connection of the client's own. A client on it can ask for eager workflow start (see
   * requestsEagerStart); the worker owns it and closes it.
   */
  workerConnection?: ConnectionLike;
}

export async function connectTemporal(opts: TemporalClientOptions): Promise<Client> {
  const connection = opts.workerConnection ?? await Connection.connect({
    address: opts.address,
    ...(opts.tls ? { tls: opts.tls } : {}),
    ...(opts.apiKey ? { apiKey: opts.apiKey, tls: opts.tls || true } : {}),
  });
  return new Client({ connection, namespace: opts.namespace, dataConverter: { payloadCodecs: [opts.payloadCodec], failureConverterPath: require.resolve('../temporal/failure-converter') } });
}

/**
 * Whether starts through this client ask for eager workflow start: only on a worker's connection (the
 * SDK refuses the request on any other). The server then hands the new workflow's first task back in
 * the start's reply to the worker on that connection, when it polls the same task queue and has a free
 * slot, instead of through matching, where a new course's first task waited for a poll (up to seconds
 * near the knee: docs/performance.md). With no such worker or no free slot the start is an ordinary one.
 * `setting` is the parsed TEMPORAL_EAGER_START (src/config.ts): `off` turns it off (measured both ways in
 * docs/performance.md).
 */
export function requestsEagerStart(client: Client, setting: 'on' | 'off' = 'on'): boolean {
  if (setting === 'off') return false;
  return (client.connection as InternalConnectionLike | undefined)?.[InternalConnectionLikeSymbol]?.supportsEagerStart === true;
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
