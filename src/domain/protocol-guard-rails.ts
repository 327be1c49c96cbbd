// The clinical floor a clinic's own protocol cannot author away (issue #21, guard rails): the pre-dose
// check, the suicide-risk screen, post-dose monitoring at least the label minimum, and the Spravato
// REMS form and enrollment for esketamine. Each refusal names its rule, the path it concerns, what is
// wrong in plain language, and the source of the rule (clinical.md), so an operations lead can see
// why and a clinician can check it. Pure, and defensive like protocol-checks: it reads the raw input,
// so it reports even on a draft whose shape is partly wrong.
import type { Problem } from './problem';

export interface GuardRailViolation extends Problem {
  /** Stable rule id, e.g. `pre-dose-check`. */
  rule: string;
  /** Where the rule comes from. */
  source: string;
}

export const GUARD_RAIL_SOURCES = {
  preDose: 'Spravato label (consider delaying if BP > 140/90) and clinical.md section 3 (safety checks before each dose: blood pressure, escort, C-SSRS screen)',
  suicide: 'C-SSRS triage guidance (Columbia) and Simon et al., Psychiatric Services 2013 (PHQ-9 item 9); clinical.md sections 3 and 4',
  spravatoMonitoring: 'Spravato label and REMS: at least 2 hours on site after each session (spravatorems.com); clinical.md section 3',
  ivMonitoring: 'IV ketamine practice: 30-60 min recovery after the infusion; clinical.md section 3',
  rems: 'Spravato REMS: patient enrollment before treatment, and the Patient Monitoring Form after every session within 7 days (spravatorems.com); clinical.md section 3',
  spravatoMaintenance: 'Spravato label: from week 5 on, once weekly, then once weekly or every 2 weeks (never more often than weekly in maintenance); clinical.md section 1',
} as const;

/** Spravato label: maintenance sessions at most once a week. */
export const SPRAVATO_MIN_DAYS_BETWEEN_BOOSTERS = 7;

/** Spravato label: at least 120 minutes on site after each session. */
export const SPRAVATO_MIN_MONITORING_MINUTES = 120;
/** The BP a dose is held above (Spravato label: consider delaying above 140/90). */
export const MAX_PRE_DOSE_SYSTOLIC = 140;
export const MAX_PRE_DOSE_DIASTOLIC = 90;
const IV_MIN_RECOVERY_MINUTES = 30;
const DEFAULT_IV_ADMINISTRATION_MINUTES = 40;
const REMS_FORM_MAX_HOURS = 7 * 24;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Every guard rail the protocol breaks (empty: none). */
export function checkGuardRails(input: unknown): GuardRailViolation[] {
  const out: GuardRailViolation[] = [];
  const p = obj(input);
  if (!p) return out;
  const add = (rule: string, path: string, message: string, source: string) => out.push({ rule, path, message, source });

  const safety = obj(p.safety) ?? {};
  const bp = obj(safety.bloodPressure) ?? {};
  const assessments = obj(p.assessments) ?? {};
  const phases = arr(p.phases).map((ph, i) => ({ index: i, phase: obj(ph) ?? {} }));
  const dosing = phases.find(({ phase }) => phase.repeat === 'per-dosing-session');
  const dosingSteps = dosing ? arr(dosing.phase.steps).map((s, j) => ({ path: `phases[${dosing.index}].steps[${j}]`, step: obj(s) ?? {} })) : [];
  const dose = dosingSteps.find((s) => s.step.kind === 'dosing');

  // --- the pre-dose check ----------------------------------------------------------------------
  if (!dose) add('pre-dose-check', dosing ? `phases[${dosing.index}].steps` : 'phases', 'every dose needs its dosing step, where the pre-dose check is recorded before the dose is given', GUARD_RAIL_SOURCES.preDose);
  else if (dose.step.waitsOn === 'system') add('pre-dose-check', `${dose.path}.waitsOn`, 'the dosing step must wait on a person: a clinician records the pre-dose check before each dose', GUARD_RAIL_SOURCES.preDose);
  if (Array.isArray(bp.checkMinutes) && !bp.checkMinutes.includes(0)) {
    add('pre-dose-check', 'safety.bloodPressure.checkMinutes', 'must include 0: blood pressure is taken before every dose', GUARD_RAIL_SOURCES.preDose);
  }
  const sys = num(bp.maxSystolic);
  const dia = num(bp.maxDiastolic);
  if (sys !== undefined && sys > MAX_PRE_DOSE_SYSTOLIC) add('pre-dose-check', 'safety.bloodPressure.maxSystolic', `${sys} mmHg would let a dose go ahead above ${MAX_PRE_DOSE_SYSTOLIC} systolic; the limit may be lowered, not raised`, GUARD_RAIL_SOURCES.preDose);
  if (dia !== undefined && dia > MAX_PRE_DOSE_DIASTOLIC) add('pre-dose-check', 'safety.bloodPressure.maxDiastolic', `${dia} mmHg would let a dose go ahead above ${MAX_PRE_DOSE_DIASTOLIC} diastolic; the limit may be lowered, not raised`, GUARD_RAIL_SOURCES.preDose);
  if (safety.escortRequired === false) add('pre-dose-check', 'safety.escortRequired', 'must be true: the pre-dose check confirms an escort / ride home (no driving until the next day)', GUARD_RAIL_SOURCES.preDose);

  // --- the suicide-risk screen -----------------------------------------------------------------
  const has = (list: unknown, id: string) => arr(list).includes(id);
  if (obj(p.assessments)) {
    for (const id of ['cssrs', 'phq9'] as const) {
      if (!has(assessments.baseline, id)) add('suicide-risk-screen', 'assessments.baseline', `must include ${id}: no dose without the client's own baseline ${id === 'cssrs' ? 'C-SSRS' : 'PHQ-9 (item 9)'}`, GUARD_RAIL_SOURCES.suicide);
    }
    if (!has(assessments.beforeEachDose, 'cssrs')) add('suicide-risk-screen', 'assessments.beforeEachDose', 'must include cssrs: the C-SSRS "since last visit" screen before every dose', GUARD_RAIL_SOURCES.suicide);
  }
  if (dose && dose.step.assessmentPoint !== 'before-dose') add('suicide-risk-screen', `${dose.path}.assessmentPoint`, 'must be "before-dose": the dosing step collects the suicide-risk screen the pre-dose check reads', GUARD_RAIL_SOURCES.suicide);
  const alertRoles = arr(obj(p.escalation)?.safetyAlertRoles);
  if (Array.isArray(obj(p.escalation)?.safetyAlertRoles) && !alertRoles.some((r) => r === 'prescriber' || r === 'therapist')) {
    add('suicide-risk-screen', 'escalation.safetyAlertRoles', 'must include a clinician (prescriber or therapist): a critical answer alerts a clinician at once', GUARD_RAIL_SOURCES.suicide);
  }

  // --- post-dose monitoring ----------------------------------------------------------------------
  const monitoring = num(safety.minMonitoringMinutes);
  if (p.modality === 'intranasal-esketamine' && monitoring !== undefined && monitoring < SPRAVATO_MIN_MONITORING_MINUTES) {
    add('post-dose-monitoring', 'safety.minMonitoringMinutes', `${monitoring} min is below the Spravato label minimum of ${SPRAVATO_MIN_MONITORING_MINUTES} min on site after each session`, GUARD_RAIL_SOURCES.spravatoMonitoring);
  }
  if (p.modality === 'iv-infusion' && monitoring !== undefined) {
    const administration = num(obj(p.course)?.administrationMinutes) ?? DEFAULT_IV_ADMINISTRATION_MINUTES;
    const floor = administration + IV_MIN_RECOVERY_MINUTES;
    if (monitoring < floor) add('post-dose-monitoring', 'safety.minMonitoringMinutes', `${monitoring} min leaves less than ${IV_MIN_RECOVERY_MINUTES} min of recovery after a ${administration} min infusion (at least ${floor} min)`, GUARD_RAIL_SOURCES.ivMonitoring);
  }

  // --- the REMS, for esketamine ----------------------------------------------------------------------
  if (p.modality === 'intranasal-esketamine') {
    const rems = obj(p.rems);
    if (!rems) add('rems-form', 'rems', 'esketamine (Spravato) is dispensed only under the REMS: the "rems" section is required', GUARD_RAIL_SOURCES.rems);
    if (!dosingSteps.some((s) => s.step.kind === 'rems-monitoring-form')) {
      add('rems-form', dosing ? `phases[${dosing.index}].steps` : 'phases', 'needs a "rems-monitoring-form" step after every session: the REMS Patient Monitoring Form', GUARD_RAIL_SOURCES.rems);
    }
    const formHours = num(rems?.monitoringFormDeadlineHours);
    if (formHours !== undefined && formHours > REMS_FORM_MAX_HOURS) add('rems-form', 'rems.monitoringFormDeadlineHours', `${formHours} h is later than the REMS deadline of 7 days (${REMS_FORM_MAX_HOURS} h)`, GUARD_RAIL_SOURCES.rems);
    if (rems && rems.patientEnrollmentRequired !== true) add('rems-enrollment', 'rems.patientEnrollmentRequired', 'must be true: a patient is enrolled in the REMS before the first session', GUARD_RAIL_SOURCES.rems);
    const enrollment = phases.some(({ phase }) => arr(phase.steps).some((s) => obj(s)?.kind === 'rems-enrollment'));
    if (!enrollment) add('rems-enrollment', 'phases', 'needs a "rems-enrollment" step before dosing', GUARD_RAIL_SOURCES.rems);
    // A booster is a session like any other (its own pre-dose check, monitoring and REMS form: they
    // come from the dosing phase); its spacing is the label's maintenance schedule.
    const maintenance = obj(p.maintenance);
    const minBoosterDays = num(maintenance?.minDaysBetweenBoosters);
    if (maintenance?.boostersOffered === true && minBoosterDays !== undefined && minBoosterDays < SPRAVATO_MIN_DAYS_BETWEEN_BOOSTERS) {
      add('booster-spacing', 'maintenance.minDaysBetweenBoosters', `${minBoosterDays} days would let boosters come more often than the Spravato label's once a week in maintenance (at least ${SPRAVATO_MIN_DAYS_BETWEEN_BOOSTERS} days)`, GUARD_RAIL_SOURCES.spravatoMaintenance);
    }
  }
  return out;
}
