// Inputs of activities that one part of the engine calls and another implements. Plain data only:
// these types are imported (as types) by workflow code.

/** Who a message goes to. The activity resolves addresses from the database; workflows never hold them. */
export type Recipient =
  | { kind: 'client' }
  | { kind: 'staff'; staffId: string }
  | { kind: 'role'; role: 'coordinator' | 'prescriber' | 'therapist' | 'admin' };

export type MessageTemplate =
  | 'appointment-reminder' // data: sessionKey, startsAt, kind ('preparation'|'dosing'|'integration'|...), hoursBefore, dayBeforeDosing
  | 'assessment-invitation' // data: assessmentId, instrumentIds (comma list), expiresAt
  | 'assessment-reminder' // data: assessmentId, expiresAt, reminderNumber
  | 'safety-alert' // to clinicians: data: reason code (no answers), courseId
  | 'step-escalation' // to owner/coordinator: data: stepKey, deadlineAt, level
  | 'course-notice'; // generic staff notice: data: subjectKey, courseId

export interface NotifyInput {
  /** Deterministic idempotency key made by the workflow, e.g. `<courseId>/dose-2/reminder-24h`. One key = one email ever. */
  key: string;
  template: MessageTemplate;
  courseId: string;
  clinicId: string;
  recipient: Recipient;
  /** Template data: identifiers, times and codes; never answers, scores, diagnoses or drug names for clients. */
  data: Record<string, string | number | boolean | null>;
}
