// Kysely types for the application's tables. Keep in step with /migrations.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** jsonb: read as a value, written as a JSON string (pg sends objects as JSON, arrays would not be). */
type Json<T = Record<string, unknown>> = ColumnType<T, string, string>;
type JsonDefault<T = Record<string, unknown>> = ColumnType<T, string | undefined, string>;

export type StaffRole = 'admin' | 'coordinator' | 'prescriber' | 'therapist';
export type StepState = 'open' | 'overdue' | 'done' | 'skipped' | 'cancelled';

export interface ClinicsTable {
  id: string;
  name: string;
  timezone: Generated<string>;
  created_at: CreatedAt;
}

export interface StaffTable {
  id: string;
  email: string;
  display_name: string;
  role: StaffRole;
  active: Generated<boolean>;
  created_at: CreatedAt;
  /** scrypt hash (migration 0004); null = cannot log in to the dashboard. */
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface StaffClinicsTable {
  staff_id: string;
  clinic_id: string;
}

export interface ClientsTable {
  id: string;
  clinic_id: string;
  given_name: string;
  family_name: string;
  email: string;
  phone: string | null;
  date_of_birth: ColumnType<Date | null, string | null | undefined, string | null>;
  external_ref: string | null;
  created_at: CreatedAt;
}

export interface CoursesTable {
  id: string;
  client_id: string;
  clinic_id: string;
  workflow_id: string;
  protocol_id: string;
  protocol_version: number;
  protocol_snapshot: Json<unknown>;
  status: Generated<string>;
  current_step: string | null;
  current_step_deadline: Timestamp | null;
  risk_level: Generated<string>;
  primary_clinician_id: string | null;
  enrolled_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  ended_at: Timestamp | null;
  end_reason: string | null;
}

export interface CourseStepsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  step_key: string;
  kind: string;
  state: StepState;
  owner_role: string | null;
  owner_staff_id: string | null;
  entered_at: Timestamp;
  deadline_at: Timestamp | null;
  completed_at: Timestamp | null;
  escalation_level: Generated<number>;
  outcome: string | null;
  detail: JsonDefault;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor_type: 'staff' | 'client' | 'system';
  actor_id: string | null;
  action: string;
  clinic_id: string | null;
  client_id: string | null;
  course_id: string | null;
  event_key: string | null;
  detail: JsonDefault;
}

/** Staff API tokens (migration 0004): only the SHA-256 of the token is stored. */
export interface ApiTokensTable {
  id: string;
  token_hash: string;
  role: StaffRole;
  clinic_id: string | null;
  staff_id: string | null;
  label: string;
  created_at: CreatedAt;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

/** Dashboard sessions (migration 0004): only the SHA-256 of the cookie's session id is stored. */
export interface DashboardSessionsTable {
  id_hash: string;
  staff_id: string;
  csrf_token: string;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp;
}

export interface Database {
  clinics: ClinicsTable;
  staff: StaffTable;
  staff_clinics: StaffClinicsTable;
  clients: ClientsTable;
  courses: CoursesTable;
  course_steps: CourseStepsTable;
  audit_log: AuditLogTable;
  api_tokens: ApiTokensTable;
  dashboard_sessions: DashboardSessionsTable;
}

export type Clinic = Selectable<ClinicsTable>;
export type NewClinic = Insertable<ClinicsTable>;
export type Client = Selectable<ClientsTable>;
export type NewClient = Insertable<ClientsTable>;
export type Course = Selectable<CoursesTable>;
export type NewCourse = Insertable<CoursesTable>;
export type CourseUpdate = Updateable<CoursesTable>;
export type CourseStep = Selectable<CourseStepsTable>;
export type NewCourseStep = Insertable<CourseStepsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type NewAuditEntry = Insertable<AuditLogTable>;
