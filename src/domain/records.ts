// The field sets of a course's clinical records, defined once. Each layer composes its own shape from
// them and adds its times in its own form: the machine's domain events (src/workflows/machine/events.ts,
// epoch ms of workflow time), the projection's rows (src/activities/course-records.ts, ISO strings),
// the FHIR export's input (src/fhir/model.ts) and the REMS form view (src/rems/form.ts).
// Types only: workflow code imports this file with `import type`, so nothing of it reaches a bundle.

/** A dosing session's state. */
export type SessionStatus = 'unscheduled' | 'scheduled' | 'no-show' | 'checked-in' | 'held' | 'dosed' | 'completed' | 'cancelled';

/** The dose as recorded by the dose action (the lot as given there, or null). */
export interface SessionDose {
  route: string;
  doseMg: number | null;
  lotNumber: string | null;
}

/** One reading of a session's vital signs (the time it was taken is added by each layer). */
export interface VitalsFields {
  phase: 'pre-dose' | 'monitoring' | 'discharge';
  minutesAfterDose: number | null;
  systolic: number;
  diastolic: number;
  heartRate: number | null;
  spo2: number | null;
}

export type AdverseEventSeverity = 'mild' | 'moderate' | 'severe' | 'life-threatening';

/** An adverse event as recorded (its onset and who recorded it are added by each layer). */
export interface AdverseEventFields {
  id: string;
  stepKey: string | null;
  category: string;
  severity: AdverseEventSeverity;
  serious: boolean;
  description: string | null;
}

/**
 * A REMS monitoring form's fields: pre-filled from its session (dose, lot, blood pressures, minutes
 * monitored), then answered on filing (null until then). `concomitant` is the medication checklist;
 * a view over the stored JSON reads it as `Record<string, unknown>`. Due and filed times are added by
 * each layer.
 */
export interface RemsFormFields<Concomitant = Record<string, boolean>> {
  firstTreatment: boolean;
  doseMg: number | null;
  lotNumber: string | null;
  bpPre: string | null;
  bp40: string | null;
  bpDischarge: string | null;
  monitoringMinutes: number | null;
  concomitant: Concomitant;
  sedation: boolean | null;
  dissociation: boolean | null;
  respiratoryDepression: boolean | null;
  seriousAdverseEvent: boolean | null;
}
