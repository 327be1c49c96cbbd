// The HTTP server: API, health and dashboard, built from injected dependencies.
import { EnrollmentAdmission } from '../client/admission';
import cookie from '@fastify/cookie';
import csrfProtection from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { cookieSigningKey, installAuth, installSecurityHeaders } from './auth';
import type { ApiDeps, AppDeps } from './context';
import { installErrorHandling } from './errors';
import { installRateLimits } from './rate-limits';
import { RouteLogController } from './request-log';
import { installMetrics } from '../metrics/api-metrics';
import { actionRoutes } from './routes/actions';
import { courseMoveRoutes } from './routes/course-moves';
import { dashboardMoveRoutes } from './routes/dashboard-moves';
import { auditRoutes } from './routes/audit';
import { clientAssessmentRoutes } from './routes/client-assessment';
import { clientRoutes } from './routes/clients';
import { clinicRoutes } from './routes/clinics';
import { codecRoutes } from './routes/codec';
import { courseRoutes } from './routes/courses';
import { dashboardRoutes } from './routes/dashboard';
import { dashboardProtocolRoutes } from './routes/dashboard-protocols';
import { worklistRoutes } from './routes/dashboard-worklist';
import { dashboardClientRoutes } from './routes/dashboard-client';
import { dashboardOpsRoutes } from './routes/dashboard-ops';
import { healthRoutes } from './routes/health';
import { loginCsrfOptions, loginRoutes } from './routes/login';
import { openApiRoutes } from './routes/openapi';
import { outboxRoutes } from './routes/outbox';
import { protocolRoutes } from './routes/protocols';
import { recordRoutes } from './routes/records';
import { staffRoutes } from './routes/staff';
import { stuckRoutes } from './routes/stuck';
import { tokenRoutes } from './routes/tokens';
import { SystemHealthMonitor } from './system-health';
import { fhirRoutes } from '../fhir/routes';
import { fhirApiRoutes } from '../fhir/api';
import { remsRoutes } from '../rems/routes';
import { webhookRoutes } from '../webhooks/routes';

export async function buildApp(apiDeps: ApiDeps): Promise<FastifyInstance> {
  const deps: AppDeps = {
    ...apiDeps,
    systemHealth: apiDeps.systemHealth ?? new SystemHealthMonitor(apiDeps.db, apiDeps.temporal, apiDeps.log),
    admission: apiDeps.admission ?? new EnrollmentAdmission(apiDeps.db, { limit: apiDeps.config.ENROLLMENT_BACKLOG_LIMIT }),
  };
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Client links (/a/<token>) carry a signed token of ~250 characters in the path.
    routerOptions: { maxParamLength: 1024 },
    // Request lines carry the route pattern, never the URL (search strings, a client link's token).
    logController: new RouteLogController(),
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  // Parses request cookies (req.cookies) before the auth hook runs; reply.setCookie for the dashboard.
  await app.register(cookie, { secret: cookieSigningKey(deps.config) });
  // The login form's CSRF token (sessions carry their own: see auth.ts and the README).
  await app.register(csrfProtection, loginCsrfOptions(deps.config.publicUrl.startsWith('https://')));
  await installRateLimits(app);
  installErrorHandling(app);
  await installSecurityHeaders(app, deps.config.publicUrl.startsWith('https://'));
  installAuth(app, deps);
  installMetrics(app, deps);
  healthRoutes(app, deps);
  codecRoutes(app, deps);
  openApiRoutes(app, deps);
  tokenRoutes(app, deps);
  clinicRoutes(app, deps);
  staffRoutes(app, deps);
  clientRoutes(app, deps);
  courseRoutes(app, deps);
  protocolRoutes(app, deps);
  stuckRoutes(app, deps);
  recordRoutes(app, deps);
  outboxRoutes(app, deps);
  actionRoutes(app, deps);
  courseMoveRoutes(app, deps);
  fhirRoutes(app, deps);
  fhirApiRoutes(app, deps);
  webhookRoutes(app, deps);
  remsRoutes(app, deps);
  auditRoutes(app, deps);
  loginRoutes(app, deps);
  clientAssessmentRoutes(app, deps);
  dashboardRoutes(app, deps);
  dashboardProtocolRoutes(app, deps);
  worklistRoutes(app, deps);
  dashboardClientRoutes(app, deps);
  dashboardMoveRoutes(app, deps);
  dashboardOpsRoutes(app, deps);
  return app;
}
