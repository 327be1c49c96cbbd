'use strict';
// PGlite served over the PostgreSQL wire protocol on a TCP port, for the `pg` driver: the embedded
// database's server (src/db/embedded-postgres.ts, on PGlite's thread or on the event loop).
//
// Each read from the socket is handed to PGlite as one batch of complete protocol messages, and what
// PGlite answers to the batch goes back in one write. The `pg` driver sends a statement as one batch
// (Bind, Execute, Sync; with Parse and Describe the first time), so a statement costs one call into
// PGlite's WebAssembly and one socket write each way. (pglite-socket, which served it before, hands
// PGlite one message at a time and writes each answer as it comes: four calls and four writes, with
// Nagle off four TCP segments, per statement; docs/performance.md has the figures.)
//
// One connection at a time (`maxConnections`, 1 by default): PGlite is one session, and two clients'
// extended-query messages would interleave in it. A client that goes away inside a transaction has it
// rolled back, so that the next client does not inherit it. A client that arrives while the place is
// taken waits for it (a pool replacing its connection arrives before the old one's close is seen
// here) and is refused, as PostgreSQL refuses past max_connections, if it is not free within
// `admitWithinMs`.
const net = require('node:net');

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const TERMINATE = 0x58; // 'X'
const MAX_STARTUP = 10_000; // PostgreSQL's own limit for a startup packet

/** A FATAL ErrorResponse, as PostgreSQL refuses a connection past max_connections (SQLSTATE 53300). */
function tooManyClients(maxConnections) {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C53300\0Msorry, too many clients already (the embedded database serves ${maxConnections} connection${maxConnections === 1 ? '' : 's'} at a time)\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

function servePglite(db, { port, host = '127.0.0.1', maxConnections = 1, admitWithinMs = 5_000 }) {
  const sockets = new Set(); // served
  const everyone = new Set(); // served, waiting and refused, for stop()
  const waiting = []; // { socket, timer }: arrived while every place was taken
  let active = true;

  const refuse = (socket) => socket.end(tooManyClients(maxConnections), () => socket.destroy());
  const freed = () => {
    while (active && sockets.size < maxConnections && waiting.length) {
      const { socket, timer } = waiting.shift();
      clearTimeout(timer);
      if (!socket.destroyed) serve(socket);
    }
  };

  const server = net.createServer((socket) => {
    everyone.add(socket);
    socket.once('close', () => everyone.delete(socket));
    socket.on('error', () => undefined);
    if (!active) return socket.destroy();
    if (sockets.size < maxConnections) return serve(socket);
    // Its startup packet stays in the socket's buffer until it is served.
    const entry = {
      socket,
      timer: setTimeout(() => {
        const i = waiting.indexOf(entry);
        if (i >= 0) waiting.splice(i, 1);
        refuse(socket);
      }, admitWithinMs),
    };
    waiting.push(entry);
    socket.once('close', () => {
      const i = waiting.indexOf(entry);
      if (i >= 0) {
        waiting.splice(i, 1);
        clearTimeout(entry.timer);
      }
    });
  });

  function serve(socket) {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    let started = false; // past the startup packet: every later message has a type byte
    let closed = false;
    let chain = Promise.resolve();

    const exec = async (message) => {
      const out = [];
      await db.runExclusive(() => db.execProtocolRawStream(message, { onRawData: (chunk) => void out.push(Buffer.from(chunk)) }));
      if (!closed && out.length && socket.writable) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    };

    // Complete messages from the front of `pending`, as the work to do, in order; null for bytes that
    // are no protocol message (a length that cannot be), on which the connection is dropped.
    const take = () => {
      const work = [];
      for (;;) {
        if (!started) {
          if (pending.length < 8) break;
          const len = pending.readInt32BE(0);
          if (len < 8 || len > MAX_STARTUP) return null;
          if (pending.length < len) break;
          const code = pending.readInt32BE(4);
          const packet = pending.subarray(0, len);
          pending = pending.subarray(len);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) work.push({ reply: Buffer.from('N') });
          else if (code === CANCEL_REQUEST) continue; // not supported: the statement runs to its end
          else {
            started = true;
            work.push({ message: new Uint8Array(packet) });
          }
          continue;
        }
        // Typed messages: as many complete ones as there are, up to a Terminate.
        let end = 0;
        let terminate = false;
        while (pending.length - end >= 5) {
          const len = pending.readInt32BE(end + 1);
          if (len < 4) return null;
          const total = 1 + len;
          if (pending.length - end < total) break;
          if (pending[end] === TERMINATE) {
            terminate = true;
            break;
          }
          end += total;
        }
        if (end > 0) work.push({ message: new Uint8Array(pending.subarray(0, end)) });
        pending = pending.subarray(end);
        if (terminate) {
          pending = Buffer.alloc(0);
          work.push({ terminate: true });
        }
        break;
      }
      return work;
    };

    socket.on('data', (data) => {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      const work = take();
      if (!work) {
        socket.destroy();
        return;
      }
      for (const w of work) {
        chain = chain.then(async () => {
          if (closed) return;
          if (w.reply) socket.write(w.reply);
          else if (w.message) await exec(w.message);
          else if (w.terminate) socket.end();
        });
      }
      chain = chain.catch((err) => {
        socket.destroy(err);
      });
    });
    socket.on('close', () => {
      closed = true;
      // A transaction this client left open is rolled back (once its last batch has run), and only then
      // is its place free for the next client.
      chain = chain
        .then(async () => {
          if (db.isInTransaction()) await db.exec('ROLLBACK');
        })
        .catch(() => undefined)
        .finally(() => {
          sockets.delete(socket);
          freed();
        });
    });
  }

  return {
    /** Clients being served now. */
    connections: () => sockets.size,
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address().port);
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        active = false;
        for (const { timer } of waiting.splice(0)) clearTimeout(timer);
        for (const s of everyone) s.destroy();
        server.close(() => resolve());
      }),
  };
}

module.exports = { servePglite };
