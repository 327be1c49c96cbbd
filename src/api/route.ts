// One way to declare an API route: zod schemas for params, query and body (parsed into a 400 per bad
// field before the handler runs), an optional response schema, and a summary. The same declarations
// produce the OpenAPI document at /api/openapi.json, and access comes from the role matrix.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accessFor } from '../auth/role-matrix';
import type { Principal } from '../auth/roles';
import { principalOf } from './auth';
import { parse } from './validation';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  url: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The success body (documented; 200 unless `status` says otherwise). */
  response?: z.ZodType;
  status?: number;
  /** Extra documented error statuses beyond 400/401/403 (e.g. 404, 409, 422). */
  errors?: number[];
}

export interface RouteCtx<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  req: FastifyRequest;
  reply: FastifyReply;
}

const registry = new WeakMap<FastifyInstance, RouteDef<z.ZodType, z.ZodType, z.ZodType>[]>();

export function apiRoute<P extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown, B extends z.ZodType = z.ZodUnknown>(
  app: FastifyInstance,
  def: RouteDef<P, Q, B>,
  handler: (ctx: RouteCtx<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<unknown>,
): void {
  const list = registry.get(app) ?? [];
  registry.set(app, list);
  list.push(def as never);
  app.route({
    method: def.method,
    url: def.url,
    handler: async (req, reply) => {
      const params = def.params ? parse(def.params, req.params, 'params') : (req.params as z.infer<P>);
      const query = def.query ? parse(def.query, req.query, 'query') : (req.query as z.infer<Q>);
      const body = def.body ? parse(def.body, req.body, 'body') : (req.body as z.infer<B>);
      // The declared success status is the default; a handler may still answer otherwise (e.g. 200
      // for an idempotent create that found the existing record).
      if (def.status) reply.code(def.status);
      return handler({ params, query, body, principal: principalOf(req), req, reply });
    },
  });
}

export const ErrorBody = z.object({
  error: z.string().describe('machine-readable code: invalid_input, unauthenticated, forbidden, not_found, conflict, unprocessable, ...'),
  message: z.string(),
  problems: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe('one entry per bad field (400)'),
});

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input: one problem per bad field',
  401: 'no valid API token or session',
  403: 'the role or clinic scope does not allow this',
  404: 'not found',
  409: "invalid transition for the course's current state; the message is the workflow's reason",
  422: 'well-formed but clinically refused',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** The OpenAPI 3.1 document for every route declared with apiRoute on this app. */
export function openApiDocument(app: FastifyInstance, info: { title: string; version: string; serverUrl: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of registry.get(app) ?? []) {
    const path = def.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const { access } = accessFor(def.method, def.url);
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', def.params], ['query', def.query]] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const status = def.status ?? 200;
    const responses: Record<string, unknown> = {
      [status]: { description: 'success', ...(def.response ? { content: { 'application/json': { schema: jsonSchema(def.response, 'output') } } } : {}) },
    };
    const errorStatuses = new Set([400, ...(access === 'public' ? [] : [401, 403]), ...(def.errors ?? [])]);
    for (const code of [...errorStatuses].sort()) {
      responses[code] = { description: ERROR_TEXT[code] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    (paths[path] ??= {})[def.method.toLowerCase()] = {
      summary: def.summary,
      tags: [def.tag],
      operationId: `${def.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(access === 'public' ? { security: [] } : { 'x-roles': access }),
      ...(parameters.length ? { parameters } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: 'KAP care-pathway engine. Authenticate with `Authorization: Bearer kap_...` (create one with `kap token create --role <role>`). `x-roles` lists the roles allowed on each operation.' },
    servers: [{ url: info.serverUrl }],
    security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'staff API token (kap_...)' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'kap_session', description: 'dashboard session (state-changing requests also need the x-csrf-token header)' },
      },
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
    },
    paths,
  };
}
