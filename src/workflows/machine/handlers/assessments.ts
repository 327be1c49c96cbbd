// Assessments: the staff action that sends one (send-assessment), and what the assessment children
// report back: a critical answer (a suicide-risk hold), the end of an assessment (its results, and the
// assessment step it completes), and a critical answer given on a link that had already closed.
import type { AssessmentCriticalSignal, AssessmentFinishedSignal, LateCriticalAnswerInput } from '../../contracts';
import { Rejection } from '../../rejection';
import type { HandlerTable, Progression } from '../progression';

export const assessments = {
  'send-assessment': (m, input, now) => {
    return () => {
      const n = ++m.state.counters.adhoc;
      const stepKey = `adhoc-${n}`;
      const id = `${m.state.courseId}/${stepKey}`;
      m.startAssessment(id, stepKey, [...new Set(input.instruments)], 'staff', now);
      m.event('assessment.triggered', stepKey, input.actor, { assessmentId: id, instruments: input.instruments, reason: input.reason ?? null }, now);
      return { outcome: 'invited', assessmentId: id };
    };
  },
} satisfies HandlerTable;

/** A critical answer on an open assessment: a suicide-risk hold (the assessment has alerted already). */
export function onAssessmentCritical(m: Progression, sig: AssessmentCriticalSignal, now: number): void {
  const a = m.state.assessments[sig.assessmentId];
  if (!a || m.finished) return;
  const holdId = `${sig.assessmentId}/hold`;
  if (m.state.holds.some((h) => h.id === holdId)) return;
  const what = sig.summary?.trim() || sig.codes.join(', ');
  m.addHold({ id: holdId, kind: 'critical-answer', reason: `critical answer on the ${a.stepKey} assessment: ${what}`, level: sig.level, at: now, stepKey: a.stepKey, suicideRisk: true }, now, sig.assessmentId);
  m.courseChanged();
}

/**
 * A critical answer on a link that had closed (expired, used, its assessment cancelled): a
 * suicide-risk hold that only a clinician's review closes, and the safety alerts at once (keyed on
 * the late answer: one email per role, ever). Null when the course has ended: no hold can be opened
 * here any more, and the caller records the item itself.
 */
export function onLateCriticalAnswer(m: Progression, input: LateCriticalAnswerInput, now: number): string | null {
  if (m.finished) return null;
  const holdId = `${input.key}/hold`;
  if (m.state.holds.some((h) => h.id === holdId)) return holdId;
  const stepKey = m.state.assessments[input.assessmentId]?.stepKey ?? null;
  const what = input.summary.trim() || 'suicidal thoughts endorsed';
  m.addHold({ id: holdId, kind: 'critical-answer', reason: `critical answer on an old link (${stepKey ?? input.assessmentId} assessment, answered after it closed): ${what}`, level: input.level, at: now, stepKey, suicideRisk: true }, now, input.assessmentId);
  m.event('assessment.late-critical-answer', stepKey, undefined, { summary: `Critical answer on an old link of the ${stepKey ?? input.assessmentId} assessment, after it closed: ${what}`, assessmentId: input.assessmentId, instruments: input.instrumentIds, holdId, ...(input.responses ? { responses: input.responses } : {}) }, now);
  for (const role of m.protocol.escalation.safetyAlertRoles) {
    if (role === 'client') continue;
    m.notify(`${input.key}/safety-alert-${role}`, 'safety-alert', { kind: 'role', role }, { reason: 'critical-answer', courseId: m.state.courseId, assessmentId: input.assessmentId });
  }
  return holdId;
}

/** An assessment ended: its results are kept, a missed or partial one noticed, its step completed. */
export function onAssessmentFinished(m: Progression, sig: AssessmentFinishedSignal, now: number): void {
  const a = m.state.assessments[sig.assessmentId];
  if (!a || a.status !== 'pending') return;
  a.status = sig.status;
  a.results = m.foldResults(sig.results);
  a.finishedAt = sig.at ?? now;
  m.event(`assessment.${sig.status}`, a.stepKey, undefined, { assessmentId: a.id, instruments: sig.results.map((r) => `${r.instrumentId}:${r.status}`) }, now);
  if (sig.status === 'missed' || sig.status === 'partial') {
    m.notify(`${a.id}/missed-notice`, 'course-notice', { kind: 'role', role: 'coordinator' }, { subjectKey: `assessment-${sig.status}`, courseId: m.state.courseId, assessmentId: a.id });
  }
  const p = m.byId.get(a.stepKey);
  const s = m.state.steps[a.stepKey];
  if (p && s && p.kind === 'assessment' && s.status === 'open' && !m.finished) {
    m.complete(p, s, sig.status, now);
  }
  m.courseChanged();
  m.tick(now);
}
