// The plain data the FHIR mapping reads: one client and their courses, as loaded from the database
// (src/fhir/load.ts). Pure data so the mapping (bundle.ts) is a function tested without a database.

export interface FhirClient {
  id: string;
  clinicId: string;
  givenName: string;
  familyName: string;
  /** YYYY-MM-DD, when known. */
  birthDate: string | null;
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
}

export interface FhirExportInput {
  client: FhirClient;
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
