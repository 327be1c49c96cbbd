// The course of care for one client: one durable workflow per enrolled client, driven by the protocol
// snapshot it was started with. Thin on purpose: the state and every rule live in CourseMachine
// (course-machine.ts); this function registers the messages, applies each input to the machine at the
// input's own time, keeps one timer for the next wake-up, and executes what the machine asks for
// (projections, notifications). It also holds the course's open assessments (forms.ts: invitation,
// the client's answers as Updates, reminders, expiry). See README.md before changing it.
//
// Time: the machine never reads a clock. An Update applies at its handler's time (workflow Date.now()
// inside the handler: the time of the workflow task that delivered it, recorded in history), a fired
// timer at its own target. Nothing decides on
// Date.now() at wake-up, so a task replayed at another time (README: the stale-query defect) issues the
// same commands.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type defineUpdate,
} from '@temporalio/workflow';
import type { Protocol } from '../domain/protocol';
import type { NotifyInput } from '../activities/contracts';
import { acts, local } from './activity-proxies';
import { wakeTimer, type Wake } from './wake-timer';
import type { AssessmentState } from './assessment-machine';
import { CourseMachine, type CourseMachineState } from './course-machine';
import { Forms } from './forms';
import { asFailure, refuseUnsealed, tolerateNotifyFailure } from './failures';
import { isUnusableInput } from './refused';
import {
  COURSE_ACTION_NAMES,
  courseUpdates,
  getCourseStateQuery,
  recordLateCriticalAnswerUpdate,
  resyncProjectionUpdate,
  submitAnswersUpdate,
  type ActionResult,
  type CourseActionInputs,
  type CourseActionName,
  type CourseResult,
} from './messages';
import { KapClinic, KapProtocol, KapStatus, KapStep, KapStepDeadline, searchStatus } from './search-attributes';

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
  /** Set by continue-as-new: the assessments open when the previous run ended (forms.ts). */
  forms?: AssessmentState[];
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

  const forms = new Forms(input.forms ?? []);
  // The forms the machine opens or cancels, applied at once, where the machine asked: before this
  // function registers its handlers (an answer delivered with the course's first task, when that task
  // was lost once after its projection committed and runs again, finds its form open), and after every
  // input. Their rows and emails go out with the next flush.
  const syncForms = (): void => {
    const { start, cancel } = m.takeFormChanges();
    if (!start.length && !cancel.length) return;
    const now = Math.max(Date.now(), last);
    for (const a of start) forms.start(a, now);
    for (const id of cancel) forms.cancel(id);
    rearm();
  };

  // The latest time an input was applied at: an input never takes the machine back in time.
  let last = Date.now();
  const at = (t: number): number => (last = Math.max(last, t));

  let applied = 0; // inputs applied to the machine
  let flushed = 0; // inputs whose output has been executed (projections written, mail queued)

  // One durable timer, for the next wake-up of the machine or of an open form, whichever is first
  // (src/workflows/wake-timer.ts): its callback applies both at the timer's target, whatever else the
  // activation holds. A paused course's forms keep their own clock (their reminders and expiry). Once
  // the run is closing for continue-as-new, the forms' wake-ups wait for the next run (they cross with
  // the forms, and one already due fires at once there), so the drain does not grow the run.
  let closing = false;
  const rearm = wakeTimer({
    next: () => earliest(m.nextWake(last), closing ? null : forms.nextWake()),
    fire: (target) => {
      const t = at(target);
      for (const ended of forms.fire(t)) m.onAssessmentFinished(ended, t);
      m.tick(t);
      syncForms();
      applied++;
    },
    notBefore: () => last,
  });
  syncForms(); // the screening's form, opened by CourseMachine.create (or none on a continued run)

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
        syncForms();
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
  // The client's answers to one instrument of an open form (forms.ts). A critical answer opens the
  // course's suicide-risk hold in this same handler, and the form's end completes its step.
  setHandler(
    submitAnswersUpdate,
    async (sub) => {
      const t = at(Date.now());
      const r = asFailure(() => forms.answer(sub, t));
      for (const critical of r.critical) m.onAssessmentCritical(critical, t);
      for (const ended of r.finished) m.onAssessmentFinished(ended, t);
      syncForms();
      const mine = ++applied;
      rearm();
      await condition(() => flushed >= mine);
      return r.reply;
    },
    {
      validator: (sub) => {
        refuseUnsealed(sub);
        asFailure(() => forms.validate(sub, Math.max(Date.now(), last)));
      },
    },
  );
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
    if (searchStatus(m.state.status) !== sa.status) changes.push({ key: KapStatus, value: searchStatus(m.state.status) });
    // A move to another version of the protocol (handlers/versions.ts).
    const followed = `${m.protocol.id}@${m.protocol.version}`;
    if (followed !== sa.protocol) changes.push({ key: KapProtocol, value: followed });
    if (changes.length) upsertSearchAttributes(changes);
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: searchStatus(m.state.status), protocol: followed });
  };
  if (input.carried) {
    const cur = m.current();
    Object.assign(sa, { step: cur.currentStep, deadline: cur.currentStepDeadline, status: searchStatus(m.state.status) });
  }

  // Emails do not hold up the staff action that caused them: an Update answers once its projection is
  // written, while its messages are still being sent (an SMTP outage must not freeze staff actions).
  // The course waits for every message before it continues as new or ends.
  const sending = new Set<Promise<void>>();
  const send = (n: NotifyInput): void => {
    const p = tolerateNotifyFailure(acts.notify(n));
    sending.add(p);
    // Awaited in drain(); handled now so a failure in flight is not an unhandled rejection.
    const done = () => void sending.delete(p);
    p.then(done, done);
  };
  const pending = () => m.hasOutput() || forms.hasOutput();
  const flush = async () => {
    while (pending()) {
      const seq = applied;
      syncForms(); // (already applied where the machine asked; this is a safety net)
      const out = m.takeOutput();
      const f = forms.take();
      // Their rows go into the projection's statement: invitations written once, answers as they stand.
      const rows = f.opened.length || f.records.length ? { invite: f.opened, record: f.records } : undefined;
      const projected = out.projection ?? (rows ? { courseId: input.courseId, clinicId: input.clinicId, steps: [], records: [] } : undefined);
      // An invitation goes out once its rows are written (its link reads them). When no Update waits on
      // this task (the course's first task, a timer's), its first attempt runs in the projection's own
      // local activity, after the rows are committed (src/activities/first-attempts.ts): a local
      // activity holds the task's other commands until it ends, and emails must never hold up a staff
      // action (decided now, before this task's Updates are answered, and replayed the same). Otherwise,
      // and when that attempt did not settle it, the regular activity sends it.
      const firstAttempts = projected && allHandlersFinished() ? f.invitations : [];
      const projection = projected
        ? local.projectCourse({ ...projected, ...(rows ? { assessments: rows } : {}), ...(firstAttempts.length ? { firstAttempts } : {}), seq: m.state.counters.event })
        : undefined;
      for (const n of [...out.notifications, ...f.notifications]) send(n);
      const written = await projection;
      const settled = new Set((written?.firstAttempts ?? []).filter((a) => a.outcome !== 'retry').map((a) => a.key));
      for (const n of f.invitations) if (!settled.has(n.key)) send(n);
      searchAttributes();
      // The projection found rows a lost workflow task wrote (its worker died after its projection
      // committed; a timer's or a signal's task as well as an Update's): the course's whole record is
      // written again in this task, and this task's callers are answered once it is
      // (activities/projections.ts `lost`).
      if (written?.lost && !out.projection?.resync) {
        m.resync();
        continue;
      }
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
      if (allHandlersFinished() && !pending()) return;
      await condition(() => allHandlersFinished() || pending());
    }
  };

  /**
   * Drains, then closes (returns or continues as new) in a workflow task apart from the one that
   * answered the Updates drained: a 1 ms timer separates them. The server refuses a closing command
   * when an event (a signal, an activity's result) arrived while its task ran
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
      closing = true;
      rearm();
      await settle();
      // The machine's protocol, not the input's: a move between versions changed it.
      if (!m.finished) return await continueAsNew<typeof courseWorkflow>({ ...input, protocol: m.protocol, carried: m.state, forms: forms.carried() });
      break;
    }
    // Every input is applied by its own handler or timer callback; the loop only executes the output.
    await condition(() => pending() || flushed !== applied);
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

/** The earlier of two wake-ups. */
function earliest(a: Wake | null, b: Wake | null): Wake | null {
  return !a ? b : !b ? a : b.at < a.at ? b : a;
}
