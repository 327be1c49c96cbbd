// No client data in Temporal except ciphertext (issue #15, item 4): an SMTP server that refuses a
// client's email names the address in its reply. The failure that reaches the workflow's history (and
// the pending activity the stuck board reads) carries a code and the outbox row's key only, and even
// that is sealed (src/temporal/failure-converter.ts); the full reply stays in PostgreSQL. And the
// suicide-risk level, clinical, is no search attribute (those are never encrypted).
import type { temporal } from '@temporalio/proto';
import { decodeFromPayloadsAtIndex, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { submitAssessment } from '../../src/client/course-actions';
import { failureMessage } from '../../src/client/temporal';
import { createSmtpMailer, type Mailer } from '../../src/mail/mailer';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';
import { startTestSmtp, type TestSmtp } from './mail-helpers';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let stack: TestStack;
let smtp: TestSmtp;
let mailer: Mailer;
let call: ReturnType<typeof client>;
let coordinator: string;
const clinicId = `scrub-${uid()}`;
const started: string[] = [];

beforeAll(async () => {
  smtp = await startTestSmtp();
  mailer = createSmtpMailer({ url: smtp.url, from: 'Scrub Clinic <no-reply@kap.example>', timeoutSeconds: 5 });
  stack = await startTestStack({ mailer });
  call = client(stack.app);
  const admin = await tokenFor(stack.db, 'admin');
  coordinator = await tokenFor(stack.db, 'coordinator');
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Scrub Clinic' } })).status).toBe(201);
});
afterAll(async () => {
  for (const id of started) await stack?.temporal.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
  await stack?.stop();
  mailer?.close();
  await smtp?.stop();
});

async function enroll(email: string): Promise<{ courseId: string; workflowId: string }> {
  const c = await call('POST', '/api/clients', { token: coordinator, body: { clinicId, givenName: 'Quill', familyName: 'Marsh', email } });
  expect(c.status).toBe(201);
  const e = await call('POST', `/api/clients/${c.body.id}/courses`, { token: coordinator, body: { protocolId: 'kap-office' } });
  expect(e.status).toBe(201);
  started.push(e.body.workflowId);
  return { courseId: e.body.id, workflowId: e.body.workflowId };
}

/** The raw history (no codec) of a course (its forms and their emails are in it: src/workflows/forms.ts). */
async function rawHistories(workflowId: string): Promise<Array<{ workflowId: string; events: HistoryEvent[] }>> {
  const read = async (id: string) => (await stack.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId: id } })).history?.events ?? [];
  return [{ workflowId, events: await read(workflowId) }];
}

/** Every text a failure chain shows without the keys: messages and stack traces. */
function failureTexts(f: temporal.api.failure.v1.IFailure | null | undefined): string[] {
  const out: string[] = [];
  for (let x = f; x; x = x.cause) out.push(x.message ?? '', x.stackTrace ?? '');
  return out;
}

/** Every text the history shows without the keys: strings, and every byte field read as UTF-8 (payloads, sealed or not). */
function historyTexts(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x);
  else if (x instanceof Uint8Array) out.push(Buffer.from(x).toString('utf8'));
  else if (x && typeof x === 'object') for (const v of Object.values(x)) historyTexts(v, out);
  return out;
}

test('an SMTP refusal that names the client: history holds no address, only a sealed code and outbox key', async () => {
  const email = `quill.marsh.${uid()}@example.org`;
  smtp.failRcpt = 550;
  const { courseId, workflowId } = await enroll(email);

  // The client's message is refused for good; its row keeps the server's reply, address and all.
  const row = await eventually(async () => stack.db.selectFrom('email_outbox').selectAll().where('course_id', '=', courseId).where('audience', '=', 'client').where('status', '=', 'failed').executeTakeFirst());
  expect(row.last_error).toContain(email);
  expect(row.last_error).toMatch(/^SMTP 550/);

  // The screening's invitation was refused on its first attempt, run by the course's first task in its
  // projection's local activity (src/activities/first-attempts.ts): the marker's sealed result holds
  // the outcome and the outbox key, nothing else; the whole history shows no address without the keys.
  const firstTask = await eventually(async () => {
    const events = (await rawHistories(workflowId)).flatMap((h) => h.events);
    const marker = events.find((e) => e.markerRecordedEventAttributes?.details?.result);
    return marker ? { events, result: marker.markerRecordedEventAttributes!.details!.result! } : undefined;
  });
  for (const text of historyTexts(firstTask.events)) expect(text).not.toContain(email);
  expect(Buffer.from(firstTask.result.payloads![0]!.metadata!.encoding!).toString()).toBe('binary/encrypted');
  const opened = await decodeFromPayloadsAtIndex<{ firstAttempts: unknown }>(stack.temporal.options.loadedDataConverter, 0, firstTask.result.payloads);
  expect(opened.firstAttempts).toEqual([{ key: row.key, outcome: 'failed' }]);

  // A staff member's assessment: its invitation is a regular activity, refused for good too.
  expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: coordinator, body: { instruments: ['phq9'] } })).status).toBe(200);
  const failed = await eventually(async () => {
    // The regular activity's failure (a local activity's, in its marker, is sealed the same way).
    const all = (await rawHistories(workflowId)).flatMap((h) => h.events.flatMap((e) => [e.activityTaskFailedEventAttributes?.failure, e.markerRecordedEventAttributes?.failure]).filter((f) => f != null));
    return all.length ? all : undefined;
  });
  for (const failure of failed) {
    // Without the keys: no address, no SMTP text, not even the code (sealed in encodedAttributes).
    for (const text of failureTexts(failure)) {
      expect(text).not.toContain('@');
      expect(text).not.toMatch(/mailbox|550|quill/i);
    }
    expect(failure.message).toBe('Encoded failure');
    expect(Buffer.from(failure.encodedAttributes!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(failure.applicationFailureInfo?.type).toBe('SmtpRejected');
    expect(failure.applicationFailureInfo?.nonRetryable).toBe(true);
    // With the keys: a code and the outbox row's key, still no address.
    const opened = await decodeOptionalFailureToOptionalError(stack.temporal.options.loadedDataConverter, failure);
    expect(opened?.message).toMatch(/^smtp-refused: outbox \S+ \(SMTP 550\)$/);
    expect(opened?.message).not.toContain('@');
  }
  const keys = failed.map((f) => /outbox (\S+)/.exec(failureTexts(f).join(' ')) ?? null);
  expect(keys.every((k) => k === null)).toBe(true);
  const openedKeys = await Promise.all(failed.map(async (f) => /outbox (\S+) /.exec((await decodeOptionalFailureToOptionalError(stack.temporal.options.loadedDataConverter, f))!.message)![1]));
  const assessmentRow = await stack.db.selectFrom('email_outbox').select('key').where('course_id', '=', courseId).where('template', '=', 'assessment-invitation').where('key', '<>', row.key).executeTakeFirstOrThrow();
  expect(openedKeys).toContain(assessmentRow.key);
  for (const text of historyTexts((await rawHistories(workflowId)).flatMap((h) => h.events))) expect(text).not.toContain(email);
  smtp.failRcpt = null;
});

test('a transient refusal while retrying: the pending failure is sealed too, and the stuck board reads its code', async () => {
  const email = `robin.fell.${uid()}@example.org`;
  smtp.failRcpt = 450;
  try {
    const { courseId, workflowId } = await enroll(email);
    const pending = await eventually(async () => {
      for (const h of await rawHistories(workflowId)) {
        const desc = await stack.temporal.workflow.getHandle(h.workflowId).describe();
        const a = (desc.raw.pendingActivities ?? []).find((p) => p.activityType?.name === 'notify' && (p.attempt ?? 0) >= 2 && p.lastFailure);
        if (a) return a;
      }
      return undefined;
    }, 30_000);
    for (const text of failureTexts(pending.lastFailure)) expect(text).not.toContain('@');
    expect(pending.lastFailure!.message).toBe('Encoded failure');
    const message = await failureMessage(stack.temporal, pending.lastFailure);
    expect(message).toMatch(/^smtp-unavailable: outbox \S+ \(SMTP 450\)$/);
    expect(message).not.toContain('@');
  } finally {
    smtp.failRcpt = null;
  }
});

test('a critical answer raises the risk level in PostgreSQL and the encrypted state, never in search attributes', async () => {
  smtp.failRcpt = null;
  const { courseId, workflowId } = await enroll(`sam.reed.${uid()}@example.org`);
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', courseId).executeTakeFirst())?.current_step === 'screening');
  // PHQ-9 item 9 answered: a critical answer, a safety hold and a raised risk level.
  await eventually(async () => (await submitAssessment(stack.temporal, `${courseId}/screening/phq9`, [1, 1, 1, 1, 1, 1, 1, 1, 1]).catch(() => undefined)) ?? undefined);
  const row = await eventually(async () => {
    const r = await stack.db.selectFrom('courses').select('risk_level').where('id', '=', courseId).executeTakeFirst();
    return r && r.risk_level !== 'none' ? r : undefined;
  });
  expect(['low', 'moderate', 'high']).toContain(row.risk_level);
  // The workflow task that wrote the projection has completed (its upserts with it).
  const desc = await eventually(async () => {
    const d = await stack.temporal.workflow.getHandle(workflowId).describe();
    return d.raw.pendingWorkflowTask ? undefined : d;
  });
  const raw = desc.raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
  expect(Object.keys(raw).filter((k) => k.startsWith('Kap')).sort()).toEqual(['KapClinic', 'KapProtocol', 'KapStatus', 'KapStep', 'KapStepDeadline']);
  const values = Object.values(raw).map((p) => Buffer.from(p.data ?? new Uint8Array()).toString());
  for (const v of values) expect(v).not.toMatch(/\b(low|moderate|high)\b/);
});
