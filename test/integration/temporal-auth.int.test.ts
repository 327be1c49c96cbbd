// Temporal client authentication is wired into both connections: the API's client (connectTemporal)
// and the worker's (createWorker). The dev server speaks plaintext, so a configuration that asks for
// TLS (an API key implies it) must fail to connect there, and one without must connect: proof that
// the settings reach the connection rather than being dropped on the way.
import { connectTemporal } from '../../src/client/temporal';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/db/connect';
import { payloadCodecFor } from '../../src/security/keys';
import { temporalAuth } from '../../src/temporal/auth';
import { createWorker } from '../../src/worker/worker';
import { startTestStack, TEST_PAYLOAD_KEYS, testEnv, type TestStack } from '../harness/stack';

let stack: TestStack; // installs the SDK runtime and checks the harness is up
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const config = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', TEMPORAL_ADDRESS: testEnv().temporalAddress, PAYLOAD_KEYS: TEST_PAYLOAD_KEYS, ...env });

test('an API key (TLS implied) reaches the API client and the worker: both fail against a plaintext frontend', async () => {
  const c = config({ TEMPORAL_API_KEY: 'not-a-real-key' });
  const auth = temporalAuth(c);
  expect(auth).toEqual({ tls: true, apiKey: 'not-a-real-key' });
  const client = connectTemporal({ address: c.TEMPORAL_ADDRESS!, namespace: 'default', ...auth, payloadCodec: payloadCodecFor(c) });
  await expect(client).rejects.toThrow();
  const db = createDb({ url: testEnv().databaseUrl, poolMax: 1 });
  try {
    await expect(createWorker({ address: c.TEMPORAL_ADDRESS!, auth, namespace: 'default', taskQueue: 'auth-probe', db, payloadCodec: payloadCodecFor(c) })).rejects.toThrow();
  } finally {
    await db.destroy();
  }
}, 60_000);

test('without client credentials both connect to the same frontend', async () => {
  const c = config({});
  const auth = temporalAuth(c);
  expect(auth).toEqual({ tls: false });
  const client = await connectTemporal({ address: c.TEMPORAL_ADDRESS!, namespace: 'default', ...auth, payloadCodec: payloadCodecFor(c) });
  await client.connection.workflowService.getSystemInfo({});
  await client.connection.close();
  const db = createDb({ url: testEnv().databaseUrl, poolMax: 1 });
  try {
    const { worker, connection } = await createWorker({ address: c.TEMPORAL_ADDRESS!, auth, namespace: 'default', taskQueue: `auth-probe-${Date.now()}`, db, payloadCodec: payloadCodecFor(c) });
    expect(worker.getState()).toBe('INITIALIZED');
    const running = worker.run();
    worker.shutdown();
    await running;
    await connection.close();
  } finally {
    await db.destroy();
  }
}, 60_000);
