// The HTTP server: API, health and dashboard, built from injected dependencies.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps } from './context';
import { installErrorHandling } from './errors';
import { clientRoutes } from './routes/clients';
import { clinicRoutes } from './routes/clinics';
import { courseRoutes } from './routes/courses';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
  });
  installErrorHandling(app);
  healthRoutes(app, deps);
  clinicRoutes(app, deps);
  clientRoutes(app, deps);
  courseRoutes(app, deps);
  dashboardRoutes(app, deps);
  return app;
}
