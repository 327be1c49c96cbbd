// The client's side of a lost workflow task (src/client/course-actions.ts): when the server answers an
// action with "unexpected workflow task failure" (the task that carried it was lost, e.g. its worker
// died), the course's record is written again from the course before the caller is told, and the
// caller gets a 409 that says the course did not record the action. Any other failure sends nothing more.
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError } from '../../../src/errors';
import { executeCourseAction } from '../../../src/client/course-actions';

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
    const err = await executeCourseAction(temporal, 'c-1', 'vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 128, diastolic: 80 }, actor: { role: 'prescriber' } } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code, message: expect.stringMatching(/checked-in/) });
    expect(sent.map((s) => s.update)).toEqual(['vitals', 'resyncProjection']);
  });

  test('malformed input (400) is not about the course state: nothing more is sent', async () => {
    const { temporal, sent } = fakeTemporal(() => refused('InvalidInput', 'vitals: atMinutes: expected number'));
    const err = await executeCourseAction(temporal, 'c-1', 'vitals', { stepKey: 'dose-1' } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input' });
    expect(sent.map((s) => s.update)).toEqual(['vitals']);
  });
});
