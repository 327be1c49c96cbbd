// The SMTP mailer against a real SMTP server on loopback: its timeouts apply, its connections are
// pooled (one connection for many messages unless the URL says `pool=false`), and on a pooled
// connection the hook before the data still runs before one byte of the message reaches the relay,
// which is what the outbox's exactly-once rests on (src/activities/notify.ts).
import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createSmtpMailer, type Mailer, MailSendError, type OutgoingMail } from '../../src/mail/mailer';

interface Relay {
  url: string;
  connections: number;
  /** What the relay saw, in order: `connect`, `mail <id>`, `rcpt`, `first-byte`, `queued <id>`; plus the client's `hook …` entries. */
  events: string[];
  queued: string[];
  close(): Promise<void>;
}

async function startRelay(): Promise<Relay> {
  const relay: Relay = { url: '', connections: 0, events: [], queued: [], close: async () => undefined };
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    disableReverseLookup: true,
    onConnect: (_session, cb) => {
      relay.connections++;
      relay.events.push('connect');
      cb();
    },
    onMailFrom: (_address, _session, cb) => {
      relay.events.push('mail');
      cb();
    },
    onRcptTo: (_address, _session, cb) => {
      relay.events.push('rcpt');
      cb();
    },
    onData: (stream, _session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (chunks.length === 0) relay.events.push('first-byte');
        chunks.push(c);
      });
      stream.on('end', () => {
        const id = /^message-id:\s*(<[^>]+>)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '?';
        relay.queued.push(id);
        relay.events.push(`queued ${id}`);
        cb(null, `Ok: queued as q${relay.queued.length}` as never);
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  relay.url = `smtp://127.0.0.1:${port}`;
  relay.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return relay;
}

const mail = (n: number): OutgoingMail => ({
  to: ['client@example.org'],
  subject: `Message ${n}`,
  text: 'Your clinic has a form for you.\n'.repeat(50),
  messageId: `<m${n}@kap.example>`,
  date: new Date('2026-12-01T09:00:00Z'),
});

const mailers: Mailer[] = [];
const relays: Relay[] = [];
afterEach(async () => {
  for (const m of mailers.splice(0)) m.close();
  for (const r of relays.splice(0)) await r.close();
});
const open = async () => {
  const r = await startRelay();
  relays.push(r);
  return r;
};
const mailerFor = (url: string, timeoutSeconds = 5) => {
  const m = createSmtpMailer({ url, from: 'Riverside Wellness <no-reply@kap.example>', timeoutSeconds });
  mailers.push(m);
  return m;
};

test('messages share a pooled connection; `pool=false` in the URL gives each its own', async () => {
  const relay = await open();
  const pooled = mailerFor(relay.url);
  for (const n of [1, 2, 3]) await pooled.send(mail(n));
  expect(relay.queued).toEqual(['<m1@kap.example>', '<m2@kap.example>', '<m3@kap.example>']);
  expect(relay.connections).toBe(1);

  const single = mailerFor(`${relay.url}?pool=false`);
  for (const n of [4, 5]) await single.send(mail(n));
  expect(relay.queued).toHaveLength(5);
  expect(relay.connections).toBe(3);
});

test.each([
  ['pooled', ''],
  ['a connection per message', '?pool=false'],
])('%s: the hook before the data runs once the connection is up and ends before the first byte of each message reaches the relay', async (_kind, query) => {
  const relay = await open();
  const m = mailerFor(relay.url + query);
  const hook = (n: number) => async () => {
    relay.events.push(`hook ${n} start`);
    await new Promise((r) => setTimeout(r, 150));
    relay.events.push(`hook ${n} end`);
  };
  await m.send(mail(1), { beforeData: hook(1) });
  await m.send(mail(2), { beforeData: hook(2) });
  expect(relay.connections).toBe(query ? 2 : 1);
  const e = relay.events;
  const at = (what: string, from = 0) => e.indexOf(what, from);
  // Message 1: connected, then the hook, and only after its end the message's first byte.
  expect(at('connect')).toBe(0);
  expect(at('hook 1 start')).toBeGreaterThan(at('connect'));
  expect(at('hook 1 end')).toBeLessThan(at('first-byte'));
  expect(at('first-byte')).toBeLessThan(at('queued <m1@kap.example>'));
  // Message 2 (on the same connection when pooled): its hook after message 1 was queued, and its
  // first byte only after the hook ended.
  const afterFirst = at('queued <m1@kap.example>');
  expect(at('hook 2 start')).toBeGreaterThan(afterFirst);
  expect(at('hook 2 end')).toBeLessThan(at('first-byte', afterFirst));
  expect(at('first-byte', afterFirst)).toBeLessThan(at('queued <m2@kap.example>'));
  expect(relay.queued).toEqual(['<m1@kap.example>', '<m2@kap.example>']);
});

test('a hook that fails sends nothing and is not ambiguous; the next message still goes out through the pool', async () => {
  const relay = await open();
  const m = mailerFor(relay.url);
  const err = await m.send(mail(1), { beforeData: async () => Promise.reject(new Error('outbox unreachable')) }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MailSendError);
  expect((err as MailSendError).ambiguous).toBe(false);
  expect((err as MailSendError).permanent).toBe(false);
  await m.send(mail(2));
  expect(relay.queued).toEqual(['<m2@kap.example>']);
  expect(relay.events).not.toContain('queued <m1@kap.example>');
});

test('a relay that accepts the connection and never greets fails within the configured timeout, not nodemailer default 30 s', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const m = mailerFor(`smtp://127.0.0.1:${port}`, 1);
    const started = Date.now();
    const err = await m.send(mail(1)).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(MailSendError);
    expect((err as MailSendError).ambiguous).toBe(false);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8_000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
}, 20_000);
