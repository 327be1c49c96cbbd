'use strict';
// The embedded PostgreSQL (PGlite, served by ./pglite-wire.cjs) on a thread of its own: `npm start` hosts it here so
// that its WebAssembly does not run on the event loop that answers staff, clients and the worker's
// activities (src/db/embedded-postgres.ts, `thread: true`; docs/performance.md has the figures).
//
// Plain CommonJS, so that it loads the same under tsx, jest and a bare `node`. Messages:
//   to the parent:   { type: 'ready', port } | { type: 'failed', code?, message } | { type: 'stopped', error? }
//   from the parent: { type: 'stop' }
// The folder's modes are the parent's business (it sweeps them before and after, src/data-dir.ts).
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require('@electric-sql/pglite');
const { servePglite } = require('./pglite-wire.cjs');

async function main() {
  const { dataDir, port, host, maxConnections } = workerData;
  const db = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const server = servePglite(db, { port, host, maxConnections });
  let bound;
  try {
    bound = await server.start();
  } catch (err) {
    await db.close().catch(() => undefined);
    parentPort.postMessage({ type: 'failed', code: err && err.code, message: String((err && err.message) || err) });
    return;
  }
  let stopping = false;
  parentPort.on('message', (m) => {
    if (!m || m.type !== 'stop' || stopping) return;
    stopping = true;
    // A clean close flushes PGlite's files: the next start on the same folder finds every commit.
    server
      .stop()
      .then(() => db.close())
      .then(
        () => parentPort.postMessage({ type: 'stopped' }),
        (err) => parentPort.postMessage({ type: 'stopped', error: String((err && err.message) || err) }),
      )
      .finally(() => parentPort.close());
  });
  parentPort.postMessage({ type: 'ready', port: bound });
}

main().catch((err) => parentPort.postMessage({ type: 'failed', message: String((err && err.stack) || err) }));
