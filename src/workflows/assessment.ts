// One assessment as a child workflow of the course: invitation, reminders, expiry, scoring, and at
// once on a critical answer a clinician alert plus a safety-hold signal to the course.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotifyInput } from '../activities/contracts';
import type { AssessmentRecord } from '../activities/course-records';
import { AssessmentMachine, instrumentAssessmentId, type AssessmentInput } from './assessment-machine';
import { NOTIFY_OUTLIVES_CANCEL_PATCH, patchOn } from './baseline';
import { LiveTimes, TIMER_CLOCK_PATCH } from './clock';
import { asFailure, refuseUnsealed, tolerateNotifyFailure } from './failures';
import {
  assessmentCriticalSignal,
  assessmentFinishedSignal,
  getAssessmentQuery,
  submitAnswersUpdate,
  type AssessmentFinishedSignal,
} from './messages';

type NotifyActivities = { notify(input: NotifyInput): Promise<unknown> };
const acts = proxyActivities<Activities & NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function assessmentWorkflow(input: AssessmentInput): Promise<AssessmentFinishedSignal> {
  refuseUnsealed(input);
  const m = new AssessmentMachine(input, Date.now());
  // Reminder and expiry decisions use the fired timer's target, not Date.now() (see clock.ts).
  const clockPatched = patchOn(input.baseline, TIMER_CLOCK_PATCH);
  const times = new LiveTimes();
  times.saw();
  // A message already handed to the notify activity is seen through when the assessment is cancelled
  // (the course moved on or ended): cancelling it mid-attempt left its outbox row claimed for good.
  const notifyOutlivesCancel = patchOn(input.baseline, NOTIFY_OUTLIVES_CANCEL_PATCH);
  // From baseline 1 the rows are written by a local activity, inside the workflow task: one activity
  // task, one workflow task and five history events fewer per write (an enrollment makes one).
  const record = (input.baseline ?? 0) >= 1 ? (a: { assessments: AssessmentRecord[] }) => local.recordAssessments(a) : (a: { assessments: AssessmentRecord[] }) => acts.recordAssessments(a);
  const inflight = new Set<Promise<unknown>>();
  const notify = (n: NotifyInput): Promise<unknown> => {
    if (!notifyOutlivesCancel) return times.track(acts.notify(n));
    const p = times.track(CancellationScope.nonCancellable(() => acts.notify(n)));
    inflight.add(p);
    const done = () => void inflight.delete(p);
    p.then(done, done);
    return p;
  };
  const iso = (t: number) => new Date(t).toISOString();
  let applied = 0;
  let flushed = 0;
  let alertPending = false;
  const dirty = new Set<string>();

  setHandler(getAssessmentQuery, () => m.view());
  setHandler(
    submitAnswersUpdate,
    async (sub) => {
      times.saw();
      const r = asFailure(() => m.accept(sub, Date.now()));
      if (r.becameCritical) alertPending = true;
      dirty.add(sub.instrumentId);
      const mine = ++applied;
      await condition(() => flushed >= mine);
      return r.reply;
    },
    {
      validator: (sub) => {
        refuseUnsealed(sub);
        asFailure(() => m.score(sub, Date.now()));
      },
    },
  );

  const rows = (only?: Set<string>): AssessmentRecord[] =>
    m.instruments
      .filter((i) => !only || only.has(i.instrumentId))
      .map((i) => ({
        id: instrumentAssessmentId(input.assessmentId, i.instrumentId),
        courseId: input.courseId,
        clinicId: input.clinicId,
        stepKey: input.stepKey,
        instrumentId: i.instrumentId,
        status: i.status,
        trigger: input.trigger,
        invitedAt: iso(m.invitedAt),
        expiresAt: iso(m.expiresAt),
        completedAt: i.answeredAt !== null ? iso(i.answeredAt) : null,
        total: i.score?.total ?? null,
        band: i.score?.band ?? null,
        critical: i.score?.critical ?? false,
        flags: i.score?.flags ?? [],
        ...(i.answers ? { answers: i.answers.map((value, k) => ({ item: i.instrumentId === 'cssrs' && k === 6 ? '6b' : String(k + 1), value })) } : {}),
      }));

  const base = { courseId: input.courseId, clinicId: input.clinicId };
  const flush = async () => {
    while (alertPending || dirty.size > 0) {
      const seq = applied;
      const work: Array<Promise<unknown>> = [];
      if (alertPending && m.critical) {
        alertPending = false;
        const critical = m.critical;
        // Clinicians first (the email names no answer), and the course's safety hold at once, with what was
        // endorsed (the hold's reason staff read; payloads are sealed by the codec).
        for (const role of input.safetyAlertRoles) {
          work.push(tolerateNotifyFailure(notify({ ...base, key: `${input.assessmentId}/safety-alert-${role}`, template: 'safety-alert', recipient: { kind: 'role', role }, data: { reason: 'critical-answer', courseId: input.courseId, assessmentId: input.assessmentId } })));
        }
        work.push(signalParent(() => getExternalWorkflowHandle(input.parentWorkflowId).signal(assessmentCriticalSignal, { assessmentId: input.assessmentId, level: critical.level, codes: critical.codes, ...(critical.summary ? { summary: critical.summary } : {}), at: Date.now() })));
      }
      if (dirty.size > 0) {
        const only = new Set(dirty);
        dirty.clear();
        work.push(times.track(record({ assessments: rows(only) })));
      }
      await Promise.all(work);
      flushed = seq;
    }
    flushed = applied;
  };

  try {
    await Promise.all([
      times.track(record({ assessments: rows() })),
      tolerateNotifyFailure(notify({ ...base, key: `${input.assessmentId}/invitation`, template: 'assessment-invitation', recipient: { kind: 'client' }, data: { assessmentId: input.assessmentId, instrumentIds: input.instruments.join(','), expiresAt: iso(m.expiresAt) } })),
    ]);
    while (!m.done) {
      await flush();
      if (m.done) break;
      const now = Date.now();
      const reminder = m.nextReminderAt();
      const until = Math.min(reminder ?? Infinity, m.expiresAt);
      const seen = applied;
      const woke = await condition(() => applied !== seen || m.done, Math.max(until - now, 1));
      if (woke) {
        times.saw();
        continue;
      }
      times.checkTimer(until);
      const at = clockPatched ? until : Date.now();
      if (at >= m.expiresAt) {
        m.expire();
        for (const i of m.instruments) dirty.add(i.instrumentId);
      } else if (reminder !== null && at >= reminder) {
        m.remindersSent++;
        await tolerateNotifyFailure(notify({ ...base, key: `${input.assessmentId}/reminder-${m.remindersSent}`, template: 'assessment-reminder', recipient: { kind: 'client' }, data: { assessmentId: input.assessmentId, expiresAt: iso(m.expiresAt), reminderNumber: m.remindersSent } }));
      }
    }
    await flush();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    m.cancel();
    await CancellationScope.nonCancellable(async () => {
      await record({ assessments: rows() });
      await Promise.all([...inflight].map((p) => p.catch(() => undefined)));
    });
  }
  await condition(allHandlersFinished);
  const finished: AssessmentFinishedSignal = { assessmentId: input.assessmentId, status: m.overallStatus(), results: m.results(), at: Date.now() };
  if (!m.cancelled) await signalParent(() => getExternalWorkflowHandle(input.parentWorkflowId).signal(assessmentFinishedSignal, finished));
  return finished;
}

/** The course may already be closed (withdrawn, completed): nothing to tell it then. */
async function signalParent(send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (isCancellation(err)) throw err;
  }
}
