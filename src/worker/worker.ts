// Wires the real dependencies into a Temporal worker for the course task queue.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export interface CreateWorkerOptions extends ActivityDeps {
  address: string;
  namespace: string;
  taskQueue: string;
  connection?: NativeConnection;
  /** Encrypts every payload (src/security/payload-codec.ts); the same codec as the clients'. */
  payloadCodec: PayloadCodec;
  /** Extra worker options (tests use a prebuilt bundle, benchmarks tune concurrency). */
  overrides?: Partial<WorkerOptions>;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  const ownsConnection = !opts.connection;
  const connection = opts.connection ?? (await NativeConnection.connect({ address: opts.address }));
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities({ db: opts.db, mailer: opts.mailer, mail: opts.mail, secretKey: opts.secretKey }),
    dataConverter: { payloadCodecs: [opts.payloadCodec] },
    shutdownGraceTime: '10 seconds',
    ...opts.overrides,
  });
  return { worker, connection, ownsConnection };
}
