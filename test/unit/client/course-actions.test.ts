// The client's side of a lost workflow task (src/client/course-actions.ts): when the server answers an
// action with "unexpected workflow task failure" (the task that carried it was lost, e.g. its worker
// died), the course's record is written again from the course before the caller is told, and the
// caller gets a 409 that says the course did not record the action. Any other failure sends nothing more.
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError } from '../../../src/errors';
import { executeCourseAction, REFUSED_RESYNC_WINDOW_MS } from '../../../src/client/course-actions';

type Sent = { workflowId: string; update: string };

/** A Temporal client whose course answers each Update by `answer(updateName)`. */
function fakeTemporal(answer: (update: string) => unknown): { temporal: Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const temporal = {
    workflow: {
      getHandle: (workflowId: string) => ({
        executeUpdate: async (def: { name: string }) => {
          sent.push({ workflowId, update: def.name });
          const a = answer(def.name);
          if (a instanceof Error) throw a;
          return a;
        },
        describe: async () => ({ status: { name: 'RUNNING' } }),
      }),
    },
  } as unknown as Client;
  return { temporal, sent };
}
/** The shape the SDK gives a gRPC FAILED_PRECONDITION from the server, under its own error. */
const lostTask = () => new Error('Unexpected error while making gRPC request', { cause: Object.assign(new Error('9 FAILED_PRECONDITION: unexpected workflow task failure'), { code: 9, details: 'unexpected workflow task failure' }) });
const DOSE = { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'L1', actor: { role: 'prescriber' } } as never;

test('an action lost with its workflow task: the record is written again, then a conflict saying the course did not record it', async () => {
  const { temporal, sent } = fakeTemporal((u) => (u === 'dose' ? lostTask() : { seq: 12 }));
  const err = await executeCourseAction(temporal, 'c-1', 'dose', DOSE).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ code: 'conflict' });
  expect((err as Error).message).toMatch(/did not record it/);
  expect((err as Error).message).toMatch(/written again from the course/);
  expect(sent.map((s) => s.update)).toEqual(['dose', 'resyncProjection']);
  expect(new Set(sent.map((s) => s.workflowId)).size).toBe(1);
});

test('when the resync cannot be sent either, the conflict still says the action was not recorded, and does not claim a rewrite', async () => {
  const { temporal, sent } = fakeTemporal(() => lostTask());
  const err = await executeCourseAction(temporal, 'c-1', 'dose', DOSE).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'conflict' });
  expect((err as Error).message).toMatch(/did not record it/);
  expect((err as Error).message).not.toMatch(/written again/);
  expect(sent.map((s) => s.update)).toEqual(['dose', 'resyncProjection']);
});

test('an ordinary failure (the server unreachable) sends no resync', async () => {
  const { temporal, sent } = fakeTemporal(() => Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14, details: 'connection refused' }));
  const err = await executeCourseAction(temporal, 'c-1', 'dose', DOSE).catch((e: unknown) => e);
  expect(err).not.toBeInstanceOf(AppError);
  expect(sent.map((s) => s.update)).toEqual(['dose']);
});

describe('a refusal', () => {
  const refused = (type: string, message: string) => new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));

  test.each([
    ['InvalidTransition', 'conflict'],
    ['ClinicallyRefused', 'unprocessable'],
  ])('%s: the record is written again from the course before the refusal (%s) is answered', async (type, code) => {
    const { temporal, sent } = fakeTemporal((u) => (u === 'vitals' ? refused(type, 'dose-1: monitoring vitals are recorded after the dose (session is checked-in)') : { seq: 9 }));
    const err = await executeCourseAction(temporal, `c-${type}`, 'vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 128, diastolic: 80 }, actor: { role: 'prescriber' } } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code, message: expect.stringMatching(/checked-in/) });
    expect(sent.map((s) => s.update)).toEqual(['vitals', 'resyncProjection']);
  });

  test('malformed input (400) is not about the course state: nothing more is sent', async () => {
    const { temporal, sent } = fakeTemporal(() => refused('InvalidInput', 'vitals: atMinutes: expected number'));
    const err = await executeCourseAction(temporal, 'c-1', 'vitals', { stepKey: 'dose-1' } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input' });
    expect(sent.map((s) => s.update)).toEqual(['vitals']);
  });

  test('refusals on one course in quick succession share one resync; after the window, or on another course, each sends its own', async () => {
    const now = jest.spyOn(Date, 'now');
    try {
      let t = 1_000_000;
      now.mockImplementation(() => t);
      const { temporal, sent } = fakeTemporal((u) => (u === 'pause' ? refused('InvalidTransition', 'the course is paused already') : { seq: 3 }));
      const refuse = (course: string) => executeCourseAction(temporal, course, 'pause', { reason: 'x' } as never).catch((e: unknown) => e);
      // An integration sending the same refused action five times at once, then again 1.9 s later.
      const errs = await Promise.all([1, 2, 3, 4, 5].map(() => refuse('c-burst')));
      for (const e of errs) expect(e).toMatchObject({ code: 'conflict' });
      t += REFUSED_RESYNC_WINDOW_MS - 100;
      await refuse('c-burst');
      expect(sent.filter((s) => s.update === 'resyncProjection')).toHaveLength(1);
      // Another course is not held back by this one.
      await refuse('c-other');
      expect(sent.filter((s) => s.update === 'resyncProjection').map((s) => s.workflowId)).toEqual([expect.stringContaining('c-burst'), expect.stringContaining('c-other')]);
      // Past the window the next refusal resyncs again.
      t += 200;
      await refuse('c-burst');
      expect(sent.filter((s) => s.update === 'resyncProjection')).toHaveLength(3);
      expect(sent.filter((s) => s.update === 'pause')).toHaveLength(8);
    } finally {
      now.mockRestore();
    }
  });

  test('a lost task always sends its own resync, even right after a refusal resynced the course', async () => {
    const { temporal, sent } = fakeTemporal((u) => (u === 'pause' ? refused('InvalidTransition', 'the course is paused already') : u === 'dose' ? lostTask() : { seq: 3 }));
    await executeCourseAction(temporal, 'c-lost-after-refusal', 'pause', { reason: 'x' } as never).catch(() => undefined);
    const err = await executeCourseAction(temporal, 'c-lost-after-refusal', 'dose', DOSE).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'conflict', message: expect.stringMatching(/written again from the course/) });
    expect(sent.map((s) => s.update)).toEqual(['pause', 'resyncProjection', 'dose', 'resyncProjection']);
  });
});
