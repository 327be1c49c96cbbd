// GET /metrics on the API server: the HTTP layer's request latency, the engine's state read from
// PostgreSQL (courses by status and by current step, stuck steps, email outbox by status), and the
// Temporal SDK runtime's worker metrics when this process runs a worker (src/metrics/sdk.ts).
//
// Access (role matrix: 'own-auth'): with METRICS_TOKEN set, a scraper sends
// `Authorization: Bearer <METRICS_TOKEN>` from anywhere; without it, only direct loopback connections
// are served (a request that came through a proxy, i.e. with X-Forwarded-For or Forwarded, is refused,
// because a reverse proxy on the same host would otherwise make every outside caller look local).
// Nothing here is personal data: counts, step keys, clinic ids, route patterns (never raw URLs).
import type { EnrollmentAdmission } from '../client/admission';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { constantTimeEqual } from '../auth/secrets';
import type { Config } from '../config';
import type { Db } from '../db/connect';
import { AppError } from '../errors';
import type { Logger } from '../log';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EXPOSITION_CONTENT_TYPE } from './exposition';
import { fetchSdkMetrics } from './sdk';

export interface MetricsDeps {
  config: Config;
  db: Db;
  log: Logger;
  /** Seconds a database reading is reused by later scrapes (the embedded database has one connection). */
  cacheSeconds?: number;
  /** Where this process's SDK runtime serves its metrics (default: what installTemporalRuntime bound). */
  sdkMetricsAddress?: string;
  /** Enrollment back-pressure (src/client/admission.ts): its refusals and the courses it counts as waiting. */
  admission?: Pick<EnrollmentAdmission, 'refusals' | 'waiting'>;
}

/** Request latency buckets (seconds): a staff action should answer well under 150 ms. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function metricsAccess(req: FastifyRequest, config: Pick<Config, 'METRICS_TOKEN'>): void {
  if (config.METRICS_TOKEN) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !constantTimeEqual(m[1]!, config.METRICS_TOKEN)) {
      throw new AppError('unauthenticated', 'send Authorization: Bearer <METRICS_TOKEN>');
    }
    return;
  }
  const proxied = req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
  if (proxied || !LOOPBACK.has(req.socket.remoteAddress ?? '')) {
    throw new AppError('forbidden', 'metrics are served to direct loopback connections only; set METRICS_TOKEN to scrape from elsewhere');
  }
}

interface DomainReading {
  courses: Array<{ status: string; protocol: string; step: string | null; open: boolean; n: number }>;
  stuck: Array<{ clinic: string; n: number }>;
  email: Array<{ status: string; n: number }>;
  webhooks: Array<{ clinic: string; status: string; n: number }>;
  seconds: number;
}

async function readDomain(db: Db): Promise<DomainReading> {
  const t0 = process.hrtime.bigint();
  // One statement per figure, run one after another: the embedded database serves one connection.
  const courses = await sql<{ status: string; protocol_id: string; step: string | null; open: boolean; n: number }>`
    select status, protocol_id, case when ended_at is null then coalesce(current_step, 'none') end as step, ended_at is null as open, count(*)::int as n
    from courses group by 1, 2, 3, 4`.execute(db);
  // The stuck board's definition (src/api/stuck.ts): open steps of open courses, escalated or past the deadline.
  const stuck = await sql<{ clinic_id: string; n: number }>`
    select s.clinic_id, count(*)::int as n
    from course_steps s join courses c on c.id = s.course_id and c.ended_at is null
    where s.state in ('open', 'overdue') and (s.state = 'overdue' or s.deadline_at < now())
    group by 1`.execute(db);
  const email = await sql<{ status: string; n: number }>`select status, count(*)::int as n from email_outbox group by 1`.execute(db);
  const webhooks = await sql<{ clinic_id: string; status: string; n: number }>`select clinic_id, status, count(*)::int as n from webhook_deliveries group by 1, 2`.execute(db);
  return {
    courses: courses.rows.map((r) => ({ status: r.status, protocol: r.protocol_id, step: r.step, open: r.open, n: r.n })),
    stuck: stuck.rows.map((r) => ({ clinic: r.clinic_id, n: r.n })),
    email: email.rows.map((r) => ({ status: r.status, n: r.n })),
    webhooks: webhooks.rows.map((r) => ({ clinic: r.clinic_id, status: r.status, n: r.n })),
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  };
}

export interface ApiMetrics {
  registry: Registry;
  /** The whole exposition: the API's metrics, then the SDK runtime's. */
  render(): Promise<string>;
}

/** Installs the latency hook and GET /metrics. Call before the routes are registered. */
export function installMetrics(app: FastifyInstance, deps: MetricsDeps): ApiMetrics {
  // prom-client's registry, one per app (never the global one: tests build several apps in one process).
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
  const latency = new Histogram({ name: 'kap_http_request_duration_seconds', help: 'HTTP request latency by route pattern, method and status code.', labelNames: ['method', 'route', 'status_code'], buckets: LATENCY_BUCKETS, registers });
  const coursesTotal = gauge('kap_courses', 'Courses by status and protocol (open and ended).', ['status', 'protocol']);
  const openByStep = gauge('kap_courses_open_by_step', 'Open courses by protocol and the step each waits on now.', ['protocol', 'step']);
  const stuckTotal = gauge('kap_stuck_steps', "Open steps of open courses past their deadline or escalated: the stuck board's deadline items.");
  const stuckSteps = gauge('kap_stuck_steps_by_clinic', 'The same, by clinic.', ['clinic']);
  const emails = gauge('kap_email_outbox_messages', 'Email outbox rows by status (sent, failed, pending, sending, uncertain, blocked).', ['status']);
  const emailsSent = gauge('kap_emails_sent', 'Emails handed to the mail server (outbox status sent).');
  const emailsFailed = gauge('kap_emails_failed', 'Emails that failed for good (outbox status failed).');
  const hooks = gauge('kap_webhook_deliveries', 'Webhook deliveries by clinic and status (pending, held, delivered, failed, cancelled).', ['clinic', 'status']);
  const hooksGivenUp = gauge('kap_webhook_deliveries_given_up', 'Webhook deliveries given up on and not redelivered yet (status failed): each is a stuck-board item until redelivered.');
  const readSeconds = gauge('kap_metrics_database_read_seconds', 'How long the last database reading for these metrics took.');
  const readErrors = new Counter({ name: 'kap_metrics_database_errors_total', help: 'Database readings for these metrics that failed.', registers });
  const admissionRefused = gauge('kap_enrollments_refused', 'Enrollments this API process refused (503) because too many newly enrolled courses waited for their first step (ENROLLMENT_BACKLOG_LIMIT), since it started.');
  const admissionWaiting = gauge('kap_enrollments_waiting_first_step', 'Courses enrolled in the last 10 minutes that have no step yet, as enrollment admission last counted them.');
  const sdkUp = gauge('kap_temporal_sdk_metrics_up', "1 when the Temporal SDK runtime's metrics of this process were included below.");

  app.addHook('onResponse', async (req, reply) => {
    // The route pattern (/api/courses/:id), never the URL: ids and client-link tokens stay out of metrics.
    const route = req.routeOptions.url ?? 'unmatched';
    latency.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const cacheMs = (deps.cacheSeconds ?? 15) * 1000;
  let cached: { at: number; reading: DomainReading } | null = null;
  let inflight: Promise<DomainReading> | null = null;
  const domain = async (): Promise<DomainReading | null> => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.reading;
    inflight ??= readDomain(deps.db).finally(() => {
      inflight = null;
    });
    try {
      const reading = await inflight;
      cached = { at: Date.now(), reading };
      return reading;
    } catch (err) {
      readErrors.inc();
      deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics: database reading failed');
      return cached?.reading ?? null;
    }
  };

  const render = async (): Promise<string> => {
    const [reading, sdk, waiting] = await Promise.all([domain(), fetchSdkMetrics(deps.sdkMetricsAddress), deps.admission?.waiting().catch(() => undefined)]);
    if (deps.admission) {
      admissionRefused.set(deps.admission.refusals);
      if (waiting !== undefined) admissionWaiting.set(waiting);
    }
    for (const g of [coursesTotal, openByStep, stuckSteps, stuckTotal, emails, emailsSent, emailsFailed, hooks, hooksGivenUp]) g.reset();
    if (reading) {
      const byStatus = new Map<string, number>();
      for (const c of reading.courses) {
        const k = `${c.status}\u0000${c.protocol}`;
        byStatus.set(k, (byStatus.get(k) ?? 0) + c.n);
        if (c.open) openByStep.set({ protocol: c.protocol, step: c.step ?? 'none' }, c.n);
      }
      for (const [k, n] of byStatus) {
        const [status, protocol] = k.split('\u0000') as [string, string];
        coursesTotal.set({ status, protocol }, n);
      }
      let total = 0;
      for (const s of reading.stuck) {
        stuckSteps.set({ clinic: s.clinic }, s.n);
        total += s.n;
      }
      stuckTotal.set(total);
      const email = new Map(reading.email.map((e) => [e.status, e.n]));
      for (const [status, n] of email) emails.set({ status }, n);
      emailsSent.set(email.get('sent') ?? 0);
      emailsFailed.set(email.get('failed') ?? 0);
      let givenUp = 0;
      for (const w of reading.webhooks) {
        hooks.set({ clinic: w.clinic, status: w.status }, w.n);
        if (w.status === 'failed') givenUp += w.n;
      }
      hooksGivenUp.set(givenUp);
      readSeconds.set(Math.round(reading.seconds * 1e6) / 1e6);
    }
    sdkUp.set(sdk === null ? 0 : 1);
    return (await registry.metrics()) + (sdk ? (sdk.endsWith('\n') ? sdk : `${sdk}\n`) : '');
  };

  app.get('/metrics', async (req, reply) => {
    metricsAccess(req, deps.config);
    return reply.type(EXPOSITION_CONTENT_TYPE).send(await render());
  });
  return { registry, render };
}
