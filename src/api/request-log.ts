// Request logging that never carries a URL: a request is logged as its method, the route PATTERN it
// matched (`GET /api/clients/:id`, never `/api/clients/cl_123?q=Smith`), its status and its time. The
// raw URL holds search strings typed by staff (client names), ids of client records and, for a client's
// link, a credential; bodies hold clinical answers. Neither is ever written to the log.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** The route pattern of a request, or a fixed word when no route matched (the URL is never used). */
export function routeOf(req: FastifyRequest): string {
  return req.routeOptions?.url ?? '(no route)';
}

const line = (req: FastifyRequest, reply?: FastifyReply) => ({
  method: req.method,
  route: routeOf(req),
  ...(reply ? { status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 } : {}),
});

export class RouteLogController extends LogController {
  // One line per request, when it completes; nothing when it arrives.
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ ...line(req, reply), err: { name: error.name, message: error.message } }, 'request errored');
    else reply.log.info(line(req, reply), 'request completed');
  }

  override defaultErrorLog(error: Error, req: FastifyRequest, reply: FastifyReply): void {
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    reply.log[level]({ ...line(req, reply), err: { name: error?.name, message: error?.message } }, 'request failed');
  }

  override streamError(error: Error, req: FastifyRequest, reply: FastifyReply): void {
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') reply.log.info(line(req, reply), 'stream closed prematurely');
    else reply.log.warn({ ...line(req, reply), err: { name: error.name, message: error.message } }, 'response terminated with an error with headers already sent');
  }

  override routeNotFound(req: FastifyRequest): void {
    req.log.info({ method: req.method, route: '(no route)' }, 'route not found');
  }

  override writeHeadError(error: Error, req: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ ...line(req, reply), err: { name: error?.name, message: error?.message } }, 'writing the response head failed');
  }
}
