import type { z } from 'zod';
import { invalidInput } from '../errors';

/** Parses request data with a zod schema; on failure, a 400 naming each bad field and why. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  throw invalidInput(
    result.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : where, message: i.message })),
  );
}
