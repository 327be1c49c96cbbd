// The course of care for one client: one durable workflow per enrolled client, driven by the protocol
// snapshot it was started with. Thin on purpose: the state and every rule live in CourseMachine
// (course-machine.ts); this function registers the messages, applies each input to the machine at the
// input's own time, keeps one timer for the machine's next wake-up, and executes what the machine asks
// for (projections, notifications, assessment workflows). See README.md before changing it.
//
// Time: the machine never reads a clock. An Update applies at its handler's time (workflow Date.now()
// inside the handler: the time of the workflow task that delivered it, recorded in history), an
// assessment's signal at the `at` it carries, a fired timer at its own target. Nothing decides on
// Date.now() at wake-up, so a task replayed at another time (README: the stale-query defect) issues the
// same commands.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type defineUpdate,
} from '@temporalio/workflow';
import type { Protocol } from '../domain/protocol';
import { acts, local } from './activity-proxies';
import { wakeTimer } from './wake-timer';
import { assessmentWorkflowId } from './assessment-machine';
import { CourseMachine, type CourseMachineState } from './course-machine';
import { asFailure, refuseUnsealed, tolerateNotifyFailure } from './failures';
import { isUnusableInput } from './refused';
import {
  COURSE_ACTION_NAMES,
  assessmentCriticalSignal,
  assessmentFinishedSignal,
  courseUpdates,
  getCourseStateQuery,
  recordLateCriticalAnswerUpdate,
  resyncProjectionUpdate,
  type ActionResult,
  type CourseActionInputs,
  type CourseActionName,
  type CourseResult,
} from './messages';
import { KapClinic, KapProtocol, KapStatus, KapStep, KapStepDeadline } from './search-attributes';

export interface CourseInput {
  courseId: string;
  clientId: string;
  clinicId: string;
  /**
   * The course's protocol: the snapshot stored with the course in PostgreSQL (courses.protocol_snapshot),
   * validated once at enrollment. The workflow never loads a protocol by id, so editing a shipped
   * protocol file cannot change how a running course replays (a change is a new protocol version).
   */
  protocol: Protocol;
  /** Protocol days per real day: 1 in production; 86400 makes a protocol day last one second. */
  timeScale?: number;
  primaryClinicianId?: string | null;
  /** Set by continue-as-new: the state carried over from the previous run. */
  carried?: CourseMachineState;
  /** Continue as new once a run's history reaches this many events (default 1,500; the ceiling is 2,000). */
  maxEventsPerRun?: number;
}

const DEFAULT_MAX_EVENTS_PER_RUN = 1500;

export async function courseWorkflow(input: CourseInput): Promise<CourseResult> {
  refuseUnsealed(input);
  const protocol = input.protocol;
  const m = input.carried
    ? new CourseMachine(protocol, input.carried)
    : CourseMachine.create(protocol, { courseId: input.courseId, clientId: input.clientId, clinicId: input.clinicId, timeScale: input.timeScale ?? 1, primaryClinicianId: input.primaryClinicianId ?? null }, Date.now());

  // The latest time an input was applied at: an input never takes the machine back in time (a signal
  // sent before an Update the course already applied is applied at the Update's time).
  let last = Date.now();
  const at = (t: number): number => (last = Math.max(last, t));

  let applied = 0; // inputs applied to the machine
  let flushed = 0; // inputs whose output has been executed (projections written, mail queued)

  // One durable timer, for the machine's next wake-up (src/workflows/wake-timer.ts): its callback
  // ticks the machine at the timer's target, whatever else the activation holds.
  const rearm = wakeTimer({
    next: () => m.nextWake(last),
    fire: (target) => {
      m.tick(at(target));
      applied++;
    },
    notBefore: () => last,
  });

  // An operator's debug read (`temporal workflow query --type getCourseState`): never used by the
  // product or its tools, and it changes nothing. The course's record is in PostgreSQL.
  setHandler(getCourseStateQuery, () => m.view(Math.max(Date.now(), last)));
  for (const name of COURSE_ACTION_NAMES) {
    const update = courseUpdates[name] as ReturnType<typeof defineUpdate<ActionResult, [unknown]>>;
    setHandler(
      update,
      async (raw: unknown): Promise<ActionResult> => {
        const holdsBefore = new Set(m.state.holds.map((h) => h.id));
        const { outcome, reasons, assessmentId } = asFailure(() => m.apply(name as CourseActionName, raw as CourseActionInputs[CourseActionName], at(Date.now())));
        const seq = m.state.counters.event;
        // What the action created: an assessment ('send-assessment'), a safety hold (a held pre-dose check, an adverse event).
        const holdId = m.state.holds.find((h) => !holdsBefore.has(h.id))?.id;
        const ids = { ...(assessmentId ? { assessmentId } : {}), ...(holdId ? { holdId } : {}) };
        const mine = ++applied;
        rearm();
        // Answer once the change is in the database, so the caller reads what it just did.
        await condition(() => flushed >= mine);
        return { outcome, ...(reasons ? { reasons } : {}), ...(Object.keys(ids).length ? { ids } : {}), seq };
      },
      {
        validator: (raw: unknown) => {
          refuseUnsealed(raw);
          return asFailure(() => m.validate(name as CourseActionName, raw as CourseActionInputs[CourseActionName], Math.max(Date.now(), last)));
        },
      },
    );
  }
  // A critical answer on a closed link: a suicide-risk hold and alerts, or `recorded: false` once the
  // course has ended (the API then records the item in PostgreSQL; see src/api/late-answers.ts).
  setHandler(
    recordLateCriticalAnswerUpdate,
    async (late) => {
      const holdId = asFailure(() => m.onLateCriticalAnswer(late, at(Date.now())));
      if (holdId === null) return { recorded: false, holdId: null };
      const mine = ++applied;
      rearm();
      await condition(() => flushed >= mine);
      return { recorded: true, holdId };
    },
    { validator: (raw) => refuseUnsealed(raw) },
  );
  // The record written again as the course holds it, after a workflow task was lost (messages.ts).
  setHandler(
    resyncProjectionUpdate,
    async () => {
      m.resync();
      const mine = ++applied;
      await condition(() => flushed >= mine);
      return { seq: m.state.counters.event };
    },
    { validator: (raw) => refuseUnsealed(raw) },
  );
  // A signal fails only itself: one the codec refused (not sealed by the engine), one without a
  // payload, or one the machine cannot apply is logged (its name and the error's type, never its
  // content) and ignored. It is in history already: failing the task on it would fail every later
  // task of the course too.
  const onSignal = <T>(signal: string, apply: (sig: T) => void) => (sig: T) => {
    if (isUnusableInput(sig)) return void log.warn('ignored a signal whose payload is missing or not sealed by the engine', { signal });
    try {
      apply(sig);
    } catch (err) {
      return void log.warn('ignored a signal the course could not apply', { signal, error: err instanceof Error ? err.name : typeof err });
    }
    applied++;
    rearm();
  };
  setHandler(assessmentCriticalSignal, onSignal('assessmentCritical', (sig) => m.onAssessmentCritical(sig, at(typeof sig.at === 'number' ? sig.at : Date.now()))));
  setHandler(assessmentFinishedSignal, onSignal('assessmentFinished', (sig) => m.onAssessmentFinished(sig, at(typeof sig.at === 'number' ? sig.at : Date.now()))));

  // Operational state only: the suicide-risk level is clinical and stays out of search attributes (it is
  // in the encrypted state and in PostgreSQL, courses.risk_level).
  const sa = { step: undefined as string | null | undefined, deadline: undefined as string | null | undefined, status: '', protocol: `${m.protocol.id}@${m.protocol.version}` };
  const searchAttributes = () => {
    const cur = m.current();
    const changes: Parameters<typeof upsertSearchAttributes>[0] = [];
    if (sa.status === '' && !input.carried) {
      changes.push({ key: KapClinic, value: input.clinicId }, { key: KapProtocol, value: `${protocol.id}@${protocol.version}` });
    }
    if (cur.currentStep !== sa.step) changes.push({ key: KapStep, value: cur.currentStep ?? 'none' });
    if (cur.currentStepDeadline !== sa.deadline) changes.push({ key: KapStepDeadline, value: cur.currentStepDeadline ? new Date(cur.currentStepDeadline) : null });
    if (m.state.status !== sa.status) changes.push({ key: KapStatus, value: m.state.status });
    // A move to another version of the protocol (handlers/versions.ts).
    const followed = `${m.protocol.id}@${m.protocol.version}`;
    if (followed !== sa.protocol) changes.push({ key: KapProtocol, value: followed });
    if (changes.length) upsertSearchAttributes(changes);
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: m.state.status, protocol: followed });
  };
  if (input.carried) {
    const cur = m.current();
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: m.state.status });
  }

  // Emails do not hold up the staff action that caused them: an Update answers once its projection is
  // written, while its messages are still being sent (an SMTP outage must not freeze staff actions).
  // The course waits for every message before it continues as new or ends.
  const sending = new Set<Promise<void>>();
  const flush = async () => {
    while (m.hasOutput()) {
      const seq = applied;
      const out = m.takeOutput();
      // The assessments this output opens: the projection writes their invitation rows and, once
      // that has committed, starts them, all in this workflow task (src/activities/assessment-starts.ts).
      const invitedAt = Date.now();
      const opening = out.startAssessments.map((a) => ({ ...a, invitedAt }));
      const projected = out.projection ?? (opening.length ? { courseId: input.courseId, clinicId: input.clinicId, steps: [], records: [] } : undefined);
      const projection = projected ? local.projectCourse(opening.length ? { ...projected, assessments: { taskQueue: workflowInfo().taskQueue, start: opening } } : projected) : undefined;
      for (const n of out.notifications) {
        const p = tolerateNotifyFailure(acts.notify(n));
        sending.add(p);
        // Awaited in drain(); handled now so a failure in flight is not an unhandled rejection.
        p.then(
          () => sending.delete(p),
          () => sending.delete(p),
        );
      }
      const startingIds = new Set(out.startAssessments.map((a) => a.assessmentId));
      await Promise.all([
        projection,
        ...out.cancelAssessments.map(async (id) => {
          // Started and cancelled by one output (an action in the course's first workflow task, such
          // as a withdrawal right after enrolment): cancel it once it has started, or the cancel
          // would find no workflow and the assessment would run on. Any other cancel goes out at once.
          if (startingIds.has(id)) await projection;
          try {
            await getExternalWorkflowHandle(assessmentWorkflowId(id)).cancel();
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
      if (sending.size) {
        await Promise.all([...sending]);
        continue;
      }
      if (allHandlersFinished() && !m.hasOutput()) return;
      await condition(() => allHandlersFinished() || m.hasOutput());
    }
  };

  /**
   * Drains, then closes (returns or continues as new) in a workflow task apart from the one that
   * answered the Updates drained: a 1 ms timer separates them. The server refuses a closing command
   * when an event (an assessment's signal, an assessment's cancellation) arrived while its task ran
   * (UnhandledCommand) and fails that task; an Update answered in the same task would be lost with it
   * (the caller gets "unexpected workflow task failure", nothing is recorded). Apart, only the closing
   * task fails and the server runs it again with the new event. An Update that arrives together with
   * the timer is still answered in the closing task (README: when an Update can be lost); waiting for
   * a task without one could wait forever while staff keep acting.
   */
  const settle = async () => {
    await drain();
    await sleep(1);
    await drain();
  };

  rearm();
  const maxEvents = input.maxEventsPerRun ?? DEFAULT_MAX_EVENTS_PER_RUN;
  for (;;) {
    await flush();
    if (m.finished) break;
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= maxEvents) {
      // Drain: let every accepted Update finish (each waits for its flush), then carry the state.
      await settle();
      // The machine's protocol, not the input's: a move between versions changed it.
      if (!m.finished) return await continueAsNew<typeof courseWorkflow>({ ...input, protocol: m.protocol, carried: m.state });
      break;
    }
    // Every input is applied by its own handler or timer callback; the loop only executes the output.
    await condition(() => m.hasOutput() || flushed !== applied);
  }
  await settle();
  const s = m.state;
  return {
    courseId: s.courseId,
    status: s.status as CourseResult['status'],
    endReason: s.endReason,
    endedAt: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
    dosesGiven: s.dosesGiven,
    seq: s.counters.event,
  };
}
