// The course of care for one client: one durable workflow per enrolled client, driven by the protocol
// pinned at enrollment. Thin on purpose: the state and every rule live in CourseMachine
// (course-machine.ts); this function registers the messages, runs the wait loop, and executes what the
// machine asks for (projections, notifications, assessment children). See README.md before changing it.
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotifyInput } from '../activities/contracts';
import type { Protocol } from '../domain/protocol';
import { findShippedProtocol } from '../domain/protocols';
import { assessmentWorkflow } from './assessment';
import { assessmentWorkflowId } from './assessment-machine';
import { CourseMachine, type CourseMachineState, type CourseView } from './course-machine';
import { BASELINE, DETACHED_NOTIFY_PATCH, LOCAL_PROJECTION_PATCH, patchOn } from './baseline';
import { LiveTimes, TIMER_CLOCK_PATCH, WorkflowClock } from './clock';
import { asFailure, refuseUnsealed, tolerateNotifyFailure } from './failures';
import { isUnusableInput } from './refused';
import {
  COURSE_ACTION_NAMES,
  assessmentCriticalSignal,
  assessmentFinishedSignal,
  courseUpdates,
  getCourseStateQuery,
  recordLateCriticalAnswerUpdate,
  type ActionResult,
  type CourseActionInputs,
  type CourseActionName,
} from './messages';
import { KapClinic, KapProtocol, KapStatus, KapStep, KapStepDeadline } from './search-attributes';

export { getCourseStateQuery };
export type { CourseView };

export interface CourseInput {
  courseId: string;
  clientId: string;
  clinicId: string;
  protocolId: string;
  protocolVersion: number;
  /** Protocol days per real day: 1 in production; 86400 makes a protocol day last one second. */
  timeScale?: number;
  primaryClinicianId?: string | null;
  /** The pinned protocol itself (a clinic's own protocol); default: the shipped registry's id@version. */
  protocol?: Protocol;
  /** Set by continue-as-new: the state carried over from the previous run. */
  carried?: CourseMachineState;
  /** Continue as new once a run's history reaches this many events (default 1,500; the ceiling is 2,000). */
  maxEventsPerRun?: number;
  /** The patch baseline the starter's code knew (baseline.ts); absent in courses started before baselines. */
  baseline?: number;
}

/** Kept for callers of the first slice: the course state type is the machine's view. */
export type CourseState = CourseView;

type NotifyActivities = { notify(input: NotifyInput): Promise<unknown> };
const acts = proxyActivities<Activities & NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

// The projection is a short, idempotent database write that every staff action waits for: as a local
// activity it runs inside the workflow task, two server round trips sooner and with fewer history
// events. Courses started before this change keep the regular activity (patch below).
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// DETACHED_NOTIFY_PATCH: emails no longer hold up the staff action that caused them: an Update answers
// once its projection is written, while its messages are still being sent (an SMTP outage used to
// freeze staff actions). The course still waits for every message before it continues as new or ends.

const DEFAULT_MAX_EVENTS_PER_RUN = 1500;

export async function courseWorkflow(input: CourseInput): Promise<CourseView> {
  refuseUnsealed(input);
  const protocol = input.protocol ?? findShippedProtocol(input.protocolId, input.protocolVersion);
  if (!protocol) throw ApplicationFailure.nonRetryable(`unknown protocol ${input.protocolId}@${input.protocolVersion}`, 'UnknownProtocol');
  const m = input.carried
    ? new CourseMachine(protocol, input.carried)
    : CourseMachine.create(protocol, { courseId: input.courseId, clientId: input.clientId, clinicId: input.clinicId, timeScale: input.timeScale ?? 1, primaryClinicianId: input.primaryClinicianId ?? null }, Date.now());

  // Decisions run on a clock fed only by what the history holds (see clock.ts); courses started before
  // the patch keep deciding on Date.now().
  const clockPatched = patchOn(input.baseline, TIMER_CLOCK_PATCH);
  const clock = new WorkflowClock(Date.now());
  const stamp = (t: number): number => (clockPatched ? clock.advance(t) : t);
  const decisionTime = (): number => (clockPatched ? clock.now : Date.now());
  const times = new LiveTimes();
  times.saw();

  let applied = 0; // messages applied to the machine
  let flushed = 0; // messages whose output has been executed (projections written, mail queued)

  setHandler(getCourseStateQuery, () => m.view(Date.now()));
  for (const name of COURSE_ACTION_NAMES) {
    const update = courseUpdates[name] as ReturnType<typeof import('@temporalio/workflow').defineUpdate<ActionResult, [unknown]>>;
    setHandler(
      update,
      async (raw: unknown) => {
        times.saw();
        const result = asFailure(() => m.apply(name as CourseActionName, raw as CourseActionInputs[CourseActionName], stamp(Date.now())));
        const mine = ++applied;
        // Answer once the change is in the database, so the caller reads what it just did.
        await condition(() => flushed >= mine);
        const { assessmentId, ...rest } = result;
        return { ...rest, ...(assessmentId ? { ids: { assessmentId } } : {}), seq: m.state.counters.event };
      },
      {
        validator: (raw: unknown) => {
          refuseUnsealed(raw);
          return asFailure(() => m.validate(name as CourseActionName, raw as CourseActionInputs[CourseActionName], Date.now()));
        },
      },
    );
  }
  // A critical answer on a closed link: a suicide-risk hold and alerts, or `recorded: false` once the
  // course has ended (the API then records the item in PostgreSQL; see src/api/late-answers.ts).
  setHandler(
    recordLateCriticalAnswerUpdate,
    async (input) => {
      times.saw();
      const holdId = m.onLateCriticalAnswer(input, stamp(Date.now()));
      if (holdId === null) return { recorded: false, holdId: null };
      const mine = ++applied;
      await condition(() => flushed >= mine);
      return { recorded: true, holdId };
    },
    { validator: (raw) => refuseUnsealed(raw) },
  );
  // A signal the codec refused (not sealed by the engine), or one without a payload, is ignored: it is
  // in history already, and failing the task on it would fail every later task of the course too.
  setHandler(assessmentCriticalSignal, (sig) => {
    if (isUnusableInput(sig)) return void log.warn('ignored a signal whose payload is missing or not sealed by the engine', { signal: 'assessmentCritical' });
    times.saw();
    m.onAssessmentCritical(sig, clockPatched ? clock.advance(sig.at ?? Date.now()) : Date.now());
    applied++;
  });
  setHandler(assessmentFinishedSignal, (sig) => {
    if (isUnusableInput(sig)) return void log.warn('ignored a signal whose payload is missing or not sealed by the engine', { signal: 'assessmentFinished' });
    times.saw();
    m.onAssessmentFinished(sig, clockPatched ? clock.advance(sig.at ?? Date.now()) : Date.now());
    applied++;
  });

  // Operational state only: the suicide-risk level is clinical and stays out of search attributes (it is
  // in the encrypted state and in PostgreSQL, courses.risk_level). Histories from before this change
  // hold a KapRiskLevel upsert; replay does not compare an upsert's attributes.
  const sa = { step: undefined as string | null | undefined, deadline: undefined as string | null | undefined, status: '' };
  const searchAttributes = () => {
    const cur = m.current();
    const changes: Parameters<typeof upsertSearchAttributes>[0] = [];
    if (sa.status === '' && !input.carried) {
      changes.push({ key: KapClinic, value: input.clinicId }, { key: KapProtocol, value: `${protocol.id}@${protocol.version}` });
    }
    if (cur.currentStep !== sa.step) changes.push({ key: KapStep, value: cur.currentStep ?? 'none' });
    if (cur.currentStepDeadline !== sa.deadline) changes.push({ key: KapStepDeadline, value: cur.currentStepDeadline ? new Date(cur.currentStepDeadline) : null });
    if (m.state.status !== sa.status) changes.push({ key: KapStatus, value: m.state.status });
    if (changes.length) upsertSearchAttributes(changes);
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: m.state.status });
  };
  if (input.carried) {
    const cur = m.current();
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: m.state.status });
  }

  const sending: Promise<void>[] = []; // detached notifications still in flight
  const flush = async () => {
    while (m.hasOutput()) {
      const seq = applied;
      const out = m.takeOutput();
      // Commands keep their order (projection, messages, children): replay of older histories depends on it.
      const projection = out.projection ? times.track(patchOn(input.baseline, LOCAL_PROJECTION_PATCH) ? local.projectCourse(out.projection) : acts.projectCourse(out.projection)) : undefined;
      const notes = out.notifications.map((n) => times.track(tolerateNotifyFailure(acts.notify(n))));
      const detach = notes.length > 0 && patchOn(input.baseline, DETACHED_NOTIFY_PATCH);
      if (detach) {
        // Awaited in drain(); marked handled now so a failure in flight is not an unhandled rejection.
        for (const n of notes) n.catch(() => undefined);
        sending.push(...notes);
      }
      await Promise.all([
        projection,
        ...(detach ? [] : notes),
        ...out.startAssessments.map(async (a) => {
          try {
            await times.track(startChild(assessmentWorkflow, {
              workflowId: assessmentWorkflowId(a.assessmentId),
              // A new assessment runs on the current baseline, whatever the course's own (an input
              // is not part of replay: a course replaying its start of an older child is unaffected).
              args: [{ ...a, baseline: BASELINE }],
              // The assessment reports back by signal to the course's workflow id, so it survives
              // the course continuing as new.
              parentClosePolicy: ParentClosePolicy.ABANDON,
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            }));
          } catch (err) {
            if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
          }
        }),
        ...out.cancelAssessments.map(async (id) => {
          try {
            await times.track(getExternalWorkflowHandle(assessmentWorkflowId(id)).cancel());
          } catch {
            // already finished
          }
        }),
      ]);
      searchAttributes();
      flushed = seq;
    }
    searchAttributes();
    flushed = applied;
  };

  /** Flushes until no handler is running, nothing is left to execute and every message is sent. */
  const drain = async () => {
    for (;;) {
      await flush();
      if (sending.length) {
        await Promise.all(sending.splice(0));
        continue;
      }
      if (allHandlersFinished() && !m.hasOutput()) return;
      await condition(() => allHandlersFinished() || m.hasOutput());
    }
  };

  const maxEvents = input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN;
  for (;;) {
    await flush();
    if (m.finished) break;
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= maxEvents) {
      // Drain: let every accepted Update finish (each waits for its flush), then carry the state.
      await drain();
      if (!m.finished) return await continueAsNew<typeof courseWorkflow>({ ...input, carried: m.state });
      break;
    }
    const wake = m.nextWakeAt(decisionTime());
    const seen = applied;
    if (wake === null) await condition(() => applied !== seen || m.hasOutput());
    else if (!(await condition(() => applied !== seen || m.hasOutput(), Math.max(wake - Date.now(), 1)))) {
      // The timer fired: its target is the time the machine advances to.
      times.checkTimer(wake);
      clock.advance(wake);
    }
    times.saw();
    m.tick(decisionTime());
  }
  await drain();
  return m.view(Date.now());
}
