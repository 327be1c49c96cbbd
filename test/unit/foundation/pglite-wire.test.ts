// The embedded database's wire server (src/db/pglite-wire.cjs): what a client sends in one read is one
// call into PGlite, answered in one write; and batching keeps the protocol's promises with the real
// PGlite (on its thread, as `npm start` runs it): an error ends only its statement, a transaction a
// client leaves open is rolled back, a second client at once is refused, a TLS request is told no.
import net from 'node:net';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/db/embedded-postgres';
import { servePglite } from '../../../src/db/pglite-wire.cjs';

/** A protocol message: type byte, int32 length (itself and the body), body. */
const msg = (type: string, body = Buffer.alloc(0)) => {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
};
const startup = () => {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0', 'latin1');
  const b = Buffer.alloc(8 + params.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4);
  params.copy(b, 8);
  return b;
};

describe('batching, against a recording stand-in for PGlite', () => {
  const calls: Buffer[] = [];
  let inTransaction = false;
  const rolledBack: string[] = [];
  const fakeDb = {
    runExclusive: <T>(fn: () => Promise<T>) => fn(),
    async execProtocolRawStream(message: Uint8Array, { onRawData }: { onRawData: (d: Uint8Array) => void }) {
      calls.push(Buffer.from(message));
      // Answers in pieces, as PGlite flushes them.
      onRawData(new Uint8Array(msg('2')));
      onRawData(new Uint8Array(msg('C', Buffer.from('SELECT 1\0'))));
      onRawData(new Uint8Array(msg('Z', Buffer.from('I'))));
    },
    isInTransaction: () => inTransaction,
    async exec(sql: string) {
      rolledBack.push(sql);
      inTransaction = false;
    },
  };
  const server = servePglite(fakeDb, { port: 0 });
  let port: number;
  beforeAll(async () => {
    port = await server.start();
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    // The previous test's client has gone from the server's side too (one client at a time).
    for (let i = 0; i < 200 && server.connections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.connections()).toBe(0);
    calls.length = 0;
    rolledBack.length = 0;
  });

  const connect = () =>
    new Promise<{ s: net.Socket; received: Buffer[] }>((resolve, reject) => {
      const received: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => resolve({ s, received }));
      s.on('data', (d) => received.push(d));
      s.once('error', reject);
    });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  };

  test('a statement sent in one write (Bind, Execute, Sync) is one call into PGlite and one write back', async () => {
    const { s, received } = await connect();
    try {
      s.write(startup());
      await until(() => calls.length === 1);
      expect(calls[0]!.readInt32BE(4)).toBe(196608); // the startup packet, alone
      const write = jest.spyOn(net.Socket.prototype, 'write');
      try {
        const batch = Buffer.concat([msg('B', Buffer.from('\0kap_x\0\0\0\0\0\0\0', 'latin1')), msg('E', Buffer.from('\0\0\0\0\0', 'latin1')), msg('S')]);
        const before = Buffer.concat(received).length;
        s.write(batch);
        await until(() => calls.length === 2 && Buffer.concat(received).length > before);
        expect(calls[1]).toEqual(batch);
        // This process's writes: the test's batch, then the server's one answer (three pieces in one).
        expect(write).toHaveBeenCalledTimes(2);
        expect((write.mock.calls[1]![0] as Buffer).length).toBe(msg('2').length + msg('C', Buffer.from('SELECT 1\0')).length + msg('Z', Buffer.from('I')).length);
      } finally {
        write.mockRestore();
      }
    } finally {
      s.destroy();
    }
  });

  test('a message split over two reads waits for its end; a Terminate never reaches PGlite and ends the connection', async () => {
    const { s } = await connect();
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
    s.write(startup());
    await until(() => calls.length === 1);
    const q = msg('Q', Buffer.from('SELECT 1\0'));
    s.write(q.subarray(0, 7));
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(1);
    s.write(Buffer.concat([q.subarray(7), msg('X')]));
    await until(() => calls.length === 2);
    expect(calls[1]).toEqual(q);
    await closed; // the server ended the connection
    expect(calls).toHaveLength(2);
  });

  test('a client gone inside a transaction has it rolled back', async () => {
    const { s } = await connect();
    s.write(startup());
    await until(() => calls.length === 1);
    inTransaction = true;
    s.destroy();
    await until(() => rolledBack.length === 1);
    expect(rolledBack).toEqual(['ROLLBACK']);
  });
});

describe('the real PGlite on its thread', () => {
  let pg: EmbeddedPostgres;
  let url: string;
  let port: number;
  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ port: 0, thread: true });
    url = pg.url;
    port = pg.port;
  }, 60_000);
  afterAll(() => pg.stop());

  // Each test's clients connect straight after the last one's end: the server admits them once it has
  // seen that one go (it serves one at a time), as a pool replacing its connection would need.
  async function connectClient(): Promise<Client> {
    const c = new Client({ connectionString: url });
    await c.connect();
    return c;
  }

  async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await connectClient();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  test('an error ends its own statement only: the next statement on the same connection runs', async () => {
    await withClient(async (c) => {
      await expect(c.query({ text: 'SELECT 1 / $1::int AS q', values: [0] })).rejects.toThrow(/division by zero/);
      await expect(c.query('SELECT nope FROM wire_missing_table')).rejects.toThrow(/does not exist/);
      expect((await c.query({ text: 'SELECT 6 / $1::int AS q', values: [2] })).rows).toEqual([{ q: 3 }]);
    });
  }, 30_000);

  test('a transaction a client leaves open is rolled back before the next client is served', async () => {
    await withClient((c) => c.query('CREATE TABLE IF NOT EXISTS wire_tx (note text)'));
    const first = await connectClient();
    await first.query('BEGIN');
    await first.query({ text: 'INSERT INTO wire_tx VALUES ($1)', values: ['never committed'] });
    first.end().catch(() => undefined); // gone mid-transaction
    await new Promise((r) => setTimeout(r, 200));
    await withClient(async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM wire_tx')).rows).toEqual([{ n: 0 }]);
      // Not inside the first client's transaction: this commits on its own.
      await c.query({ text: 'INSERT INTO wire_tx VALUES ($1)', values: ['committed'] });
    });
    await withClient(async (c) => expect((await c.query('SELECT note FROM wire_tx')).rows).toEqual([{ note: 'committed' }]));
  }, 30_000);

  test('one client at a time: a second waits for the first, and is refused (SQLSTATE 53300) if it does not go within 5 s', async () => {
    const first = await connectClient();
    try {
      const second = new Client({ connectionString: url });
      second.on('error', () => undefined);
      const t0 = Date.now();
      await expect(second.connect()).rejects.toThrow(/too many clients already/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4_500);
    } finally {
      await first.end();
    }
    // A client that arrives while the first is still open is served once it goes.
    const holder = await connectClient();
    const waiter = new Client({ connectionString: url });
    const served = waiter.connect();
    await new Promise((r) => setTimeout(r, 300));
    await holder.end();
    await served;
    expect((await waiter.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await waiter.end();
  }, 30_000);

  test('a TLS request is answered N (no TLS here), as PostgreSQL answers it', async () => {
    const tlsReply = () =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          const req = Buffer.alloc(8);
          req.writeInt32BE(8, 0);
          req.writeInt32BE(80877103, 4);
          s.write(req);
        });
        s.once('data', (d) => {
          resolve(d.toString('latin1'));
          s.destroy();
        });
        s.once('error', reject);
      });
    expect(await tlsReply()).toBe('N');
  }, 30_000);
});
