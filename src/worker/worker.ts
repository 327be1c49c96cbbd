// Wires the real dependencies into a Temporal worker for the course task queue.
import os from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../activities';
import { EncryptionCodec } from '../security/payload-codec';
import type { TemporalAuth } from '../temporal/auth';
import type { Config } from '../config';

import { FAILURE_CONVERTER_PATH, PRELOAD_MODULES, WORKFLOWS_PATH } from './bundle';

export { FAILURE_CONVERTER_PATH, PRELOAD_MODULES, WORKFLOW_BUNDLE_OPTIONS, WORKFLOWS_PATH } from './bundle';

export interface CreateWorkerOptions extends ActivityDeps {
  address: string;
  namespace: string;
  taskQueue: string;
  connection?: NativeConnection;
  /** mTLS and/or an API key for the connection this creates (src/temporal/auth.ts); the same as the clients'. */
  auth?: TemporalAuth;
  /** Encrypts every payload (src/security/payload-codec.ts); the same codec as the clients'. */
  payloadCodec: PayloadCodec;
  /** Extra worker options (tests use a prebuilt bundle, benchmarks tune concurrency). */
  overrides?: Partial<WorkerOptions>;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; ownsConnection: boolean }> {
  const ownsConnection = !opts.connection;
  const connection = opts.connection ?? (await NativeConnection.connect({ address: opts.address, ...(opts.auth?.tls ? { tls: opts.auth.tls } : {}), ...(opts.auth?.apiKey ? { apiKey: opts.auth.apiKey } : {}) }));
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    bundlerOptions: { preloadModules: [...PRELOAD_MODULES] },
    activities: createActivities({ db: opts.db, mailer: opts.mailer, mail: opts.mail, secretKey: opts.secretKey, webhookPrivateTargets: opts.webhookPrivateTargets, webhookGiveUpSeconds: opts.webhookGiveUpSeconds, ...(opts.localAttemptsAtOnce !== undefined ? { localAttemptsAtOnce: opts.localAttemptsAtOnce } : {}) }),
    // A worker never throws on a payload it cannot authenticate: workflow code gets a marker and refuses it
    // (the Update is rejected, the signal ignored, the start fails; src/workflows/refused.ts).
    dataConverter: { payloadCodecs: [opts.payloadCodec instanceof EncryptionCodec ? opts.payloadCodec.withMode('mark') : opts.payloadCodec], failureConverterPath: FAILURE_CONVERTER_PATH },
    shutdownGraceTime: '10 seconds',
    ...opts.overrides,
  });
  return { worker, connection, ownsConnection };
}

/**
 * How much one worker runs at once, from the machine's cores unless configured. The SDK's defaults
 * (40 workflow tasks, 100 activities, 100 local activities) suit a worker with a host to itself. In
 * `npm start` it shares the cores with the Temporal server, the database and the API; workflow tasks
 * and projections are CPU work, the projections on the embedded database's one connection too. With
 * the defaults, a burst of new courses takes the CPU from the requests staff wait on (on 2 cores an
 * enrollment took half as long again; docs/performance.md). Four per core leaves a free slot for the
 * Updates of staff actions and their projections. Activities wait on the network (SMTP, webhooks),
 * so they keep more room: a slow mail server must not hold every slot.
 *
 * Workflow-task polls are counted on top. The SDK's core takes a slot for each poll before it sends it
 * and holds it while the poll waits on the server (a long poll, up to a minute); the SDK's default is
 * as many polls as slots (at most 10), a fifth of them on the queue where a course's first task
 * arrives. So with 8 slots, 8 polls waiting held every slot, and a new course's first task (its
 * projection and its invitation's SMTP attempt, about 60 ms) ran only when another task gave its slot
 * back: first tasks ran one at a time, which capped enrollments near 15/s while the cores had room
 * (docs/performance.md, "The first task waited for a poll"). The slots given to the SDK are the tasks
 * that run plus the polls that wait, plus room for eager workflow start: in `npm start` an enrollment
 * asks the server to hand the new course's first task straight back to this worker
 * (src/client/temporal.ts requestsEagerStart), which the SDK grants only when it can reserve a free
 * slot at that moment. Where eager starts can come (`eagerStarts`: `npm start`, whose API starts
 * courses on this worker's connection), four times the tasks that run in all (and at least as many
 * again as the polls beyond the tasks and the polls): 32 on 2 cores. A worker of its own (`npm run
 * worker`) never gets an eager start, so it keeps the tasks, the polls and as many again as the polls
 * (16 on 2 cores): more would only let more tasks run at once. Measured on 2 cores: with 8 + 4 slots
 * no start was eager, not even on an idle worker; with 8 + 4 + 4 every start at 12/s was, 77-97 % at
 * 16-20/s, 55-79 % at 22-24/s, and at 28/s 6-17 %: past that point the first tasks queued in matching,
 * where a course costs the machine about a third more CPU, and the engine fell behind. With 32 slots
 * 93-98 % at 24/s and 65-92 % at 28/s (docs/performance.md, "Eager starts past 24/s"). An eager first
 * task skips matching and a poll: the Temporal server's CPU per course fell by a quarter to a third and
 * the first step's p95 at 12/s from about 100 to 77 ms (docs/performance.md, "Eager workflow start").
 * When no slot is free the start is an ordinary one.
 */
export function workerSlots(
  config: Pick<Config, 'WORKER_WORKFLOW_TASK_SLOTS' | 'WORKER_LOCAL_ACTIVITY_SLOTS' | 'WORKER_ACTIVITY_SLOTS'> & Partial<Pick<Config, 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_WORKFLOW_THREADS' | 'WORKER_WORKFLOW_TASK_POLLS' | 'TEMPORAL_EAGER_START'>>,
  cores = os.availableParallelism(),
  /** `eagerStarts`: the API's client starts courses on this worker's connection (`npm start`); TEMPORAL_EAGER_START=off turns it off. */
  opts: { eagerStarts?: boolean } = {},
): Pick<WorkerOptions, 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentWorkflowTaskPolls' | 'maxConcurrentLocalActivityExecutions' | 'maxConcurrentActivityTaskExecutions' | 'maxCachedWorkflows' | 'workflowThreadPoolSize'> {
  const perCores = Math.min(40, Math.max(4, 4 * cores));
  const tasks = config.WORKER_WORKFLOW_TASK_SLOTS ?? perCores;
  const polls = config.WORKER_WORKFLOW_TASK_POLLS ?? Math.max(2, Math.ceil(tasks / 2));
  const eager = opts.eagerStarts === true && config.TEMPORAL_EAGER_START !== 'off';
  return {
    maxConcurrentWorkflowTaskExecutions: eager ? Math.max(4 * tasks, tasks + 2 * polls) : tasks + 2 * polls,
    maxConcurrentWorkflowTaskPolls: polls,
    maxConcurrentLocalActivityExecutions: config.WORKER_LOCAL_ACTIVITY_SLOTS ?? perCores,
    maxConcurrentActivityTaskExecutions: config.WORKER_ACTIVITY_SLOTS ?? 20,
    // The SDK's default (from the machine's memory) unless set.
    ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS } : {}),
    // Two workflow threads where there are two cores (the SDK's default is one): courses' activations
    // run on two threads instead of queueing on one. Same-minute A/B on 2 cores
    // (docs/performance.md, "A smaller cache, and two workflow threads"): staff actions beside 20
    // enrollments/s p95 106 ms against 115 at 3 turns/s (within the noise), 189 against 303 ms at
    // 6 turns/s; the same knee.
    workflowThreadPoolSize: config.WORKER_WORKFLOW_THREADS ?? Math.min(2, Math.max(1, cores)),
  };
}
