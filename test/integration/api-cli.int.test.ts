// The `kap` CLI over the HTTP API, run as a real process against a listening server.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestStack, type TestStack } from '../harness/stack';
import { tokenFor, uid } from './api-helpers';

const exec = promisify(execFile);
const KAP = path.resolve(__dirname, '../../bin/kap');
let stack: TestStack;
let url: string;
let admin: string;
const clinicId = `cli-${uid()}`;

async function kap(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string; json: any }> {
  try {
    const r = await exec(KAP, args, { env: { ...process.env, KAP_URL: url, ...env }, timeout: 60_000 });
    return { code: 0, out: r.stdout, err: r.stderr, json: args.includes('--json') ? JSON.parse(r.stdout) : undefined };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr, json: args.includes('--json') && err.stdout ? JSON.parse(err.stdout) : undefined };
  }
}

beforeAll(async () => {
  stack = await startTestStack();
  url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  admin = await tokenFor(stack.db, 'admin');
  await stack.db.insertInto('clinics').values({ id: clinicId, name: 'CLI Clinic' }).execute();
});
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).execute()) await stack.temporal.workflow.getHandle(c.workflow_id).terminate('cleanup').catch(() => undefined);
  await stack?.stop();
});

test('token create (through the API with an admin token), enroll, status, stuck, assess, actions; --json everywhere', async () => {
  const created = await kap(['token', 'create', '--role', 'coordinator', '--clinic', clinicId, '--token', admin, '--json']);
  expect(created.code).toBe(0);
  expect(created.json.token).toMatch(/^kap_/);
  const env = { KAP_TOKEN: created.json.token };

  const enrolled = await kap(['enroll', '--clinic', clinicId, '--given', 'Cli', '--family', 'Ent', '--email', 'cli@example.org', '--protocol', 'kap-office', '--json'], env);
  expect(enrolled.code).toBe(0);
  const courseId = enrolled.json.course.id;

  const status = await kap(['status', courseId, '--json'], env);
  expect(status.json.id).toBe(courseId);
  const human = await kap(['status', courseId], env);
  expect(human.out).toContain(`course ${courseId}`);

  const stuck = await kap(['stuck', '--clinic', clinicId, '--json'], env);
  expect(stuck.code).toBe(0);
  expect(typeof stuck.json.count).toBe('number');

  // Coordinators may not clear: 403 -> exit code 4, message on stderr.
  const clear = await kap(['clear', courseId, '--decision', 'approved'], env);
  expect(clear.code).toBe(4);
  expect(clear.err).toMatch(/403/);

  const sent = await kap(['assess', 'send', courseId, '--json'], env);
  expect(sent.code).toBe(0);
  expect(sent.json.outcome).toBe('invited');
  expect(sent.json.ids.assessmentId).toBe(`${courseId}/adhoc-1`);
  const sentText = await kap(['assess', 'send', courseId], env);
  expect(sentText.out).toContain(`invited (assessment ${courseId}/adhoc-2)`);

  const bad = await kap(['action', courseId, 'pause', '--json'], env);
  expect(bad.code).toBe(1);
  expect(bad.json.status).toBe(400);

  const noToken = await kap(['stuck'], { KAP_TOKEN: '' });
  expect(noToken.code).not.toBe(0);
  expect(noToken.err).toMatch(/KAP_TOKEN/);
}, 120_000);
