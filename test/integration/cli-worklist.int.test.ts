// `kap courses`, `kap status` and `kap simulate`'s KAP_URL, run as real processes against a listening
// server, as a coordinator in a clinic in Chicago would use them (issue #18 items 3 and 7). Each `kap`
// is a process of its own (a second or two to start; more on a loaded machine, hence the limits).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { getProtocol } from '../../src/domain';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { tokenFor, uid } from './api-helpers';

const exec = promisify(execFile);
const KAP = path.resolve(__dirname, '../../bin/kap');
let stack: TestStack;
let url: string;
const run = uid();
const A = `cliw-a-${run}`;
const B = `cliw-b-${run}`;
let coordA: string;
let coordB: string;
const enrolled: Array<{ courseId: string; clientId: string }> = [];

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
  await stack.db.insertInto('clinics').values([{ id: A, name: `Chicago Clinic ${run}`, timezone: 'America/Chicago' }, { id: B, name: `Other Clinic ${run}` }]).execute();
  coordA = await tokenFor(stack.db, 'coordinator', A);
  coordB = await tokenFor(stack.db, 'coordinator', B);
  // Two courses through the engine, enrolled from the shell.
  for (const [given, family] of [['Marisol', `Quintero${run}`], ['Dev', `Okonkwo${run}`]]) {
    const r = await kap(['enroll', '--clinic', A, '--given', given!, '--family', family!, '--email', `${given}-${run}@example.org`, '--protocol', 'kap-office', '--json'], { KAP_TOKEN: coordA });
    expect(r.code).toBe(0);
    enrolled.push({ courseId: r.json.course.id, clientId: r.json.clientId });
  }
  for (const e of enrolled) await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', e.courseId).executeTakeFirst())?.current_step === 'screening');
  // Two more as the projection writes them: one past its deadline at dosing, one on a safety hold.
  const snapshot = JSON.stringify(getProtocol('kap-office'));
  for (const [k, step, kind, owner, hoursFromNow] of [[1, 'dose-2', 'dosing', 'prescriber', -5], [2, 'integration-1', 'integration', 'therapist', 30]] as const) {
    const clientId = `cliw-client-${run}-${k}`;
    const courseId = `cliw-course-${run}-${k}`;
    await stack.db.insertInto('clients').values({ id: clientId, clinic_id: A, given_name: k === 1 ? 'Tomasz' : 'Yara', family_name: `Seeded${run}`, email: `${clientId}@example.org` }).execute();
    await stack.db.insertInto('courses').values({ id: courseId, client_id: clientId, clinic_id: A, workflow_id: `course-${courseId}`, protocol_id: 'kap-office', protocol_version: 1, protocol_snapshot: snapshot, current_step: step, current_step_deadline: new Date(Date.now() + hoursFromNow * 3_600_000), risk_level: k === 2 ? 'high' : 'none' }).execute();
    await stack.db.insertInto('course_steps').values({ id: `${courseId}/${step}`, course_id: courseId, clinic_id: A, step_key: step, kind, state: 'open', owner_role: owner, entered_at: new Date(Date.now() - 86_400_000), deadline_at: new Date(Date.now() + hoursFromNow * 3_600_000) }).execute();
    if (k === 2) await stack.db.insertInto('safety_events').values({ id: `${courseId}/hold`, course_id: courseId, clinic_id: A, kind: 'critical-answer', level: 'high', at: new Date() }).execute();
  }
}, 120_000);

afterAll(async () => {
  for (const e of enrolled) await stack.temporal.workflow.getHandle(`course-${e.courseId}`).terminate('cleanup').catch(() => undefined);
  if (stack) {
    await stack.db.deleteFrom('courses').where('id', 'like', `cliw-course-${run}-%`).execute();
    await stack.db.deleteFrom('clients').where('id', 'like', `cliw-client-${run}-%`).execute();
  }
  await stack?.stop();
});

test('kap courses lists the open courses soonest due first, with names, steps, owners, clinic-local due times, risk and holds; overdue and on-hold filters', async () => {
  const env = { KAP_TOKEN: coordA };
  const all = await kap(['courses', '--json'], env);
  expect(all.code).toBe(0);
  expect(all.json.counts).toMatchObject({ total: 4, overdue: 1, onHold: 1 });
  expect(all.json.courses.map((c: any) => c.clientName)).toEqual([`Tomasz Seeded${run}`, `Yara Seeded${run}`, expect.stringMatching(/Quintero|Okonkwo/), expect.stringMatching(/Quintero|Okonkwo/)]);

  const text = await kap(['courses'], env);
  expect(text.code).toBe(0);
  expect(text.out).toContain('4 open courses (1 overdue, 1 on a safety hold');
  expect(text.out).toMatch(new RegExp(`5 h ago OVERDUE\\s+Tomasz Seeded${run} \\(Chicago Clinic ${run}\\)  kap-office  dose-2 \\[dosing\\]  waiting on prescriber`));
  expect(text.out).toMatch(new RegExp(`Yara Seeded${run} .*integration-1 \\[integration\\]  waiting on therapist  risk high, SAFETY HOLD`));
  expect(text.out).toMatch(/waiting on coordinator/);
  // Clinic-local times to the minute: no seconds, no milliseconds, the zone's name.
  expect(text.out).toMatch(/due \w{3}, \w{3} \d{1,2}, \d{4}, \d\d:\d\d C[SD]T/);
  expect(text.out).not.toMatch(/\d\d:\d\d:\d\d|\.\d{3}Z/);

  const overdue = await kap(['courses', '--overdue', '--json'], env);
  expect(overdue.json.courses.map((c: any) => c.id)).toEqual([`cliw-course-${run}-1`]);
  const held = await kap(['courses', '--on-hold'], env);
  expect(held.out).toContain(`Yara Seeded${run}`);
  expect(held.out).not.toContain('Tomasz');
}, 120_000);

test('kap courses: search by name, step, sort and pages; empty answers say what was asked; another clinic sees nothing', async () => {
  const env = { KAP_TOKEN: coordA };
  const found = await kap(['courses', '--search', `marisol quintero${run}`], env);
  expect(found.out).toContain(`1 open course (`);
  expect(found.out).toContain(`course ${enrolled[0]!.courseId}`);
  const step = await kap(['courses', '--step', 'screening', '--sort', 'name', '--json'], env);
  expect(step.json.courses.map((c: any) => c.clientName)).toEqual([`Dev Okonkwo${run}`, `Marisol Quintero${run}`]);
  const paged = await kap(['courses', '--limit', '3', '--page', '2', '--json'], env);
  expect(paged.json.courses).toHaveLength(1);
  expect(paged.json.hasMore).toBe(false);
  const first = await kap(['courses', '--limit', '3'], env);
  expect(first.out).toContain('more: kap courses ... --page 2');
  const none = await kap(['courses', '--search', 'nobody-by-this-name'], env);
  expect(none.out.trim()).toBe('no open course named nobody-by-this-name…');

  // Another clinic's coordinator sees none of these; naming the clinic is refused; a bad sort names the field.
  const other = await kap(['courses', '--json'], { KAP_TOKEN: coordB });
  expect(other.json.courses).toEqual([]);
  const refused = await kap(['courses', '--clinic', A], { KAP_TOKEN: coordB });
  expect(refused.code).toBe(4);
  const bad = await kap(['courses', '--sort', 'soonest'], env);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/400[\s\S]*sort/);
}, 120_000);

test("kap status names the client and prints the clinic's local times to the minute; --json is the API's body", async () => {
  const { courseId, clientId } = enrolled[0]!;
  const r = await kap(['status', courseId], { KAP_TOKEN: coordA });
  expect(r.code).toBe(0);
  expect(r.out).toContain(`Marisol Quintero${run}: course ${courseId} (kap-office v`);
  expect(r.out).toContain(`at Chicago Clinic ${run}`);
  expect(r.out).not.toContain(clientId);
  expect(r.out).toMatch(/current step screening due \w{3}, \w{3} \d{1,2}, \d{4}, \d\d:\d\d C[SD]T \(in \d+ d/);
  expect(r.out).toContain('times in America/Chicago');
  expect(r.out).not.toMatch(/\d\d:\d\d:\d\d|\.\d{3}Z|T\d\d:/);
  const json = await kap(['status', courseId, '--json'], { KAP_TOKEN: coordA });
  expect(json.json.id).toBe(courseId);
  expect(json.json.clientId).toBe(clientId);
}, 120_000);

test('kap simulate goes to KAP_URL (not :3000) when no --url is given', async () => {
  // A bare token of the wrong role: the engine at KAP_URL answers the first request (403), which
  // proves where it went; nothing listens on the old fixed default for this test to reach.
  const r = await kap(['simulate', '--clients', '1'], { KAP_TOKEN: coordA, PORT: '9' });
  expect(r.code).not.toBe(0);
  expect(r.err).toContain('POST /api/clinics: 403');
  const unreachable = await kap(['simulate', '--clients', '1'], { KAP_TOKEN: coordA, KAP_URL: 'http://127.0.0.1:9' });
  expect(unreachable.err).not.toContain('403');
}, 120_000);
