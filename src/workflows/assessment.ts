// One assessment as a workflow of its own, started by the course (src/activities/assessment-starts.ts):
// invitation, reminders, expiry, scoring, and at once on a critical answer a clinician alert plus a
// safety-hold signal to the course.
//
// Time, as in course.ts: an answer applies at its Update handler's time, the one timer (next reminder
// or expiry) at its own target; the signals to the course carry the time of what they report.
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import type { NotifyInput } from '../activities/contracts';
import type { AssessmentRecord } from '../activities/course-records';
import { isoTime as iso } from '../domain/time';
import { acts, local, notifyLocalFirst } from './activity-proxies';
import { wakeTimer } from './wake-timer';
import { AssessmentMachine, type AssessmentInput } from './assessment-machine';
import { asFailure, refuseUnsealed, tolerateNotifyFailure } from './failures';
import { assessmentCriticalSignal, assessmentFinishedSignal, submitAnswersUpdate, type AssessmentFinishedSignal } from './messages';

export async function assessmentWorkflow(input: AssessmentInput): Promise<AssessmentFinishedSignal> {
  refuseUnsealed(input);
  const m = new AssessmentMachine(input, input.invitedAt ?? Date.now());
  let last = m.invitedAt; // the latest time an input was applied at
  const at = (t: number): number => (last = Math.max(last, t));
  // A message already handed to the notify activity is seen through when the assessment is cancelled
  // (the course moved on or ended): cancelling it mid-attempt would leave its outbox row claimed for good.
  const inflight = new Set<Promise<unknown>>();
  const notify = (n: NotifyInput, send: (n: NotifyInput) => Promise<unknown> = acts.notify): Promise<unknown> => {
    const p = CancellationScope.nonCancellable(() => send(n));
    inflight.add(p);
    const done = () => void inflight.delete(p);
    p.then(done, done);
    return p;
  };
  // Emails never hold up the assessment: the invitation goes out beside the wait loop, and a reminder
  // or a safety alert beside the write that caused it, so a client's answers, a critical answer's
  // signal to the course and the expiry never wait for SMTP (an outage, or an uncertain send waiting
  // out its outbox lease). The assessment sees every email through before it ends.
  const sending = new Set<Promise<void>>();
  const send = (n: NotifyInput, how?: (n: NotifyInput) => Promise<unknown>): void => {
    const p = tolerateNotifyFailure(notify(n, how));
    sending.add(p);
    const done = () => void sending.delete(p);
    p.then(done, done);
  };
  const record = (a: { assessments: AssessmentRecord[] }) => local.recordAssessments(a);
  let applied = 0;
  let flushed = 0;
  let alert: { at: number } | null = null; // a critical answer whose alerts and signal are not sent yet
  const reminders: number[] = []; // reminder numbers due, not sent yet
  const dirty = new Set<string>();

  // One durable timer, for the next reminder or the expiry; its callback applies it at its target.
  // Defined before the handler: an Update that reaches a new run is delivered as setHandler runs.
  const rearm = wakeTimer({
    next: () => (m.done ? null : m.nextWake()),
    fire: (target) => {
      fire(at(target));
      applied++;
    },
    notBefore: () => last,
  });
  const fire = (t: number): void => {
    if (m.done) return;
    if (t >= m.expiresAt) {
      m.expire();
      for (const i of m.instruments) dirty.add(i.instrumentId);
      return;
    }
    const reminder = m.nextReminderAt();
    if (reminder !== null && t >= reminder) reminders.push(++m.remindersSent);
  };

  setHandler(
    submitAnswersUpdate,
    async (sub) => {
      const t = at(Date.now());
      const r = asFailure(() => m.accept(sub, t));
      if (r.becameCritical) alert = { at: t };
      dirty.add(sub.instrumentId);
      const mine = ++applied;
      rearm();
      await condition(() => flushed >= mine);
      return r.reply;
    },
    {
      validator: (sub) => {
        refuseUnsealed(sub);
        asFailure(() => m.score(sub, Math.max(Date.now(), last)));
      },
    },
  );

  const base = { courseId: input.courseId, clinicId: input.clinicId };
  const pending = () => alert !== null || dirty.size > 0 || reminders.length > 0;
  const flush = async () => {
    while (pending()) {
      const seq = applied;
      const work: Array<Promise<unknown>> = [];
      if (alert && m.critical) {
        const sentAt = alert.at;
        alert = null;
        const critical = m.critical;
        // Clinicians first (the email names no answer), and the course's safety hold at once, with what was
        // endorsed (the hold's reason staff read; payloads are sealed by the codec).
        for (const role of input.safetyAlertRoles) {
          send({ ...base, key: `${input.assessmentId}/safety-alert-${role}`, template: 'safety-alert', recipient: { kind: 'role', role }, data: { reason: 'critical-answer', courseId: input.courseId, assessmentId: input.assessmentId } });
        }
        work.push(signalParent(() => getExternalWorkflowHandle(input.parentWorkflowId).signal(assessmentCriticalSignal, { assessmentId: input.assessmentId, level: critical.level, codes: critical.codes, ...(critical.summary ? { summary: critical.summary } : {}), at: sentAt })));
      }
      alert = null;
      for (const n of reminders.splice(0)) {
        send({ ...base, key: `${input.assessmentId}/reminder-${n}`, template: 'assessment-reminder', recipient: { kind: 'client' }, data: { assessmentId: input.assessmentId, expiresAt: iso(m.expiresAt), reminderNumber: n } });
      }
      if (dirty.size > 0) {
        const only = new Set(dirty);
        dirty.clear();
        work.push(record({ assessments: m.records(only) }));
      }
      await Promise.all(work);
      flushed = seq;
    }
    flushed = applied;
  };

  try {
    // Started by a course, its projection wrote the invitation rows already (AssessmentInput.invitedAt).
    const rowsWritten = input.invitedAt === undefined ? record({ assessments: m.records() }) : undefined;
    // The invitation's first attempt is a local activity in this first task (activity-proxies.ts):
    // nothing waits on this task yet, as the client has no link before the email.
    send({ ...base, key: `${input.assessmentId}/invitation`, template: 'assessment-invitation', recipient: { kind: 'client' }, data: { assessmentId: input.assessmentId, instrumentIds: input.instruments.join(','), expiresAt: iso(m.expiresAt) } }, notifyLocalFirst);
    await rowsWritten;
    rearm();
    while (!m.done) {
      await flush();
      if (m.done) break;
      await condition(() => m.done || pending() || flushed !== applied);
    }
    await flush();
    // Every email handed over is seen through before the assessment reports and ends.
    await Promise.all([...sending]);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    m.cancel();
    await CancellationScope.nonCancellable(async () => {
      await record({ assessments: m.records() });
      await Promise.all([...inflight].map((p) => p.catch(() => undefined)));
    });
  }
  await condition(allHandlersFinished);
  const finished: AssessmentFinishedSignal = { assessmentId: input.assessmentId, status: m.overallStatus(), results: m.results(), at: last };
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
