// What the course machine emits: domain events (plain data, times in epoch ms of workflow time) and the
// messages it asks to send. The machine knows nothing of rows or tables: src/workflows/projection.ts
// maps these events to the rows the projection activity writes.
import type { RiskLevel } from '../../domain/rules/suicide-risk';
import type { Protocol, Role } from '../../domain/protocol';
import type { ActorRef } from '../contracts';
import type { AdverseEventFields, RemsFormFields, SessionDose, VitalsFields } from '../../domain/records';
import type { CourseStatus, SafetyHold, SessionStatus, StepStatus } from './state';

/** One entry of the course's timeline (`seq` counts them, from 1, across runs). */
export interface TimelineEvent {
  kind: 'timeline';
  seq: number;
  type: string;
  stepKey: string | null;
  at: number;
  /** Absent: the engine itself. */
  actor?: ActorRef;
  detail: Record<string, unknown>;
}

/** A session's state after a change (scheduled, checked in, dosed, completed...). */
export interface SessionEvent {
  kind: 'session';
  stepKey: string;
  stepKind: string;
  status: SessionStatus;
  startsAt: number | null;
  scheduleCount: number;
  noShowCount: number;
  doseAt: number | null;
  completedAt: number | null;
  dose: SessionDose | null;
  preDose: 'proceed' | 'hold' | null;
}

/** One blood-pressure reading of a session (numbered per schedule of the session). */
export interface VitalsEvent extends VitalsFields {
  kind: 'vitals';
  stepKey: string;
  scheduleCount: number;
  n: number;
  at: number;
}

/** A safety hold opened, changed (`closed` null) or closed. `hold` is a copy as it was then. */
export interface HoldEvent {
  kind: 'hold';
  hold: SafetyHold;
  closed: { at: number; resolution: string; actor?: ActorRef; notes?: string } | null;
}

export interface AdverseEvent extends AdverseEventFields {
  kind: 'adverse-event';
  at: number;
  actor?: ActorRef;
}

export interface ConsentEvent {
  kind: 'consent';
  stepKey: string;
  consentKind: 'treatment' | 'treatment-and-rems';
  documentVersion: string;
  at: number;
  prescriberSigned: boolean;
  prescriberId: string | null;
}

/** A REMS monitoring form: opened pre-filled from its session (`submittedAt` null), then submitted. */
export interface RemsFormEvent extends RemsFormFields {
  kind: 'rems-form';
  stepKey: string;
  sessionStepKey: string;
  dueAt: number;
  submittedAt: number | null;
}

/** A step as it stands at the end of a transition (one per changed step). */
export interface StepEvent {
  kind: 'step';
  stepKey: string;
  stepKind: string;
  name: string;
  phase: string;
  owner: Role | null;
  status: StepStatus;
  overdue: boolean;
  openedAt: number | null;
  deadlineAt: number | null;
  completedAt: number | null;
  escalationLevel: number;
  outcome: string | null;
  session: { status: SessionStatus; startsAt: number | null; noShows: number } | null;
  assessmentId: string | null;
  targetAt: string | null;
}

/** The course as it stands at the end of a transition. */
export interface CourseEvent {
  kind: 'course';
  status: CourseStatus;
  currentStep: string | null;
  currentStepDeadline: number | null;
  riskLevel: RiskLevel;
  primaryClinicianId: string | null;
  endedAt: number | null;
  endReason: string | null;
}

/** The course moved to another version of its protocol (handlers/versions.ts): the course row's version and snapshot. */
export interface ProtocolEvent {
  kind: 'protocol';
  protocolId: string;
  version: number;
  snapshot: Protocol;
}

export type DomainEvent = TimelineEvent | SessionEvent | VitalsEvent | HoldEvent | AdverseEvent | ConsentEvent | RemsFormEvent | StepEvent | CourseEvent | ProtocolEvent;

/** A message to send (the notify activity's input; one key = one email ever). */
export interface Notification {
  key: string;
  template: 'appointment-reminder' | 'assessment-invitation' | 'assessment-reminder' | 'safety-alert' | 'step-escalation' | 'course-notice';
  courseId: string;
  clinicId: string;
  recipient: { kind: 'client' } | { kind: 'staff'; staffId: string } | { kind: 'role'; role: Exclude<Role, 'client'> };
  data: Record<string, string | number | boolean | null>;
}

/** The id a record names for an actor: the staff member, or `token:<id>` for a token without one. */
export function actorRefId(actor: ActorRef | undefined): string | null {
  return actor?.staffId ?? (actor?.tokenId ? `token:${actor.tokenId}` : null);
}

/** A review's notes, shortened for the timeline and the audit log (the full text stays in the workflow). */
export function notesSummary(notes: string | undefined): { notesSummary?: string } {
  const t = notes?.trim().replace(/\s+/g, ' ');
  if (!t) return {};
  return { notesSummary: t.length > 200 ? `${t.slice(0, 199)}…` : t };
}
