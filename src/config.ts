// Configuration, read once from the environment through one zod schema.
// Every problem is reported together; callers exit with code 2 on a ConfigError.
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
  DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('kap-courses'),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.default(false),
  /** Origin(s) of the Temporal Web UI allowed to call the codec endpoint; default the embedded UI. */
  TEMPORAL_UI_URL: z.string().regex(/^https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*$/, 'must be URL[,URL...]').optional(),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

  /** Workflow tasks one worker runs at once; default four per core (src/worker/worker.ts workerSlots). */
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(1000).optional(),
  /** Local activities (the projections) one worker runs at once; default four per core. */
  WORKER_LOCAL_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).optional(),
  /** Activities (mail, webhooks, records) one worker runs at once; default 20. */
  WORKER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).optional(),
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

export type Config = Readonly<
  z.infer<typeof schema> & {
    /** true when this process starts its own Temporal dev server */
    embeddedTemporal: boolean;
    /** true when this process starts its own PGlite */
    embeddedDatabase: boolean;
    /** true when mail goes to the embedded SMTP sink */
    embeddedSmtp: boolean;
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
  if (missing.length) throw new ConfigError(missing);
  return Object.freeze({
    ...c,
    embeddedTemporal: !c.TEMPORAL_ADDRESS,
    embeddedDatabase: !c.DATABASE_URL,
    embeddedSmtp: !c.SMTP_URL,
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
