// Handlers of the course's administration: pause, resume, withdraw, change of clinician, the
// maintenance decision, completing a review or task step, and a note to the care team.
// Each checks its input against the course (a Rejection, never a change) and returns the change to make;
// the input has passed its catalogue schema already (src/domain/actions/catalogue.ts).
import { Rejection } from '../../rejection';
import { notesSummary } from '../events';
import type { HandlerTable } from '../progression';

export const administration = {
  pause: (m, input, now) => {
    return () => {
      m.state.status = 'paused';
      m.state.pausedAt = now;
      m.state.pauseReason = input.reason;
      m.event('course.paused', null, input.actor, { reason: input.reason }, now);
      return { outcome: 'paused' };
    };
  },

  resume: (m, input, now) => {
    if (m.state.status !== 'paused') throw new Rejection('InvalidTransition', 'the course is not paused');
    return () => {
      const pausedFor = now - m.state.pausedAt!;
      m.state.status = 'active';
      m.state.pausedAt = null;
      m.state.pauseReason = null;
      // Deadlines and the follow-up clock stand still while a course is paused.
      for (const p of m.plan) {
        const s = m.state.steps[p.id]!;
        if (s.status === 'open' && s.deadlineAt !== null) {
          s.deadlineAt += pausedFor;
          m.touch(p.id);
        }
      }
      if (m.state.courseEndAt !== null) m.state.courseEndAt += pausedFor;
      m.event('course.resumed', null, input.actor, { pausedMs: pausedFor }, now);
      return { outcome: 'resumed' };
    };
  },

  withdraw: (m, input, now) => {
    return () => {
      // end() records the one course.withdrawn event (recording it here too wrote it twice).
      m.withdraw(input.reason, now, input.actor);
      return { outcome: 'withdrawn' };
    };
  },

  'change-clinician': (m, input, now) => {
    if (input.clinicianId === m.state.primaryClinicianId) throw new Rejection('InvalidTransition', `${input.clinicianId} is already the course's clinician`);
    return () => {
      const from = m.state.primaryClinicianId;
      m.state.primaryClinicianId = input.clinicianId;
      m.event('clinician.changed', null, input.actor, { from, to: input.clinicianId, reason: input.reason ?? null }, now);
      return { outcome: 'changed' };
    };
  },

  'maintenance-decision': (m, input, now) => {
    const [p, s] = m.stepOfKind('maintenance-decision');
    if (input.decision === 'maintenance' && !m.protocol.maintenance.boostersOffered) throw new Rejection('ClinicallyRefused', 'this protocol does not offer maintenance boosters');
    return () => {
      m.state.maintenance = input.decision;
      // Maintenance keeps the course open through its follow-ups; the booster rule adds boosters (handlers/assessments.ts, progression.ts).
      if (input.decision === 'maintenance') m.state.boosters = { added: 0, reviews: 0, relapseWaiting: false };
      m.event(`maintenance.${input.decision}`, p.id, input.actor, { reason: input.reason ?? null }, now);
      m.complete(p, s, input.decision, now);
      return { outcome: input.decision };
    };
  },

  // A note to the care team: a timeline event with its author and the note shortened (like a review's
  // notes: the timeline and the audit log carry that summary, never more); it notifies nobody.
  'care-team-note': (m, input, now) => {
    if (input.stepKey !== undefined && !m.byId.has(input.stepKey)) throw new Rejection('InvalidInput', `unknown step ${input.stepKey}`);
    return () => {
      const { notesSummary: short } = notesSummary(input.note);
      m.event('care-team.note', input.stepKey ?? null, input.actor, { summary: `Note to the care team: ${short}`, notesSummary: short }, now);
      return { outcome: 'recorded' };
    };
  },

  'task-complete': (m, input, now) => {
    const [p, s] = m.openStepOf(input.stepKey, ['review', 'task'], 'task-complete');
    return () => {
      m.event('task.completed', p.id, input.actor, { outcome: input.outcome ?? null }, now);
      m.complete(p, s, input.outcome ?? 'done', now);
      return { outcome: 'done' };
    };
  },
} satisfies HandlerTable;
