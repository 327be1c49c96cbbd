// Versioned care-pathway protocols: the schema a clinic's protocol must satisfy, and `parseProtocol`,
// which reports every problem at once, each with its path, so a clinic can fix a file in one pass.
//
// Units, chosen once and kept everywhere: waits and deadlines in hours (`...Hours`), calendar spacing
// in days (`...Days`), on-site monitoring in minutes (`...Minutes`). The unit is always in the name.
import { z } from 'zod';
import { INSTRUMENT_IDS } from './instruments/instrument-id';
import { checkProtocol } from './protocol-checks';
import { formatPath, type Problem } from './problem';


export const InstrumentIdSchema = z.enum(INSTRUMENT_IDS);
export type { Problem } from './problem';

export const ROLES = ['coordinator', 'prescriber', 'therapist', 'client', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

export const STEP_KINDS = [
  'screening',
  'clearance',
  'consent',
  'rems-enrollment',
  'preparation',
  'dosing',
  'integration',
  'rems-monitoring-form',
  'assessment',
  'review',
  'maintenance-decision',
  'task',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/**
 * How a phase's steps are instantiated by `planCourse`:
 * - once: each step once, id unchanged;
 * - per-preparation-session: once per preparation session, ids `<step>-1..n`;
 * - per-dosing-session: once per dose, ids `<step>-1..n` (dose-1, integration-1, dose-2, ...);
 * - per-follow-up: once per follow-up in the assessment schedule, ids `<step>-<days>d`.
 */
export const PHASE_REPEATS = ['once', 'per-preparation-session', 'per-dosing-session', 'per-follow-up'] as const;
export type PhaseRepeat = (typeof PHASE_REPEATS)[number];

/** Where in the course a step collects assessments; the instruments come from `assessments`. */
export const ASSESSMENT_POINTS = ['baseline', 'before-dose', 'after-course', 'follow-up'] as const;
export type AssessmentPoint = (typeof ASSESSMENT_POINTS)[number];

const slug = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9, -)');
const text = z.string().trim().min(1);
const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const count = z.number().int().nonnegative();

export const StepSchema = z.strictObject({
  id: slug,
  name: text,
  kind: z.enum(STEP_KINDS),
  description: text.optional(),
  /** 'person' (default): the course waits on someone, so the step needs an owner and a deadline. */
  waitsOn: z.enum(['person', 'system']).default('person'),
  owner: RoleSchema.optional(),
  /** Hours from the moment the step opens until it counts as overdue ("stuck"). */
  deadlineHours: positive.optional(),
  assessmentPoint: z.enum(ASSESSMENT_POINTS).optional(),
});

export const PhaseSchema = z.strictObject({
  id: slug,
  name: text,
  repeat: z.enum(PHASE_REPEATS).default('once'),
  steps: z.array(StepSchema).min(1),
});

export const CourseSchema = z.strictObject({
  preparationSessions: count,
  dosingSessions: count.min(1),
  /** Target day of each dose, counted from the first dose (so it starts at 0); one per dosing session. */
  doseScheduleDays: z.array(nonNegative),
  minDaysBetweenDoses: nonNegative,
  maxDaysBetweenDoses: positive,
  /** Integration must happen within this many hours of each dose. */
  integrationWindowHours: positive.optional(),
  /** Length of the drug administration itself (e.g. a 40 min infusion), for display and planning. */
  administrationMinutes: positive.optional(),
});

const bpCheck = z.union([nonNegative, z.literal('discharge')]);

export const SafetySchema = z.strictObject({
  bloodPressure: z.strictObject({
    /** Hold the dose when the pre-dose reading is above either limit (mmHg). */
    maxSystolic: positive,
    maxDiastolic: positive,
    /** Minutes after dosing starts at which BP is taken; 0 = before the dose; 'discharge' = before leaving. */
    checkMinutes: z.array(bpCheck).min(1),
    /** Discharge needs BP back within this many mmHg above the pre-dose baseline. */
    dischargeMaxAboveBaselineSystolic: nonNegative,
    dischargeMaxAboveBaselineDiastolic: nonNegative,
  }),
  fasting: z.strictObject({
    foodHours: nonNegative,
    clearLiquidsHours: nonNegative,
  }),
  /** Minimum time on site from the start of dosing until discharge. */
  minMonitoringMinutes: positive,
  minSpO2Percent: z.number().min(50).max(100).optional(),
  escortRequired: z.boolean(),
  noDrivingHours: nonNegative,
  /** Benzodiazepines must be paused this long before a dose (0 = no pause asked). */
  benzodiazepinePauseHours: nonNegative,
  pregnancyCheck: z.boolean(),
  /** Who may override a screening hard stop (with a recorded reason); checked on the acting principal. */
  hardStopOverrideRoles: z.array(RoleSchema.exclude(['client'])).min(1).default(['prescriber']),
  dischargeChecklist: z.array(z.strictObject({ id: slug, label: text })).min(1),
});

export const AssessmentScheduleSchema = z.strictObject({
  baseline: z.array(InstrumentIdSchema),
  beforeEachDose: z.array(InstrumentIdSchema),
  afterCourse: z.array(InstrumentIdSchema),
  /** Follow-ups counted in days from the end of the course (the last dose). */
  followUps: z.array(z.strictObject({ afterCourseDays: positive, instruments: z.array(InstrumentIdSchema).min(1) })),
  /** Unanswered forms get `count` reminders, one every `everyHours`, then expire at `expiryHours`. */
  reminders: z.strictObject({ everyHours: positive, count: count }),
  expiryHours: positive,
  /**
   * No dose without a baseline: the client's own C-SSRS and PHQ-9 answered at most this many days
   * before the first dose (counted to the dose, or to now before it). Default 30.
   */
  baselineWindowDays: positive.optional(),
});

export const EscalationSchema = z.strictObject({
  /** After a step's deadline passes: who is told, and when (hours after the breach). */
  levels: z.array(z.strictObject({ afterBreachHours: nonNegative, notify: z.union([z.literal('owner'), RoleSchema]) })).min(1),
  /** Who gets a clinician alert at once for a critical answer (e.g. suicidality) or a serious adverse event. */
  safetyAlertRoles: z.array(RoleSchema).min(1),
});

/** When a booster falls due in maintenance (see MaintenanceSchema.boosterRule). */
export const BOOSTER_RULES = ['relapse', 'interval', 'relapse-or-interval'] as const;
export type BoosterRule = (typeof BOOSTER_RULES)[number];

export const MaintenanceSchema = z.strictObject({
  boostersOffered: z.boolean(),
  minDaysBetweenBoosters: positive,
  maxDaysBetweenBoosters: positive,
  /** Suggest a booster when PHQ-9 rises by at least this much over the post-course score... */
  phq9RiseFromPostCourse: positive,
  /** ...or when PHQ-9 is back at or above this total (10 = the standard "moderate" cut-point). */
  phq9AtOrAbove: positive,
  /**
   * When a booster falls due in maintenance (absent: 'relapse', what every protocol before this field
   * meant): 'relapse' = a PHQ-9 in maintenance meets the rule above (boosterSuggestion); 'interval' =
   * maxDaysBetweenBoosters after the last dose; 'relapse-or-interval' = whichever comes first. Never
   * closer than minDaysBetweenBoosters. A clinic's choice: no published standard fixes it (clinical.md).
   */
  boosterRule: z.enum(BOOSTER_RULES).optional(),
  /** The most boosters one maintenance period gives (absent: no limit but the follow-up period's end). */
  maxBoosters: z.number().int().positive().optional(),
});

export const RemsSchema = z.strictObject({
  program: z.literal('spravato'),
  patientEnrollmentRequired: z.boolean(),
  /** The Patient Monitoring Form must be submitted within this many hours of each session. */
  monitoringFormDeadlineHours: positive,
});

export const ProtocolSchema = z.strictObject({
  id: slug,
  version: z.number().int().positive(),
  name: text,
  description: text.optional(),
  modality: z.enum(['office-kap', 'iv-infusion', 'intranasal-esketamine']),
  routes: z.array(z.enum(['sublingual', 'intramuscular', 'intravenous', 'intranasal', 'oral'])).min(1),
  course: CourseSchema,
  phases: z.array(PhaseSchema).min(1),
  safety: SafetySchema,
  assessments: AssessmentScheduleSchema,
  escalation: EscalationSchema,
  maintenance: MaintenanceSchema,
  rems: RemsSchema.optional(),
});

/** A protocol as written (defaults may be omitted). */
export type ProtocolInput = z.input<typeof ProtocolSchema>;
/** A validated protocol with defaults filled in. */
export type Protocol = z.output<typeof ProtocolSchema>;
export type ProtocolPhase = Protocol['phases'][number];
export type ProtocolStep = ProtocolPhase['steps'][number];

export type ParseProtocolResult = { ok: true; protocol: Protocol } | { ok: false; problems: Problem[] };

/**
 * Validate a protocol (already parsed from JSON). Returns the protocol, or EVERY problem found:
 * shape errors from the schema plus cross-field checks (unique ids, counts vs schedule, REMS rules...).
 * Cross-field checks run even when the shape is wrong, so one pass shows everything.
 */
export function parseProtocol(input: unknown): ParseProtocolResult {
  const parsed = ProtocolSchema.safeParse(input, { reportInput: true });
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.map(issueToProblem);
  const seen = new Set(problems.map((p) => `${p.path}|${p.message}`));
  for (const p of checkProtocol(input)) {
    const key = `${p.path}|${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  }
  if (parsed.success && problems.length === 0) return { ok: true, protocol: parsed.data };
  return { ok: false, problems };
}

/** Like parseProtocol, but throws an Error listing every problem. For shipped (trusted) data. */
export function assertProtocol(input: unknown): Protocol {
  const result = parseProtocol(input);
  if (result.ok) return result.protocol;
  throw new Error(`invalid protocol:\n${result.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
}

type ZodIssue = z.core.$ZodIssue;

function issueToProblem(issue: ZodIssue): Problem {
  return { path: formatPath(issue.path), message: issueMessage(issue) };
}

function issueMessage(issue: ZodIssue): string {
  const got = 'input' in issue && issue.input !== undefined ? describe(issue.input) : undefined;
  switch (issue.code) {
    case 'invalid_type':
      if (got === undefined) return 'is required';
      if (issue.expected === 'int') return `must be a whole number, got ${got}`;
      return `must be ${article(issue.expected)}, got ${got}`;
    case 'too_small': {
      const op = issue.inclusive ? '>=' : '>';
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${op} ${issue.minimum}`;
    }
    case 'too_big': {
      const op = issue.inclusive ? '<=' : '<';
      if (issue.origin === 'array') return `must have at most ${issue.maximum} item(s)`;
      return `must be ${op} ${issue.maximum}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got ? `, got ${got}` : ''}`;
    case 'unrecognized_keys':
      return `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_union': {
      // Our only unions are "a number or a literal" (BP check times, escalation targets).
      const options = issue.errors
        .map((branch) => branch[0])
        .filter((i): i is ZodIssue => i !== undefined)
        .map((i) => (i.code === 'invalid_value' ? i.values.map((v) => JSON.stringify(v)).join(' or ') : i.code === 'invalid_type' ? article(i.expected) : i.message));
      return `must be ${options.join(' or ')}${got ? `, got ${got}` : ''}`;
    }
    case 'invalid_format':
      return issue.message;
    default:
      return issue.message;
  }
}

function article(type: string): string {
  if (type === 'array' || type === 'object' || type === 'int') return `an ${type === 'int' ? 'integer' : type}`;
  return `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
