// The plain data the FHIR mapping reads: one client and their courses, as loaded from the database
// (src/fhir/load.ts). Pure data so the mapping (bundle.ts) is a function tested without a database.
import type { AdverseEventFields, SessionDose, SessionStatus, VitalsFields } from '../domain/records';

export interface FhirClient {
  id: string;
  clinicId: string;
  givenName: string;
  familyName: string;
  /** YYYY-MM-DD, when known. */
  birthDate: string | null;
  /** As the client record holds it (clients.sex), when recorded: Patient.gender. */
  sex?: 'female' | 'male' | 'unknown' | null;
}

export interface FhirStep {
  /** The course_steps row id `<courseId>/<stepKey>`. */
  id: string;
  stepKey: string;
  kind: string;
  /** Human name from the pinned protocol (falls back to the step key). */
  name: string;
  state: 'open' | 'overdue' | 'done' | 'skipped' | 'cancelled';
  ownerRole: string | null;
  ownerStaff: { id: string; name: string | null } | null;
  enteredAt: string;
  deadlineAt: string | null;
  completedAt: string | null;
  outcome: string | null;
}

export interface FhirAssessment {
  /** `<courseId>/<stepKey>/<instrument>` */
  id: string;
  stepKey: string;
  instrumentId: string;
  status: 'invited' | 'completed' | 'missed' | 'cancelled';
  completedAt: string | null;
  total: number | null;
  band: string | null;
  /** Answers by item label ('1'..'n', '6b' for the C-SSRS). */
  answers: Record<string, unknown>;
}

export interface FhirCourse {
  id: string;
  clinicId: string;
  protocol: { id: string; version: number; name: string };
  status: string;
  enrolledAt: string;
  endedAt: string | null;
  endReason: string | null;
  steps: FhirStep[];
  assessments: FhirAssessment[];
  /** Open safety items (exactly the workflow's open set, as projected): one active Flag each. */
  safetyItems?: FhirSafetyItem[];
  /** What was decided (overrides with their reason, reviews with their notes summary...): CarePlan notes. */
  decisions?: Array<{ at: string; type: string; summary: string }>;
  /** The drug the protocol gives (from its modality): esketamine for intranasal esketamine, else ketamine. */
  drug?: 'ketamine' | 'esketamine';
  /** Dosing sessions (course_sessions): one Encounter each, and a MedicationAdministration once dosed. */
  sessions?: FhirSession[];
  /** Blood pressure, heart rate and SpO2 readings (course_vitals): vital-sign Observations. */
  vitals?: FhirVitals[];
  adverseEvents?: FhirAdverseEvent[];
  consents?: FhirConsent[];
  /** PCL-5 DSM-5 cluster results by assessment id (`<courseId>/<stepKey>/pcl5`). */
  pcl5Clusters?: Record<string, { dsm5CriteriaMet: boolean; clusters: Record<string, { endorsed: number; required: number; met: boolean; score: number }> }>;
}

export interface FhirSession {
  /** `<courseId>/<stepKey>` */
  id: string;
  stepKey: string;
  status: SessionStatus;
  startsAt: string | null;
  dosedAt: string | null;
  completedAt: string | null;
  dose: SessionDose | null;
}

export interface FhirVitals extends VitalsFields {
  id: string;
  stepKey: string;
  takenAt: string;
}

export interface FhirAdverseEvent extends AdverseEventFields {
  onsetAt: string;
  recordedAt: string;
  recordedBy: FhirStaff | null;
}

export interface FhirConsent {
  id: string;
  kind: string;
  documentVersion: string;
  signedByClientAt: string;
  prescriberSignedAt: string | null;
  prescriber: FhirStaff | null;
}

export interface FhirStaff {
  id: string;
  name: string | null;
}

export interface FhirSafetyItem {
  id: string;
  kind: string;
  level: string | null;
  at: string;
  reason: string;
  suicideRisk: boolean;
  closesWhen: string;
}

export interface FhirExportInput {
  client: FhirClient;
  /** The client's clinic: the Organization every encounter and record belongs to. */
  clinic?: { id: string; name: string };
  courses: FhirCourse[];
  /** Bundle.timestamp (ISO); defaults to now. */
  exportedAt?: string;
}

export interface FhirExportOptions {
  /**
   * Base of the canonical URLs and identifier systems this engine mints (Questionnaire.url,
   * identifier systems, local code systems). Need not resolve; must be stable per installation.
   */
  systemBase?: string;
}

export const DEFAULT_SYSTEM_BASE = 'https://kap-pathways.example.org/fhir';
