// Assessments: the staff action that sends one (send-assessment), and what the course's open forms
// report back: a critical answer (a suicide-risk hold), the end of an assessment (its results, and the
// assessment step it completes, and in maintenance the booster rule on its PHQ-9), and a critical
// answer given on a link that had already closed.
import type { AssessmentCriticalSignal, AssessmentFinishedSignal, LateCriticalAnswerInput } from '../../contracts';
import { Rejection } from '../../rejection';
import { boosterSuggestion } from '../../../domain/rules/booster';
import type { AssessmentRuntime } from '../state';
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
  onMaintenancePhq9(m, a, now);
  m.courseChanged();
  m.tick(now);
}

// ---------------------------------------------------------------- maintenance: the booster rule
// Read on every PHQ-9 the client answers while the course is in maintenance (a follow-up's, an ad-hoc
// one, a booster's before-dose one). `boosterSuggestion` (src/domain/rules/booster.ts) compares it with
// the post-course PHQ-9: 'suggest-booster' adds a booster (the prescriber still records its pre-dose
// check and gives the dose), 'not-yet' waits for the boosters' minimum spacing (the progression adds it
// then), 'review' opens a prescriber's booster review. Boosters by interval are the progression's (by
// time). Only the decision and its reason codes reach the timeline, never the scores.

const DAY = 24 * 3_600_000;

/** The completed PHQ-9 total of an assessment, if it has one. */
function phq9Total(a: AssessmentRuntime | undefined): number | null {
  const r = a?.results.find((x) => x.instrumentId === 'phq9' && x.status === 'completed' && typeof x.total === 'number');
  return r ? r.total : null;
}

/** The PHQ-9 of the course's post-course assessment (the step collecting 'after-course'), if answered. */
function postCoursePhq9(m: Progression): number | null {
  const step = m.plan.find((p) => p.assessmentPoint === 'after-course');
  const id = step ? m.state.steps[step.id]?.assessmentId : null;
  return id ? phq9Total(m.state.assessments[id]) : null;
}

export function onMaintenancePhq9(m: Progression, a: AssessmentRuntime, now: number): void {
  const b = m.state.boosters;
  if (!b || m.state.maintenance !== 'maintenance' || m.finished) return;
  const current = phq9Total(a);
  if (current === null) return;
  const at = a.stepKey;
  const post = postCoursePhq9(m);
  const max = m.protocol.maintenance.phq9AtOrAbove;
  if (!m.maintenanceRunning()) {
    // The last follow-up was this one: maintenance ends with it (progression), no booster is added. A
    // relapse signal on it (the rule would add a booster or a review) still reaches the prescriber: the
    // course ends, the client's plan is theirs to review (the notice names no score).
    const signal = post === null ? current >= max : boosterSuggestion(m.protocol, { postCoursePhq9: post, currentPhq9: current, daysSinceLastDose: null, boostersSoFar: b.added }).reasons.some((r) => r.blocking);
    m.event('booster.rule', at, undefined, { decision: 'not-applied', codes: ['maintenance-period-over', ...(signal ? ['relapse-signal'] : [])] }, now);
    if (signal) m.notify(`${m.state.courseId}/${at}/relapse-at-end`, 'course-notice', { kind: 'role', role: 'prescriber' }, { subjectKey: 'relapse-at-end', courseId: m.state.courseId, stepKey: at });
    return;
  }
  if (post === null) {
    // Nothing to compare against (the post-course PHQ-9 was not answered): a score at or above the
    // protocol's threshold goes to the prescriber; below it nothing is suggested.
    if (current >= max && !openReview(m)) m.addMaintenanceStep('review', now, { codes: ['no-post-course-phq9'] });
    m.event('booster.rule', at, undefined, { decision: current >= max ? 'review' : 'no-booster', codes: ['no-post-course-phq9'] }, now);
    return;
  }
  const daysSinceLastDose = m.state.lastDoseAt === null ? null : Math.floor(((now - m.state.lastDoseAt) * m.state.timeScale) / DAY);
  const d = boosterSuggestion(m.protocol, { postCoursePhq9: post, currentPhq9: current, daysSinceLastDose, boostersSoFar: b.added });
  const codes = d.reasons.map((r) => r.code);
  m.event('booster.rule', at, undefined, { decision: d.decision, codes }, now);
  if (d.decision === 'suggest-booster') {
    const outstanding = m.boosterOutstanding();
    if (outstanding) m.event('booster.already-added', outstanding.id, undefined, { rule: 'relapse' }, now);
    else m.addMaintenanceStep('booster', now, { rule: 'relapse', codes });
  } else if (d.decision === 'not-yet') {
    // Added by the progression once the spacing allows (unless one is outstanding by then).
    b.relapseWaiting = true;
  } else if (d.decision === 'review' && !openReview(m)) {
    m.addMaintenanceStep('review', now, { codes });
  }
}

/** A booster review still open (one at a time: a later score does not open another). */
function openReview(m: Progression): boolean {
  return m.plan.some((p) => p.maintenance === 'review' && ['pending', 'open'].includes(m.state.steps[p.id]!.status));
}
