import type { z } from 'zod';
import { invalidInput } from '../errors';

/** Keys that would name who acts: always refused with a message saying why (issue #15). */
const ACTOR_KEYS = new Set(['actor', 'byRole', 'byUserId', 'byStaffId', 'staffId', 'actorId', 'actorType', 'recordedBy', 'reviewedBy']);

/** Parses request data with a zod schema; on failure, a 400 naming each bad field and why. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  throw invalidInput(
    result.error.issues.flatMap((i) => {
      // An unknown key is named itself (`overrides.0.byRole`), not its parent object.
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => ({ field: [...i.path, k].join('.'), message: ACTOR_KEYS.has(k) ? 'not allowed: who acts is taken from your credentials' : 'unknown field' }));
      }
      return [{ field: i.path.length ? i.path.join('.') : where, message: i.message }];
    }),
  );
}
