import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context';
import { openApiDocument } from '../route';

/** GET /api/openapi.json: generated from the zod schemas of every API route. */
export function openApiRoutes(app: FastifyInstance, { config }: ApiDeps): void {
  let doc: unknown;
  app.get('/api/openapi.json', async () => {
    doc ??= openApiDocument(app, { title: 'KAP pathways API', version: '1', serverUrl: config.publicUrl });
    return doc;
  });
}
