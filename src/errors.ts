// Errors with meaning. Domain and service code throw these; exactly one place (src/api/errors.ts)
// maps them to HTTP statuses, and no 5xx leaks internals.
export interface FieldProblem {
  field: string;
  message: string;
}

export type AppErrorCode =
  | 'invalid_input' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409: an invalid transition for the course's current state
  | 'unprocessable' // 422: well-formed but clinically refused
  | 'rate_limited' // 429
  | 'unavailable'; // 503

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly problems: FieldProblem[] = [],
    /** With 429 and 503: when to try again (the Retry-After header). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const invalidInput = (problems: FieldProblem[]) =>
  new AppError('invalid_input', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const conflict = (message: string) => new AppError('conflict', message);
