// Configuration, read once from the environment through one zod schema.
// Every problem is reported together; callers exit with code 2 on a ConfigError.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

const port = z.coerce.number().int().min(1).max(65535);
const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.url().optional(),
  /** Base of the FHIR identifier systems, code systems and canonical URLs this installation mints (src/fhir); set once, never change it. */
  FHIR_SYSTEM_BASE: z.url().optional(),
  DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  /** Eager dispatch on the servers this engine starts (the dev server, `npm run cluster`); read by src/temporal/dev-server.ts eagerDispatchEnabled, validated here. */
  TEMPORAL_EAGER_DISPATCH: z.enum(['on', 'off']).default('on'),
  /** Eager workflow start at enrollment when the API shares the worker's connection (`npm start`); passed to src/client/temporal.ts requestsEagerStart by the enrollment route and to the worker's slots. */
  TEMPORAL_EAGER_START: z.enum(['on', 'off']).default('on'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('kap-courses'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  /** API key for the Temporal frontend (Temporal Cloud, or a cluster with an authorizer); implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.default(false),
  /** mTLS: PEM files of this process's client certificate and its private key (both or neither); imply TLS. */
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  /** PEM file of the CA that signed the frontend's certificate (default: the system's roots); implies TLS. */
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  /** Server name to verify the frontend's certificate against (SNI), when it differs from the address's host. */
  TEMPORAL_TLS_SERVER_NAME: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name').optional(),
  /** Production only: connect to TEMPORAL_ADDRESS without client authentication (a frontend no one else can reach). */
  TEMPORAL_ALLOW_UNAUTHENTICATED: bool.default(false),
  /** Webhook targets on this machine or a private network: refused unless 'allow' (the test suite's default, for its local receivers). */
  WEBHOOK_PRIVATE_TARGETS: z.enum(['allow', 'refuse']).optional(),
  /** Give a webhook delivery up this many seconds after its first attempt (besides its 20 attempts); unset = the attempts alone. */
  WEBHOOK_GIVE_UP_SECONDS: z.coerce.number().int().min(1).max(7 * 86400).optional(),
  /** Origin(s) of the Temporal Web UI allowed to call the codec endpoint; default the embedded UI. */
  TEMPORAL_UI_URL: z.string().regex(/^https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*$/, 'must be URL[,URL...]').optional(),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Named prepared statements (src/db/prepared.ts); 'off' behind a pooler that cannot keep them (PgBouncer in transaction mode). */
  DATABASE_PREPARED_STATEMENTS: z.enum(['on', 'off']).default('on'),

  /** Workflow tasks one worker runs at once; default four per core (src/worker/worker.ts workerSlots). */
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(1000).optional(),
  /** Workflow-task polls one worker keeps open, each holding a slot of its own while it waits; default half the task slots, at least 2. */
  WORKER_WORKFLOW_TASK_POLLS: z.coerce.number().int().min(2).max(100).optional(),
  /** Local activities (the projections) one worker runs at once; default four per core. */
  WORKER_LOCAL_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).optional(),
  /** Threads one worker runs its workflows on (the SDK's workflowThreadPoolSize); default 2 (1 on one core; the SDK's own default is 1). */
  WORKER_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(16).optional(),
  /** Activities (mail, webhooks, records) one worker runs at once; default 20. */
  WORKER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).optional(),
  /**
   * Workflows one worker keeps in memory (the SDK's sticky cache); two per open course (the course and
   * its open assessment). Default: the SDK's, sized from the machine's memory. A course out of the cache
   * replays its history on its next task: size it from the open courses (docs/performance.md).
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  /**
   * Back-pressure: enrollment answers 503 (Retry-After) while this many newly enrolled courses still wait
   * for their first step (src/client/admission.ts); 0 = never. About a second of work at a 2-core
   * machine's knee (40-44/s). A shallow queue is what keeps throughput at the knee past it: with a queue
   * the co-located worker has no free slot when a start arrives, the start is not eager, and each course
   * costs a fifth to a third more CPU. Full runs from fresh clones, 2026-12-04 to 06: past the knee held
   * (at least 0.9 of the peak) in 10 of 12 runs with 50 and 1 of 3 with 200 (0.85, 0.86), and the first
   * step's p95 past the knee was 2.4-4.8 s with 50 against 10-15 s with 200. The price: at the knee's
   * ordinary jitter 50 can refuse a few (15 of 2,640 at 44/s once, p95 748 ms), each with Retry-After
   * (docs/performance.md, "The backlog limit back to 50"). Raise it with more workers.
   */
  ENROLLMENT_BACKLOG_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(50),
  EMBEDDED_PG_PORT: port.default(5433),

  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  SMTP_SINK_PORT: port.default(2525),
  MAIL_FROM: z.string().min(3).default('KAP Clinic <no-reply@kap.local>'),

  /** Bearer token a Prometheus scraper sends to GET /metrics; unset = direct loopback connections only. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Failed dashboard logins of one account before each further one waits (1 s, doubling, see LOGIN_BACKOFF_MAX_SECONDS). */
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  /** Failed logins from one address before its accounts that failed recently wait too. */
  LOGIN_ADDRESS_FREE_FAILURES: z.coerce.number().int().min(1).max(10_000).default(20),
  /** The longest wait between two login attempts after failures: the right password is never refused longer. */
  LOGIN_BACKOFF_MAX_SECONDS: z.coerce.number().int().min(1).max(300).default(30),
  /** Where the Temporal SDK runtime serves its worker metrics (host:port, loopback by default); 'off' = not at all. */
  TEMPORAL_METRICS_BIND: z.string().regex(/^([^\s:]+:\d+|off)$/, "must be host:port or 'off'").optional(),

  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Payload encryption keys `id:base64(32 bytes)`, comma-separated, newest first. */
  PAYLOAD_KEYS: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/=]{40,}(,[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/=]{40,})*$/, 'must be id:base64key[,id:base64key...]')
    .optional(),
});

/**
 * Temporal client authentication (mTLS and/or an API key): the files must be readable PEM, a
 * certificate needs its key, the settings need TEMPORAL_ADDRESS (the embedded dev server takes none),
 * and in production a TEMPORAL_ADDRESS needs one of them unless TEMPORAL_ALLOW_UNAUTHENTICATED says
 * the frontend is reachable by this engine alone. Anyone who reaches an unauthenticated frontend can
 * read every history and visibility record, and terminate or reset any course (payload encryption
 * keeps them from reading payloads or driving a workflow, src/security/payload-codec.ts).
 */
function temporalAuthProblems(c: z.infer<typeof schema>): string[] {
  const problems: string[] = [];
  const pem = (name: 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA', marker: RegExp, what: string) => {
    const file = c[name];
    if (!file) return;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${name}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? 'unreadable')})`);
      return;
    }
    if (!marker.test(text)) problems.push(`${name}: ${file} is not a PEM ${what}`);
  };
  pem('TEMPORAL_TLS_CERT', /-----BEGIN CERTIFICATE-----/, 'certificate (-----BEGIN CERTIFICATE-----)');
  pem('TEMPORAL_TLS_KEY', /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/, 'private key (-----BEGIN PRIVATE KEY-----)');
  pem('TEMPORAL_TLS_CA', /-----BEGIN CERTIFICATE-----/, 'CA certificate (-----BEGIN CERTIFICATE-----)');
  if (c.TEMPORAL_TLS_CERT && !c.TEMPORAL_TLS_KEY) problems.push('TEMPORAL_TLS_KEY: required with TEMPORAL_TLS_CERT (the client certificate\'s private key)');
  if (c.TEMPORAL_TLS_KEY && !c.TEMPORAL_TLS_CERT) problems.push('TEMPORAL_TLS_CERT: required with TEMPORAL_TLS_KEY (the client certificate)');
  if (!c.TEMPORAL_ADDRESS) {
    for (const name of ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME'] as const) {
      if (c[name]) problems.push(`${name}: applies to a cluster at TEMPORAL_ADDRESS; the embedded dev server (TEMPORAL_ADDRESS unset) takes no client credentials`);
    }
  } else if (c.NODE_ENV === 'production' && !c.TEMPORAL_API_KEY && !c.TEMPORAL_TLS_CERT && !c.TEMPORAL_ALLOW_UNAUTHENTICATED) {
    problems.push(
      'TEMPORAL_TLS_CERT: required in production with TEMPORAL_ADDRESS, with TEMPORAL_TLS_KEY (mTLS), or TEMPORAL_API_KEY; set TEMPORAL_ALLOW_UNAUTHENTICATED=true only if no one but this engine can reach the Temporal frontend',
    );
  }
  return problems;
}

export type Config = Readonly<
  z.infer<typeof schema> & {
    /** true when this process starts its own Temporal dev server */
    embeddedTemporal: boolean;
    /** true when this process starts its own PGlite */
    embeddedDatabase: boolean;
    /** true when mail goes to the embedded SMTP sink */
    embeddedSmtp: boolean;
    /** Whether webhooks may target loopback, link-local and private addresses (src/webhooks/target-guard.ts). */
    webhookPrivateTargets: 'allow' | 'refuse';
    publicUrl: string;
  }
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (process.env by default). Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const c = result.data;
  const missing: string[] = [];
  if (c.NODE_ENV === 'production' && !c.SECRET_KEY) missing.push('SECRET_KEY: required in production (at least 32 characters)');
  if (c.NODE_ENV === 'production' && !c.PAYLOAD_KEYS) missing.push('PAYLOAD_KEYS: required in production (payload encryption keys, id:base64key)');
  // The embedded SMTP sink keeps every email on this machine (no client would receive one): development only.
  if (c.NODE_ENV === 'production' && !c.SMTP_URL) missing.push('SMTP_URL: required in production (the mail relay; the embedded sink delivers nothing)');
  missing.push(...temporalAuthProblems(c));
  if (missing.length) throw new ConfigError(missing);
  return Object.freeze({
    ...c,
    embeddedTemporal: !c.TEMPORAL_ADDRESS,
    embeddedDatabase: !c.DATABASE_URL,
    embeddedSmtp: !c.SMTP_URL,
    webhookPrivateTargets: c.WEBHOOK_PRIVATE_TARGETS ?? (c.NODE_ENV === 'test' ? 'allow' : 'refuse'),
    publicUrl: c.PUBLIC_URL ?? `http://${c.HOST === '0.0.0.0' ? '127.0.0.1' : c.HOST}:${c.PORT}`,
  });
}

/** For entry points: parse or print every problem and exit 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
