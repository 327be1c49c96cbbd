// Where a process's email goes. `npm start` (the whole engine in one process) may start the embedded
// SMTP sink; a worker of the split topology (`npm run worker`) never does, so that two workers can run
// on one machine: each used to start its own sink on SMTP_SINK_PORT and the second died on the port.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../../src/config';
import type { Db } from '../../../src/db/connect';
import { createLogger } from '../../../src/log';
import { MailConfigError, type MailRuntime, planMail, startMail } from '../../../src/mail/setup';

const root = path.join(__dirname, '../../..');
const log = createLogger('silent');
// The sink touches the database only when a message arrives; none is sent here.
const db = {} as Db;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const started: MailRuntime[] = [];
afterEach(async () => {
  for (const m of started.splice(0)) await m.stop();
});

test('the decision: a relay when SMTP_URL is set; the sink only for `npm start`; a worker without SMTP_URL is refused', () => {
  const dev = loadConfig({ SMTP_SINK_PORT: '2600' });
  expect(planMail(dev, 'all-in-one')).toEqual({ kind: 'sink', port: 2600 });
  expect(() => planMail(dev, 'worker')).toThrow(MailConfigError);
  expect(() => planMail(dev, 'worker')).toThrow(/^SMTP_URL: required by `npm run worker`/);
  const relay = loadConfig({ SMTP_URL: 'smtp://mail.internal:587', SMTP_SINK_PORT: '2600' });
  expect(planMail(relay, 'worker')).toEqual({ kind: 'relay', url: 'smtp://mail.internal:587' });
  expect(planMail(relay, 'all-in-one')).toEqual({ kind: 'relay', url: 'smtp://mail.internal:587' });
});

test('two workers start their mail on one machine beside the development sink; a second sink on its port would not', async () => {
  const port = await freePort();
  const dev = loadConfig({ SMTP_SINK_PORT: String(port), SECRET_KEY: 's'.repeat(40) });
  const sinkHolder = await startMail(dev, db, log, 'all-in-one');
  started.push(sinkHolder);
  expect(sinkHolder.sink?.port).toBe(port);
  // What each worker process used to do, and why the second one crashed:
  await expect(startMail(dev, db, log, 'all-in-one')).rejects.toThrow(`SMTP sink: port ${port} is in use`);

  // Two workers of the split topology, both sending to one relay (here the sink above), same settings.
  const worker = loadConfig({ SMTP_URL: sinkHolder.sink!.url, SMTP_SINK_PORT: String(port), SECRET_KEY: 's'.repeat(40) });
  const first = await startMail(worker, db, log, 'worker');
  started.push(first);
  const second = await startMail(worker, db, log, 'worker');
  started.push(second);
  expect(first.sink).toBeUndefined();
  expect(second.sink).toBeUndefined();
});

test('`npm run worker` without SMTP_URL exits 2 naming SMTP_URL, before it connects to anything', () => {
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'src/worker/main.ts')], {
    // Addresses nothing listens on: the refusal must come first.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgresql://kap@127.0.0.1:1/kap', LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.stderr).toMatch(/^npm run worker: SMTP_URL: required by `npm run worker`/m);
  expect(r.status).toBe(2);
});
