// The one place that maps errors to HTTP statuses. Bad input is a 4xx naming the field and the reason;
// anything unexpected is a 500 that says nothing of internals (and is logged without request bodies).
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type AppErrorCode } from '../errors';
import { html, page } from './html';

/** Browsers on dashboard pages get an HTML error page; API clients get JSON. */
const wantsHtml = (url: string, accept: string | undefined) => !url.startsWith('/api/') && !url.startsWith('/codec/') && (accept ?? '').includes('text/html');

const STATUS: Record<AppErrorCode, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

/** Finds the first string holding a NUL character (PostgreSQL cannot store one in text). */
function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (depth > 20 || !value || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const hit = findNul(k, path, depth + 1) ?? findNul(v, path ? `${path}.${k}` : k, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

// PostgreSQL's data exceptions (class 22: a value the column cannot hold) are the client's input,
// reaching the database past validation: a 400, never a 500.
const PG_DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;

export function installErrorHandling(app: FastifyInstance): void {
  // No NUL characters anywhere in a request: refused with the field that held one.
  app.addHook('preValidation', async (req) => {
    for (const [where, value] of [['params', req.params], ['query', req.query], ['body', req.body]] as const) {
      const field = findNul(value, '');
      if (field !== undefined) {
        throw new AppError('invalid_input', `${field || where}: NUL characters are not allowed`, [{ field: field || where, message: 'NUL characters are not allowed' }]);
      }
    }
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
      if (wantsHtml(req.url, req.headers.accept)) {
        const title = { unauthenticated: 'Please log in', forbidden: 'Not allowed', not_found: 'Not found' }[err.code as string] ?? 'Something is not right';
        return reply
          .code(STATUS[err.code])
          .type('text/html; charset=utf-8')
          .send(page({ title, principal: req.principal, flash: { kind: 'error', text: err.message } }, html`<p><a href="/">Back to the dashboard</a></p>`));
      }
      return reply.code(STATUS[err.code]).send({ error: err.code, message: err.message, ...(err.problems.length ? { problems: err.problems } : {}) });
    }
    const fe = err as FastifyError;
    // Fastify's own client errors: malformed JSON, wrong content type, body too large...
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ error: fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload_too_large' : 'invalid_input', message: fe.message });
    }
    const pgCode = (err as { code?: unknown }).code;
    if (typeof pgCode === 'string' && PG_DATA_EXCEPTION.test(pgCode)) {
      req.log.warn({ pgCode }, 'database refused a value');
      return reply.code(400).send({ error: 'invalid_input', message: 'a value in the request cannot be stored (out of range or malformed)' });
    }
    req.log.error({ err: { message: err.message, name: err.name, stack: err.stack } }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal error; the request was logged' });
  });
}
