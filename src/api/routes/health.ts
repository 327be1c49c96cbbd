import type { FastifyInstance } from 'fastify';
import { pingTemporal } from '../../client/temporal';
import { pingDb } from '../../db/connect';
import type { ApiDeps } from '../context';

/** GET /health: 200 only when Temporal and the database both really answer; 503 naming what fails. */
export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/health', async (_req, reply) => {
    const [temporal, database] = await Promise.all([
      pingTemporal(deps.temporal).then(() => 'ok' as const, (e: unknown) => `unreachable: ${e instanceof Error ? e.message : String(e)}`),
      pingDb(deps.db).then(() => 'ok' as const, (e: unknown) => `unreachable: ${e instanceof Error ? e.message : String(e)}`),
    ]);
    const ok = temporal === 'ok' && database === 'ok';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', temporal, database });
  });
}
