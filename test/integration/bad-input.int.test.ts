// The bad-input campaign: at least 10,000 random and malformed requests against every route in the
// OpenAPI document (every API route, including every staff action, which reaches the course
// workflow's Update validators) plus the dashboard forms and the client link. No answer may be a 5xx,
// every refusal must be a 4xx that says what was wrong, and no workflow task may fail.
import { temporal } from '@temporalio/proto';
import { createApiToken } from '../../src/auth/tokens';
import { mulberry32 } from '../../src/prng';
import { eventually, startTestStack, type TestStack } from '../harness/stack';

const TOTAL = Number(process.env.KAP_BAD_INPUT_REQUESTS ?? 10_000);

// Seeded, so a failure can be replayed with KAP_BAD_INPUT_SEED.
const SEED = Number(process.env.KAP_BAD_INPUT_SEED ?? 20261126);
const rand = mulberry32(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;

const NASTY_STRINGS = [
  '', ' ', 'a'.repeat(5000), "' OR 1=1 --", '"; DROP TABLE courses; --', '<script>alert(1)</script>', '${jndi:ldap://x}',
  '../../etc/passwd', '%00', '\u0000', '\uD800', '😀'.repeat(50), 'null', 'undefined', 'NaN', '-1', '1e309', '0x10',
  '2026-02-30', '2026-11-26T25:61:00Z', 'not-an-email', '__proto__', 'constructor', '{"$ne":null}', '\n\r\t',
];
const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, -1e308, 1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [null], { __proto__: { admin: true } }, 'x', ...NASTY_STRINGS];

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; anyOf?: Schema[]; oneOf?: Schema[]; format?: string; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; const?: unknown; $ref?: string; pattern?: string };

/** A value that fits the schema as far as a simple generator can; the workflow then judges it. */
function sample(s: Schema | undefined, depth = 0): unknown {
  if (!s || depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum) return pick(s.enum);
  if (s.anyOf || s.oneOf) return sample(pick((s.anyOf ?? s.oneOf)!), depth + 1);
  const type = Array.isArray(s.type) ? pick(s.type) : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) if ((s.required ?? []).includes(k) || chance(0.5)) out[k] = sample(v, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.floor(rand() * 4) }, () => sample(s.items, depth + 1));
    case 'integer':
      return Math.floor((s.minimum ?? 0) + rand() * Math.min(100, (s.maximum ?? 100) - (s.minimum ?? 0)));
    case 'number':
      return (s.minimum ?? 0) + rand() * 200;
    case 'boolean':
      return chance(0.5);
    case 'string':
      if (s.format === 'date-time') return new Date(Date.now() + (rand() - 0.5) * 864e6).toISOString();
      if (s.format === 'date') return '1990-05-17';
      if (s.format === 'email') return 'someone@example.org';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'null':
      return null;
    default:
      return pick(NASTY_VALUES);
  }
}

/** Breaks one thing in a value: a wrong type, a nasty string, a missing or an extra field. */
function mutate(v: unknown, depth = 0): unknown {
  if (depth > 4 || v === null || typeof v !== 'object' || chance(0.25)) return pick(NASTY_VALUES);
  if (Array.isArray(v)) return v.length && chance(0.7) ? v.map((x, i) => (i === 0 ? mutate(x, depth + 1) : x)) : [pick(NASTY_VALUES)];
  const o = { ...(v as Record<string, unknown>) };
  const keys = Object.keys(o);
  const r = rand();
  if (keys.length && r < 0.6) {
    const k = pick(keys);
    o[k] = mutate(o[k], depth + 1);
  } else if (keys.length && r < 0.8) {
    delete o[pick(keys)];
  } else {
    o[pick(['extra', '__proto__', 'constructor', 'id', 'role', 'clinicId'])] = pick(NASTY_VALUES);
  }
  return o;
}

interface Op { method: string; path: string; body?: Schema; query?: Schema }

let stack: TestStack;
let token: string;
let ids: Record<string, string[]>;
let startedAt: Date;

beforeAll(async () => {
  startedAt = new Date(Date.now() - 1000);
  stack = await startTestStack();
  token = (await createApiToken(stack.db, { role: 'admin', label: 'bad-input campaign' })).token;
  const h = { authorization: `Bearer ${token}` };
  const clinic = `bad-${Date.now().toString(36)}`;
  await stack.app.inject({ method: 'POST', url: '/api/clinics', headers: h, payload: { id: clinic, name: 'Bad Input Clinic' } });
  const client = (await stack.app.inject({ method: 'POST', url: '/api/clients', headers: h, payload: { clinicId: clinic, givenName: 'Fuzz', familyName: 'Target', email: 'fuzz@example.org' } })).json();
  const course = (await stack.app.inject({ method: 'POST', url: `/api/clients/${client.id}/courses`, headers: h, payload: { protocolId: 'kap-office' } })).json();
  await eventually(async () => (await stack.db.selectFrom('course_steps').select('id').where('course_id', '=', course.id).executeTakeFirst()) ?? undefined);
  ids = { clinic: [clinic], client: [client.id], course: [course.id], any: [clinic, client.id, course.id] };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function fillPath(path: string): string {
  return path.replace(/\{(\w+)\}|:(\w+)/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const real = name === 'id' ? ids.any : ids[name.replace(/Id$/, '')] ?? ids.any;
    const v = chance(0.6) ? pick(real) : pick(['00000000-0000-0000-0000-000000000000', 'nope', "' OR 1=1 --", '..%2F..', 'a'.repeat(300), '%F0%9F%98%80', '%00', '-1']);
    return encodeURIComponent(decodeURIComponent(v.replace(/%(?![0-9A-F]{2})/gi, '%25'))).replace(/%25/g, '%');
  });
}

test(`${TOTAL} random and malformed requests: no 5xx, every refusal a 4xx with a reason, no failed workflow task`, async () => {
  const doc = (await stack.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: Schema }> }; parameters?: Array<{ in: string; name: string; schema: Schema }> }>> };
  const ops: Op[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      const query: Schema = { type: 'object', properties: Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema])) };
      ops.push({ method: method.toUpperCase(), path, body, query });
    }
  }
  // Dashboard forms and the client's link: form-encoded bodies.
  for (const path of ['/login', '/clients', '/clients/:id/enroll', '/courses/:id/actions/:action', '/staff', '/a/:token']) ops.push({ method: 'POST', path });
  for (const path of ['/a/:token', '/clients/:id', '/', '/safety', '/assessments', '/outcomes']) ops.push({ method: 'GET', path });
  expect(ops.length).toBeGreaterThan(20);

  const counts: Record<string, number> = {};
  const failures: string[] = [];
  const slow: string[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const op = ops[i % ops.length]!;
    let url = fillPath(op.path.replace(':action', pick(['dose', 'clearance', 'discharge', 'pre-dose-check', 'nope', 'screening'])).replace(':token', pick(['x', 'a'.repeat(500), 'eyJhbGciOi.bad.sig', '%00'])));
    if (chance(0.3) && op.query) {
      const q = mutate(sample(op.query));
      const entries: Array<[string, string]> = q && typeof q === 'object' ? Object.entries(q).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]) : [['q', String(q)]];
      url += `?${new URLSearchParams(entries).toString()}`;
    }
    const headers: Record<string, string> = {};
    const authRoll = rand();
    if (authRoll < 0.9) headers.authorization = `Bearer ${token}`;
    else if (authRoll < 0.95) headers.authorization = pick(['Bearer kap_forged', 'Basic YWRtaW46YWRtaW4=', 'Bearer', `Bearer ${token}x`]);
    let payload: string | undefined;
    if (op.method !== 'GET' && op.method !== 'DELETE') {
      const roll = rand();
      if (op.path.startsWith('/api/') || op.path.startsWith('/codec')) {
        if (roll < 0.08) {
          headers['content-type'] = 'application/json';
          payload = pick(['{', '{"a":', '[1,2', 'null', '"str"', '{"a":1}{', '\u0000', '']);
        } else if (roll < 0.12) {
          headers['content-type'] = pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x']);
          payload = 'a=1';
        } else {
          headers['content-type'] = 'application/json';
          const base = sample(op.body);
          payload = JSON.stringify(roll < 0.35 ? base : mutate(base)) ?? 'null';
        }
      } else {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        payload = new URLSearchParams({ _csrf: pick(['', 'x']), email: pick(NASTY_STRINGS), password: pick(NASTY_STRINGS), [pick(['q1', 'item1', 'answers', 'field'])]: pick(NASTY_STRINGS) }).toString();
      }
    }
    const t0 = Date.now();
    if (process.env.KAP_BAD_INPUT_TRACE) require('node:fs').appendFileSync(process.env.KAP_BAD_INPUT_TRACE, `${i} ${op.method} ${url.slice(0, 150)} ${payload?.slice(0, 150) ?? ''}\n`);
    const res = await stack.app.inject({ method: op.method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    const ms = Date.now() - t0;
    if (ms > 2000) slow.push(`${ms} ms ${op.method} ${url.slice(0, 120)} -> ${res.statusCode}`);
    const key = `${res.statusCode}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (res.statusCode >= 500) {
      failures.push(`${op.method} ${url} ${payload?.slice(0, 200) ?? ''} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
      continue;
    }
    if (res.statusCode >= 400 && (url.startsWith('/api/') || url.startsWith('/codec'))) {
      let body: { message?: unknown; problems?: Array<{ field?: unknown; message?: unknown }> } | undefined;
      try {
        body = res.json();
      } catch {
        body = undefined;
      }
      if (!body || typeof body.message !== 'string' || body.message.length < 3) failures.push(`${op.method} ${url} -> ${res.statusCode} without a message: ${res.body.slice(0, 200)}`);
      else if (res.statusCode === 400 && body.problems?.some((p) => typeof p.field !== 'string' || typeof p.message !== 'string')) failures.push(`${op.method} ${url} -> 400 with a malformed problem list`);
    }
  }
  if (slow.length) process.stdout.write(`[bad-input] ${slow.length} requests over 2 s, first: ${slow.slice(0, 5).join(' | ')}\n`);
  process.stdout.write(`[bad-input] ${TOTAL} requests over ${ops.length} operations (seed ${SEED}); statuses ${JSON.stringify(counts)}\n`);
  expect(failures.slice(0, 20)).toEqual([]);

  // No course the campaign reached (the seeded one, and any it enrolled) has failed a workflow task.
  const courses = await stack.db.selectFrom('courses').select('workflow_id').where('enrolled_at', '>=', startedAt).execute();
  expect(courses.length).toBeGreaterThan(0);
  const failedTasks: string[] = [];
  for (const { workflow_id } of courses) {
    const history = await stack.temporal.workflow.getHandle(workflow_id).fetchHistory();
    for (const e of history.events ?? []) {
      if (e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) failedTasks.push(`${workflow_id}: ${e.workflowTaskFailedEventAttributes?.failure?.message}`);
    }
  }
  expect(failedTasks).toEqual([]);
  const health = await stack.app.inject({ method: 'GET', url: '/health' });
  expect(health.statusCode).toBe(200);
}, 900_000);
