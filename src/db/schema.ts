// Kysely types for the application's tables. Keep in step with /migrations.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { SessionStatus } from '../domain/records';

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
  /** The healthcare setting's name as certified with the Spravato REMS (null: the clinic's name; migration 0012). */
  rems_setting_name: ColumnType<string | null, string | null | undefined, string | null>;
  /** The healthcare setting's address, printed on the REMS monitoring form (migration 0012). */
  address: ColumnType<string | null, string | null | undefined, string | null>;
  /** The clinic's phone number, on the client's form's crisis card (migration 0013). */
  phone: ColumnType<string | null, string | null | undefined, string | null>;
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
  /** Work phone, printed as the monitoring clinician's on the REMS form (migration 0012). */
  phone: ColumnType<string | null, string | null | undefined, string | null>;
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
  /** Sex as the REMS monitoring form asks it (migration 0012); null when not recorded. */
  sex: ColumnType<'female' | 'male' | 'unknown' | null, 'female' | 'male' | 'unknown' | null | undefined, 'female' | 'male' | 'unknown' | null>;
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

/** Who acted: a staff member, a client (from a link), an API token without a staff member, or the engine itself. */
export type ActorType = 'staff' | 'client' | 'system' | 'token';

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor_type: ActorType;
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

/** Email outbox (migration 0003): one row per message key, ever. */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'uncertain' | 'failed' | 'blocked';
export interface EmailOutboxTable {
  key: string;
  template: string;
  course_id: string | null;
  clinic_id: string;
  recipient_kind: 'client' | 'staff' | 'role';
  recipient_ref: string | null;
  audience: 'client' | 'staff' | null;
  message_id: string;
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>;
  attempts: Generated<number>;
  claim_token: string | null;
  claimed_until: Timestamp | null;
  submitted_at: Timestamp | null;
  sent_at: Timestamp | null;
  to_addresses: ColumnType<string[] | null, string | null | undefined, string | null>;
  subject: string | null;
  provider_message_id: string | null;
  provider_response: string | null;
  last_error: string | null;
  data: JsonDefault;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Single use of signed client links (migration 0003), one row per assessment. */
export interface ClientLinkUsesTable {
  nonce: string;
  assessment_id: string;
  used_at: CreatedAt;
  expires_at: Timestamp;
}

/** The embedded SMTP sink's mailbox (migration 0003). */
export interface SmtpSinkMessagesTable {
  id: Generated<number>;
  received_at: CreatedAt;
  message_id: string | null;
  envelope_from: string | null;
  envelope_to: Json<string[]>;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  attachments: JsonDefault<Array<{ filename: string | null; contentType: string; size: number; content: string }>>;
  raw: string;
}

// Clinical records of a course (migration 0002), written by the course workflow's projections.
type NullableTs = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface CourseSessionsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  step_key: string;
  kind: string;
  status: SessionStatus;
  starts_at: NullableTs;
  schedule_count: Generated<number>;
  no_show_count: Generated<number>;
  dosed_at: NullableTs;
  completed_at: NullableTs;
  detail: JsonDefault;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface CourseVitalsTable {
  id: string;
  course_id: string;
  step_key: string;
  phase: 'pre-dose' | 'monitoring' | 'discharge';
  minutes_after_dose: number | null;
  systolic: number;
  diastolic: number;
  heart_rate: number | null;
  spo2: number | null;
  taken_at: Timestamp;
}

export interface AssessmentsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  step_key: string;
  instrument_id: string;
  status: 'invited' | 'completed' | 'missed' | 'cancelled';
  trigger: Generated<string>;
  invited_at: Timestamp;
  expires_at: Timestamp;
  completed_at: NullableTs;
  total: number | null;
  band: string | null;
  critical: Generated<boolean>;
  flags: JsonDefault<unknown[]>;
}

export interface AssessmentItemsTable {
  assessment_id: string;
  item: string;
  value: Json<unknown>;
}

export interface SafetyEventsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  kind: string;
  level: string | null;
  step_key: string | null;
  assessment_id: string | null;
  at: Timestamp;
  resolved_at: NullableTs;
  detail: JsonDefault;
}

export interface AdverseEventsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  step_key: string | null;
  category: string;
  severity: 'mild' | 'moderate' | 'severe' | 'life-threatening';
  serious: boolean;
  description: string | null;
  onset_at: Timestamp;
  recorded_at: Timestamp;
  recorded_by: string | null;
}

export interface ConsentsTable {
  id: string;
  course_id: string;
  kind: string;
  document_version: string;
  signed_by_client_at: Timestamp;
  prescriber_signed_at: NullableTs;
  prescriber_id: string | null;
  detail: JsonDefault;
}

export interface RemsMonitoringFormsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  session_step_key: string;
  first_treatment: boolean;
  dose_mg: number | null;
  lot_number: string | null;
  bp_pre: string | null;
  bp_40: string | null;
  bp_discharge: string | null;
  monitoring_minutes: number | null;
  concomitant: JsonDefault;
  sedation: boolean | null;
  dissociation: boolean | null;
  respiratory_depression: boolean | null;
  serious_adverse_event: boolean | null;
  due_at: Timestamp;
  submitted_at: NullableTs;
}

export interface CourseEventsTable {
  id: string;
  course_id: string;
  clinic_id: string;
  seq: number;
  at: Timestamp;
  type: string;
  step_key: string | null;
  actor_type: ActorType;
  actor_id: string | null;
  detail: JsonDefault;
}

/** Webhooks (migration 0005): subscriptions, the outbox of events, one delivery per (event, subscription). */
export interface WebhookSubscriptionsTable {
  id: string;
  clinic_id: string;
  url: string;
  description: string | null;
  event_types: ColumnType<string[], string[], string[]>;
  secret_sealed: string;
  active: Generated<boolean>;
  /** The last sequence number a delivery of this subscription took (migration 0010). */
  next_seq: ColumnType<string, never, never>;
  /** A clinic admin allowed this subscription a loopback or private-network target (migration 0010). */
  allow_private_target: Generated<boolean>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookEventsTable {
  id: string;
  source_event_id: string;
  type: string;
  clinic_id: string;
  course_id: string | null;
  occurred_at: Timestamp;
  payload: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

/** held: the subscription is paused; sent in sequence when it is resumed (migration 0010). */
export type WebhookDeliveryStatus = 'pending' | 'held' | 'delivered' | 'failed' | 'cancelled';
export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  subscription_id: string;
  clinic_id: string;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  workflow_id: string | null;
  created_at: CreatedAt;
  dispatched_at: NullableTs;
  first_attempt_at: NullableTs;
  last_attempt_at: NullableTs;
  delivered_at: NullableTs;
  /** The subscription's sequence number of this delivery (bigint, as a string; migration 0010). */
  seq: ColumnType<string | null, never, never>;
  /** How often an operator sent it again. */
  redeliveries: Generated<number>;
}

export type CourseSession = Selectable<CourseSessionsTable>;
export type Assessment = Selectable<AssessmentsTable>;
export type CourseEvent = Selectable<CourseEventsTable>;

export interface Database {
  clinics: ClinicsTable;
  staff: StaffTable;
  staff_clinics: StaffClinicsTable;
  clients: ClientsTable;
  courses: CoursesTable;
  course_steps: CourseStepsTable;
  audit_log: AuditLogTable;
  course_sessions: CourseSessionsTable;
  course_vitals: CourseVitalsTable;
  assessments: AssessmentsTable;
  assessment_items: AssessmentItemsTable;
  safety_events: SafetyEventsTable;
  adverse_events: AdverseEventsTable;
  consents: ConsentsTable;
  rems_monitoring_forms: RemsMonitoringFormsTable;
  course_events: CourseEventsTable;
  email_outbox: EmailOutboxTable;
  client_link_uses: ClientLinkUsesTable;
  smtp_sink_messages: SmtpSinkMessagesTable;
  api_tokens: ApiTokensTable;
  dashboard_sessions: DashboardSessionsTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  protocol_versions: ProtocolVersionsTable;
  clinic_protocol_choices: ClinicProtocolChoicesTable;
  sandbox_clinics: SandboxClinicsTable;
  fhir_export_jobs: FhirExportJobsTable;
  fhir_export_files: FhirExportFilesTable;
}

/** A FHIR bulk export job (migration 0015), served by any API process until it expires. */
export interface FhirExportJobsTable {
  id: string;
  /** `token:<id>` or `staff:<id>`: only this principal sees the job. */
  owner: string;
  /** The clinics it read (as at kick-off): their ids, or 'all'. */
  clinic_scope: Json<string[] | 'all'>;
  requested_by: Json<Record<string, unknown>>;
  level: 'system' | 'patient';
  request: string;
  types: Json<string[]>;
  status: 'running' | 'done' | 'failed';
  progress: Generated<string>;
  error: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

/** One NDJSON file of an export job (migration 0015): one per resource type with resources. */
export interface FhirExportFilesTable {
  job_id: string;
  type: string;
  line_count: number;
  content: string;
}

/** A clinic's protocol version (migration 0008): a draft, or a published version that never changes. */
export interface ProtocolVersionsTable {
  id: string;
  clinic_id: string;
  protocol_id: string;
  version: number;
  status: 'draft' | 'published';
  definition: Json;
  hash: string;
  based_on: string | null;
  created_by_type: string;
  created_by_id: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  reason: string | null;
  rehearsal: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  published_by_type: string | null;
  published_by_id: string | null;
  published_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  publish_reason: string | null;
}

/** A rehearsal's sandbox clinic (migration 0011): its mail stays on the machine. */
export interface SandboxClinicsTable {
  clinic_id: string;
  source_clinic_id: string;
  protocol_id: string;
  draft_hash: string;
  created_by_type: string;
  created_by_id: string | null;
  created_at: CreatedAt;
}

/** The published version a clinic's new enrolments in a protocol use (migration 0008). */
export interface ClinicProtocolChoicesTable {
  clinic_id: string;
  protocol_id: string;
  version: number;
  chosen_by_type: string;
  chosen_by_id: string | null;
  chosen_at: ColumnType<Date, Date | string | undefined, Date | string>;
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
export type OutboxRow = Selectable<EmailOutboxTable>;
export type SinkMessageRow = Selectable<SmtpSinkMessagesTable>;
