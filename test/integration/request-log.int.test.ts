// Request logs carry the method, the route pattern and the status: never the URL (a client search
// string, a record id in the path, a client link's token) and never a body.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { connectTemporal } from '../../src/client/temporal';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/connect';
import { createLogger } from '../../src/log';
import { testEnv, TEST_PAYLOAD_KEYS } from '../harness/stack';
import { payloadCodecFor } from '../../src/security/keys';
import { tokenFor, uid } from './api-helpers';

let app: FastifyInstance;
let db: Db;
let closeTemporal: () => Promise<void>;
const lines: string[] = [];

beforeAll(async () => {
  const { temporalAddress, databaseUrl } = testEnv();
  const config = loadConfig({ NODE_ENV: 'test', TEMPORAL_ADDRESS: temporalAddress, DATABASE_URL: databaseUrl, SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789', PAYLOAD_KEYS: TEST_PAYLOAD_KEYS });
  db = createDb({ url: databaseUrl, poolMax: 1 });
  const temporal = await connectTemporal({ address: temporalAddress, namespace: config.TEMPORAL_NAMESPACE, payloadCodec: payloadCodecFor(config) });
  closeTemporal = () => temporal.connection.close();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  app = await buildApp({ config, db, temporal, log: createLogger('info', 'kap', sink) });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await closeTemporal?.();
  await db?.destroy();
});

test('a client search, a record URL, a body and a client link leave only route patterns in the log', async () => {
  const token = await tokenFor(db, 'admin');
  const auth = { authorization: `Bearer ${token}` };
  const clinicId = `log-${uid()}`;
  expect((await app.inject({ method: 'POST', url: '/api/clinics', headers: auth, payload: { id: clinicId, name: 'Log clinic' } })).statusCode).toBe(201);
  const created = await app.inject({ method: 'POST', url: '/api/clients', headers: auth, payload: { clinicId, givenName: 'Zebulon', familyName: 'Smithereens', email: 'zebulon.smithereens@example.org' } });
  expect(created.statusCode).toBe(201);
  const clientId = created.json().id as string;

  lines.length = 0;
  const search = await app.inject({ method: 'GET', url: '/api/clients?q=Smithereens&limit=5', headers: auth });
  expect(search.statusCode).toBe(200);
  expect(search.body).toContain('Smithereens'); // the search found the client: the string was in the request
  expect((await app.inject({ method: 'GET', url: `/api/clients/${clientId}?q=Zebulon`, headers: auth })).statusCode).toBe(200);
  expect((await app.inject({ method: 'GET', url: '/clients?q=Smithereens', headers: auth })).statusCode).toBe(200);
  expect((await app.inject({ method: 'GET', url: '/no/such/Smithereens?q=Zebulon', headers: auth })).statusCode).toBe(404);
  expect((await app.inject({ method: 'GET', url: '/a/secret-link-token-Smithereens' })).statusCode).toBeGreaterThanOrEqual(400);
  expect((await app.inject({ method: 'POST', url: '/api/clients', headers: auth, payload: { clinicId, givenName: 'Zebulon', familyName: 'Smithereens', email: 'not an email' } })).statusCode).toBe(400);
  // Malformed JSON: the parser's message quotes the body; it goes back to the caller, never to the log.
  expect((await app.inject({ method: 'POST', url: '/api/clients', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"givenName": Smithereens}' })).statusCode).toBe(400);

  const log = lines.join('\n');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const completed = parsed.filter((l) => l.msg === 'request completed');
  // One line per request, each naming the route pattern and the status.
  expect(completed.map((l) => `${l.method} ${l.route} ${l.status}`)).toEqual([
    'GET /api/clients 200',
    'GET /api/clients/:id 200',
    'GET /clients 200',
    'GET (no route) 404',
    'GET /a/:token ' + String(completed[4]?.status),
    'POST /api/clients 400',
    'POST /api/clients 400',
  ]);
  for (const secret of ['Smithereens', 'Zebulon', 'zebulon.smithereens', clientId, 'q=', 'secret-link-token']) expect({ secret, inLog: log.includes(secret) }).toEqual({ secret, inLog: false });
  expect(parsed.some((l) => 'url' in l || 'req' in l)).toBe(false);
});
