// Named prepared statements for the statements this engine repeats (every one Kysely builds with
// parameters): the server parses and plans a statement's text once per connection, and every later
// execution is a Bind and an Execute. The same few dozen statements run for every course (the
// projection, the outbox, an assessment's rows), so on the embedded PGlite, where parsing and planning
// run in WebAssembly on the engine's own event loop, this is a tenth of the engine process's CPU per
// course (docs/performance.md); on a PostgreSQL server it saves the same work on the server.
//
// Only a statement with parameters is named: a migration's multi-statement text (no parameters) cannot
// be prepared and is sent as before. A connection names at most MAX_NAMED_PER_CONNECTION texts (a list
// of varying length, `in ($1, $2, ...)`, is a new text per length); past that a statement is sent
// unnamed. PostgreSQL re-plans a prepared statement itself when a table it reads changes.
//
// A new connection starts with `DEALLOCATE ALL`: the embedded PGlite is one server session that
// outlives each connection to it, so a statement a closed connection prepared would still exist under
// the same name ("prepared statement ... already exists"). On a PostgreSQL server it is a no-op.
//
// Off (`DATABASE_PREPARED_STATEMENTS=off`) behind a pooler that hands a session's statements to other
// server connections (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
import crypto from 'node:crypto';
import type pg from 'pg';

export const MAX_NAMED_PER_CONNECTION = 1000;

type Query = (...args: unknown[]) => unknown;

/** Makes `client` prepare (once) and reuse each parameterised statement text it is sent. */
export function prepareRepeatedStatements(client: pg.ClientBase, maxNamed = MAX_NAMED_PER_CONNECTION): void {
  const send = client.query.bind(client) as Query;
  // Queued before anything the pool's caller sends on this connection (a client runs its queries in order).
  (send('DEALLOCATE ALL') as Promise<unknown>).catch(() => undefined);
  const names = new Map<string, string>();
  const wrapped: Query = (text, values, callback) => {
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      let name = names.get(text);
      if (name === undefined && names.size < maxNamed) {
        name = `kap_${crypto.createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
        names.set(text, name);
      }
      if (name !== undefined) return send({ name, text, values });
    }
    return send(text, values, callback);
  };
  (client as unknown as { query: Query }).query = wrapped;
}
