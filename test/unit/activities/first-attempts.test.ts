// The projection's local activity followed by the invitations' first attempts
// (src/activities/first-attempts.ts): the rows first, the emails only once they are written, each
// attempt's outcome for the workflow (sent, failed for good, or the regular activity's), never a failure.
import { ApplicationFailure } from '@temporalio/common';
import { withFirstAttempts } from '../../../src/activities/first-attempts';
import type { NotifyInput } from '../../../src/activities/contracts';

const invitation = (key: string): NotifyInput => ({ key, template: 'assessment-invitation', courseId: 'c-1', clinicId: 'clinic-1', recipient: { kind: 'client' }, data: {} });

function recorder() {
  const calls: string[] = [];
  const project = async (input: { courseId: string; firstAttempts?: unknown }) => {
    calls.push(`project:${'firstAttempts' in input ? 'with' : 'without'} firstAttempts`);
    return { lost: false };
  };
  return { calls, project };
}

test('the rows are written first, without the emails in their input; each email is then tried once and its outcome returned', async () => {
  const { calls, project } = recorder();
  const notify = async (n: NotifyInput) => {
    calls.push(`notify:${n.key}`);
    if (n.key === 'refused') throw ApplicationFailure.nonRetryable('smtp-refused: outbox refused', 'SmtpRejected');
    if (n.key === 'down') throw ApplicationFailure.retryable('smtp-unavailable: outbox down', 'SmtpUnavailable');
    if (n.key === 'bug') throw new TypeError('not an ApplicationFailure');
    return { key: n.key, status: 'sent' };
  };
  const run = withFirstAttempts(project, notify);
  const out = await run({ courseId: 'c-1', firstAttempts: ['ok', 'refused', 'down', 'bug'].map(invitation) });
  expect(calls).toEqual(['project:without firstAttempts', 'notify:ok', 'notify:refused', 'notify:down', 'notify:bug']);
  expect(out).toEqual({
    lost: false,
    firstAttempts: [
      { key: 'ok', outcome: 'sent' },
      { key: 'refused', outcome: 'failed' },
      { key: 'down', outcome: 'retry' },
      { key: 'bug', outcome: 'retry' },
    ],
  });
});

test('an attempt that fails with anything but an ApplicationFailure is logged by its key and error name only, and handed over', async () => {
  const warned: Array<{ obj: unknown; msg: string }> = [];
  const log = { warn: (obj: unknown, msg: string) => void warned.push({ obj, msg }) };
  const run = withFirstAttempts(
    recorder().project,
    async (n: NotifyInput) => {
      if (n.key === 'bug') throw new TypeError('row for jane@example.org failed');
      if (n.key === 'down') throw ApplicationFailure.retryable('smtp-unavailable: outbox down', 'SmtpUnavailable');
      return { key: n.key, status: 'sent' };
    },
    undefined,
    log as never,
  );
  const out = await run({ courseId: 'c-1', firstAttempts: ['bug', 'down', 'ok'].map(invitation) });
  expect(out.firstAttempts).toEqual([
    { key: 'bug', outcome: 'retry' },
    { key: 'down', outcome: 'retry' },
    { key: 'ok', outcome: 'sent' },
  ]);
  // One line, for the unexpected failure only; the expected ones are the regular activity's to report.
  expect(warned).toEqual([{ obj: { key: 'bug', err: 'TypeError' }, msg: expect.stringContaining('first attempt failed unexpectedly') }]);
  expect(JSON.stringify(warned)).not.toContain('jane@example.org');
});

test('without emails the projection is all there is: its result unchanged, no firstAttempts', async () => {
  const { calls, project } = recorder();
  const run = withFirstAttempts(project, async () => {
    throw new Error('no email to send');
  });
  expect(await run({ courseId: 'c-1' })).toEqual({ lost: false });
  expect(await run({ courseId: 'c-1', firstAttempts: [] })).toEqual({ lost: false });
  expect(calls).toEqual(['project:without firstAttempts', 'project:without firstAttempts']);
});

test('a projection that fails sends nothing: the activity fails, and its retry runs the emails', async () => {
  let sent = 0;
  const run = withFirstAttempts(
    async () => {
      throw ApplicationFailure.retryable('database unavailable');
    },
    async () => void sent++,
  );
  await expect(run({ firstAttempts: [invitation('a')] })).rejects.toThrow('database unavailable');
  expect(sent).toBe(0);
});

test('an attempt that does not answer within the bound is handed to the regular activity; the others are not held by it', async () => {
  const { project } = recorder();
  let release: () => void = () => undefined;
  const hung = new Promise<void>((r) => (release = r));
  const run = withFirstAttempts(project, async (n) => (n.key === 'hung' ? hung : { status: 'sent' }), 50);
  const started = Date.now();
  const out = await run({ courseId: 'c-1', firstAttempts: [invitation('hung'), invitation('quick')] });
  expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  expect(out.firstAttempts).toEqual([
    { key: 'hung', outcome: 'retry' },
    { key: 'quick', outcome: 'sent' },
  ]);
  release();
});
