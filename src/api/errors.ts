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

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => {
    if (err instanceof AppError) {
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
    req.log.error({ err: { message: err.message, name: err.name, stack: err.stack } }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal error; the request was logged' });
  });
}
