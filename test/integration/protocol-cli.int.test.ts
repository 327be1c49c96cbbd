// `kap protocol draft | check | diff | publish | list --clinic` run as real processes against a
// listening engine (issue #21): an operations lead copies the office KAP template into a file, edits
// the file, uploads it, reads the check and the diff, and a clinic admin publishes; a local file that
// drops the suicide-risk screen is refused by `kap protocol check` with its rule and source.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createActivities } from '../../src/activities';
import type { Db } from '../../src/db/connect';
import { freePort } from '../../src/temporal/dev-server';
import { startTestStack, type TestStack } from '../harness/stack';
import { personTokenFor, tokenFor, uid } from './api-helpers';

const exec = promisify(execFile);
const KAP = path.resolve(__dirname, '../../bin/kap');
let stack: TestStack;
let url: string;
const clinicId = `cli-proto-${uid()}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'kap-protocol-cli-'));

async function kap(args: string[], token?: string, timeout = 60_000): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(KAP, args, { env: { ...process.env, KAP_URL: url, ...(token ? { KAP_TOKEN: token } : {}) }, timeout });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

beforeAll(async () => {
  // The worker signs client links with the API's key (the rehearsal's synthetic clients answer from them).
  const port = await freePort();
  const dbRef: { db?: Db } = {};
  const lateDb = new Proxy({} as Db, { get: (_t, k) => { const v = (dbRef.db as never)[k] as unknown; return typeof v === 'function' ? v.bind(dbRef.db) : v; } });
  const secretKey = 'test-secret-key-0123456789abcdef0123456789';
  stack = await startTestStack({ env: { PUBLIC_URL: `http://127.0.0.1:${port}` }, workerOptions: { activities: createActivities({ db: lateDb, mail: { publicUrl: `http://127.0.0.1:${port}`, secretKey }, secretKey }) } });
  dbRef.db = stack.db;
  url = await stack.app.listen({ port, host: '127.0.0.1' });
  await stack.db.insertInto('clinics').values({ id: clinicId, name: 'CLI Protocol Clinic' }).execute();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

test('draft from a template into a file, edit, upload, check, diff, publish, list', async () => {
  const coordinator = (await personTokenFor(stack.db, 'coordinator', clinicId)).token;
  const admin = await tokenFor(stack.db, 'admin', clinicId);
  const file = path.join(dir, 'kap-office.json');

  const draft = await kap(['protocol', 'draft', '--clinic', clinicId, '--template', 'kap-office', '--out', file, '--reason', 'our pathway'], coordinator);
  expect(draft).toMatchObject({ code: 0 });
  expect(draft.out).toMatch(/^draft kap-office v2 \(hash [0-9a-f]{12}\)\nno problems\nevery guard rail kept\nNo changes against template kap-office@1\nwritten to /);

  // The file, edited: the window shortened without its step: the upload is refused with the path.
  const def = JSON.parse(readFileSync(file, 'utf8'));
  def.course.integrationWindowHours = 24;
  writeFileSync(file, JSON.stringify(def));
  const refused = await kap(['protocol', 'draft', '--clinic', clinicId, '--edit', 'kap-office', '--file', file, '--reason', 'shorter window'], coordinator);
  expect(refused.code).toBe(1);
  expect(refused.err).toContain('protocol.phases[2].steps[1].deadlineHours: must be <= course.integrationWindowHours (24)');
  def.phases[2].steps[1].deadlineHours = 24;
  writeFileSync(file, JSON.stringify(def));
  expect((await kap(['protocol', 'draft', '--clinic', clinicId, '--edit', 'kap-office', '--file', file, '--reason', 'integration within 24 h'], coordinator)).code).toBe(0);

  const check = await kap(['protocol', 'check', 'kap-office', '--clinic', clinicId], coordinator);
  expect(check.code).toBe(0);
  expect(check.out).toContain('Changes against template kap-office@1:\n  - Integration window after each dose shortened from 48 h to 24 h\n  - "Integration session": deadline shortened from 48 h to 24 h');
  const diff = await kap(['protocol', 'diff', 'kap-office', '--clinic', clinicId, '--from', 'template'], coordinator);
  expect(diff.out).toBe('kap-office: template kap-office@1 → draft v2\n  - Integration window after each dose shortened from 48 h to 24 h\n  - "Integration session": deadline shortened from 48 h to 24 h\n');

  // Publishing: a coordinator may not; an admin only after a passing rehearsal of this exact draft.
  expect((await kap(['protocol', 'publish', 'kap-office', '--clinic', clinicId, '--reason', 'go'], coordinator)).code).toBe(4);
  const unrehearsed = await kap(['protocol', 'publish', 'kap-office', '--clinic', clinicId, '--reason', 'go'], admin);
  expect(unrehearsed.code).toBe(3);
  expect(unrehearsed.err).toContain('rehearsal: no rehearsal of this exact draft');
  // As `kap protocol rehearse` leaves a draft that passed (the rehearsal itself: protocol-rehearsal.int.test.ts).
  const row = await stack.db.selectFrom('protocol_versions').select('hash').where('clinic_id', '=', clinicId).where('status', '=', 'draft').executeTakeFirstOrThrow();
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash: row.hash }) }).where('clinic_id', '=', clinicId).where('status', '=', 'draft').execute();
  const published = await kap(['protocol', 'publish', 'kap-office', '--clinic', clinicId, '--reason', 'approved', '--hash', row.hash], admin);
  expect(published.code).toBe(0);
  expect(published.out).toContain(`published kap-office v2 (hash ${row.hash.slice(0, 12)}): new enrolments of ${clinicId} use it`);

  const list = await kap(['protocol', 'list', '--clinic', clinicId], coordinator);
  expect(list.out).toContain(`${clinicId} / kap-office: In-office ketamine-assisted psychotherapy\n  in use for new enrolments: v2\n  v2 published`);
}, 120_000);

test('a local file that drops the suicide-risk screen: kap protocol check names the rule and its source, exit 2', async () => {
  const shown = await kap(['protocol', 'show', 'kap-office', '--json']);
  const def = JSON.parse(shown.out);
  def.assessments.beforeEachDose = ['phq9'];
  const file = path.join(dir, 'no-screen.json');
  writeFileSync(file, JSON.stringify(def));
  const r = await kap(['protocol', 'check', file]);
  expect(r.code).toBe(2);
  expect(r.out).toContain('1 guard rail(s) broken: it cannot be published\n  [suicide-risk-screen] assessments.beforeEachDose: must include cssrs');
  expect(r.out).toContain('source: C-SSRS triage guidance (Columbia)');
}, 60_000);

test('kap protocol rehearse: a short pathway on six synthetic clients in a sandbox, the summary kept on the draft', async () => {
  const coordinator = (await personTokenFor(stack.db, 'coordinator', clinicId)).token;
  const shown = JSON.parse((await kap(['protocol', 'show', 'kap-office', '--json'])).out);
  Object.assign(shown.course, { preparationSessions: 1, dosingSessions: 2, doseScheduleDays: [0, 3], minDaysBetweenDoses: 2 });
  shown.assessments.followUps = [{ afterCourseDays: 3, instruments: ['phq9'] }];
  const file = path.join(dir, 'short.json');
  writeFileSync(file, JSON.stringify(shown));
  expect((await kap(['protocol', 'draft', '--clinic', clinicId, '--file', file, '--id', 'cli-short', '--reason', 'pilot'], coordinator)).code).toBe(0);
  const r = await kap(['protocol', 'rehearse', 'cli-short', '--clinic', clinicId, '--clients', '6', '--seed', '3', '--time-scale', '108000', '--concurrency', '6'], coordinator, 220_000);
  expect(r.err).not.toContain('kap:');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^rehearsal of cli-short draft v1 \(hash [0-9a-f]{12}\) in sandbox rehearsal-[0-9a-f-]+: PASSED\n  6\/6 courses ended as their profile predicts\n/);
  expect(r.out).toContain('Emails per client:');
  const draft = await stack.db.selectFrom('protocol_versions').select(['hash', 'rehearsal']).where('clinic_id', '=', clinicId).where('protocol_id', '=', 'cli-short').where('status', '=', 'draft').executeTakeFirstOrThrow();
  expect(draft.rehearsal).toMatchObject({ passed: true, hash: draft.hash, clients: 6, matched: 6 });
}, 240_000);
