// The course machine's domain events (machine/events.ts) as the rows the projection activity writes
// (activities/projections.ts: projectCourse). Pure: the same events always make the same rows, so a
// retry or a replay writes the same thing again. Every row id is made from the course id, the step key
// and a counter the machine keeps.
import type { NotifyInput } from '../activities/contracts';
import type { CourseRecord } from '../activities/course-records';
import type { CourseProjectionInput, TransitionRows } from '../activities/projections';
import type { StepState } from '../db/schema';
import { isoTime as iso } from '../domain/time';
import { actorRefId, notesSummary, type DomainEvent, type Notification, type StepEvent } from './machine/events';
import { holdClosesWhen, isSuicideRiskHold } from './machine/state';

/** What one flush writes: null when the events change no row. */
export function toProjection(courseId: string, clinicId: string, events: readonly DomainEvent[]): TransitionRows | null {
  const steps: CourseProjectionInput['steps'] = [];
  const records: CourseRecord[] = [];
  let course: CourseProjectionInput['course'];
  let protocol: CourseProjectionInput['protocol'];
  for (const e of events) {
    if (e.kind === 'step') steps.push(stepRow(e));
    else if (e.kind === 'protocol') protocol = { id: e.protocolId, version: e.version, snapshot: e.snapshot };
    else if (e.kind === 'course') {
      course = {
        status: e.status,
        currentStep: e.currentStep,
        currentStepDeadline: iso(e.currentStepDeadline),
        riskLevel: e.riskLevel,
        primaryClinicianId: e.primaryClinicianId,
        endedAt: iso(e.endedAt),
        endReason: e.endReason,
      };
    } else records.push(record(courseId, e));
  }
  if (!steps.length && !records.length && !course && !protocol) return null;
  return { courseId, clinicId, steps, records, ...(course ? { course } : {}), ...(protocol ? { protocol } : {}) };
}

/** The notify activity's input is the machine's notification as it is (a type check, no copy). */
export function toNotifyInput(n: Notification): NotifyInput {
  return n;
}

function stepRow(e: StepEvent): CourseProjectionInput['steps'][number] {
  const state: StepState = e.status === 'open' ? (e.overdue ? 'overdue' : 'open') : e.status === 'pending' ? 'open' : e.status;
  return {
    stepKey: e.stepKey,
    kind: e.stepKind,
    state,
    ownerRole: e.owner,
    ownerStaffId: null,
    enteredAt: iso(e.openedAt ?? e.completedAt)!,
    deadlineAt: iso(e.deadlineAt),
    completedAt: iso(e.completedAt),
    escalationLevel: e.escalationLevel,
    outcome: e.outcome,
    detail: {
      name: e.name,
      phase: e.phase,
      ...(e.session ? { session: e.session.status, startsAt: iso(e.session.startsAt), noShows: e.session.noShows } : {}),
      ...(e.assessmentId ? { assessmentId: e.assessmentId } : {}),
      ...(e.targetAt ? { targetAt: e.targetAt } : {}),
    },
  };
}

function record(courseId: string, e: Exclude<DomainEvent, StepEvent | { kind: 'course' } | { kind: 'protocol' }>): CourseRecord {
  switch (e.kind) {
    case 'timeline': {
      const actor = e.actor;
      return {
        table: 'event',
        id: `${courseId}/e${e.seq}`,
        seq: e.seq,
        type: e.type,
        stepKey: e.stepKey,
        at: iso(e.at),
        // An actor is a staff member or, without one, the API token it acted with; no actor = the engine.
        actorType: actor ? (actor.staffId ? 'staff' : 'token') : 'system',
        actorId: actor ? (actor.staffId ?? actor.tokenId ?? null) : null,
        detail: e.detail,
        ...(actor ? { by: { ...(actor.role ? { role: actor.role } : {}), ...(actor.tokenId ? { tokenId: actor.tokenId } : {}), ...(actor.label ? { label: actor.label } : {}) } } : {}),
      };
    }
    case 'session':
      return {
        table: 'session',
        id: `${courseId}/${e.stepKey}`,
        stepKey: e.stepKey,
        kind: e.stepKind,
        status: e.status,
        startsAt: iso(e.startsAt),
        scheduleCount: e.scheduleCount,
        noShowCount: e.noShowCount,
        dosedAt: iso(e.doseAt),
        completedAt: iso(e.completedAt),
        detail: e.dose ? { route: e.dose.route, doseMg: e.dose.doseMg, lotNumber: e.dose.lotNumber, preDose: e.preDose } : { preDose: e.preDose },
      };
    case 'vitals':
      return {
        table: 'vitals',
        id: `${courseId}/${e.stepKey}/s${e.scheduleCount}/v${e.n}`,
        stepKey: e.stepKey,
        phase: e.phase,
        minutesAfterDose: e.minutesAfterDose,
        systolic: e.systolic,
        diastolic: e.diastolic,
        heartRate: e.heartRate,
        spo2: e.spo2,
        takenAt: iso(e.at),
      };
    case 'hold': {
      const { hold: h, closed } = e;
      return {
        table: 'safety-event',
        id: h.id,
        kind: h.kind,
        level: h.level,
        stepKey: h.stepKey,
        assessmentId: h.assessmentId ?? null,
        at: iso(h.at),
        resolvedAt: closed ? iso(closed.at) : null,
        detail: {
          reason: h.reason,
          suicideRisk: isSuicideRiskHold(h),
          closesWhen: holdClosesWhen(h),
          ...(closed ? { resolution: closed.resolution, ...(closed.actor ? { reviewedBy: actorRefId(closed.actor) } : {}), ...notesSummary(closed.notes) } : {}),
        },
      };
    }
    case 'adverse-event':
      return {
        table: 'adverse-event',
        id: e.id,
        stepKey: e.stepKey,
        category: e.category,
        severity: e.severity,
        serious: e.serious,
        description: e.description,
        onsetAt: iso(e.at),
        recordedAt: iso(e.at),
        recordedBy: actorRefId(e.actor),
      };
    case 'consent':
      return {
        table: 'consent',
        id: `${courseId}/${e.stepKey}`,
        kind: e.consentKind,
        documentVersion: e.documentVersion,
        signedByClientAt: iso(e.at),
        prescriberSignedAt: e.prescriberSigned ? iso(e.at) : null,
        prescriberId: e.prescriberId,
        detail: {},
      };
    case 'rems-form':
      return {
        table: 'rems-form',
        id: `${courseId}/${e.stepKey}`,
        sessionStepKey: e.sessionStepKey,
        firstTreatment: e.firstTreatment,
        doseMg: e.doseMg,
        lotNumber: e.lotNumber,
        bpPre: e.bpPre,
        bp40: e.bp40,
        bpDischarge: e.bpDischarge,
        monitoringMinutes: e.monitoringMinutes,
        concomitant: e.concomitant,
        sedation: e.sedation,
        dissociation: e.dissociation,
        respiratoryDepression: e.respiratoryDepression,
        seriousAdverseEvent: e.seriousAdverseEvent,
        dueAt: iso(e.dueAt),
        submittedAt: iso(e.submittedAt),
      };
  }
}
