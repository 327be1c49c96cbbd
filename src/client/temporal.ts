import { Client, Connection } from '@temporalio/client';

export interface TemporalClientOptions {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: boolean;
}

export async function connectTemporal(opts: TemporalClientOptions): Promise<Client> {
  const connection = await Connection.connect({
    address: opts.address,
    ...(opts.apiKey ? { apiKey: opts.apiKey, tls: true } : opts.tls ? { tls: true } : {}),
  });
  return new Client({ connection, namespace: opts.namespace });
}

/** Liveness probe used by /health: the frontend answers GetSystemInfo. */
export async function pingTemporal(client: Client, timeoutMs = 2000): Promise<void> {
  await client.connection.withDeadline(Date.now() + timeoutMs, () => client.connection.workflowService.getSystemInfo({}));
}
