import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: boolean;
  /** Encrypts every payload; the same codec as the workers'. */
  payloadCodec: PayloadCodec;
}

export async function connectTemporal(opts: TemporalClientOptions): Promise<Client> {
  const connection = await Connection.connect({
    address: opts.address,
    ...(opts.apiKey ? { apiKey: opts.apiKey, tls: true } : opts.tls ? { tls: true } : {}),
  });
  return new Client({ connection, namespace: opts.namespace, dataConverter: { payloadCodecs: [opts.payloadCodec] } });
}

/** Liveness probe used by /health: the frontend answers GetSystemInfo. */
export async function pingTemporal(client: Client, timeoutMs = 2000): Promise<void> {
  await client.connection.withDeadline(Date.now() + timeoutMs, () => client.connection.workflowService.getSystemInfo({}));
}
