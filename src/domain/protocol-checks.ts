// Cross-field checks on a protocol: what a per-field schema cannot see (unique ids, counts against
// schedules, REMS rules, where steps may sit). They read the raw input defensively, so they still run
// when the shape is partly wrong and `parseProtocol` can report every problem in one pass.
// Only type imports from protocol.ts: a value import would make a module cycle.
import type { Problem } from './problem';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** REMS regulatory floor: at least 2 h on site after Spravato; form within 7 days. */
const REMS_MIN_MONITORING_MINUTES = 120;
const REMS_MAX_FORM_HOURS = 7 * 24;
const INTAKE_KINDS = new Set(['screening', 'clearance', 'consent', 'rems-enrollment']);
const PER_DOSE_KINDS = new Set(['dosing', 'integration', 'rems-monitoring-form']);

interface StepRef {
  path: string;
  phaseIndex: number;
  repeat: string;
  step: Obj;
}

export function checkProtocol(input: unknown): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const p = obj(input);
  if (!p) return problems;

  const course = obj(p.course) ?? {};
  const safety = obj(p.safety) ?? {};
  const assessments = obj(p.assessments) ?? {};
  const rems = obj(p.rems);
  const phases = arr(p.phases).map((ph, i) => ({ index: i, phase: obj(ph) ?? {} }));
  const repeatOf = (phase: Obj) => str(phase.repeat) ?? 'once';

  // --- ids -----------------------------------------------------------------------------------
  const phaseIds = new Map<string, number>();
  for (const { index, phase } of phases) {
    const id = str(phase.id);
    if (id === undefined) continue;
    const first = phaseIds.get(id);
    if (first !== undefined) add(`phases[${index}].id`, `duplicate phase id "${id}" (also phases[${first}])`);
    else phaseIds.set(id, index);
  }

  const steps: StepRef[] = [];
  for (const { index, phase } of phases) {
    arr(phase.steps).forEach((s, j) => {
      const step = obj(s);
      if (step) steps.push({ path: `phases[${index}].steps[${j}]`, phaseIndex: index, repeat: repeatOf(phase), step });
    });
  }
  const stepIds = new Map<string, string>();
  for (const ref of steps) {
    const id = str(ref.step.id);
    if (id === undefined) continue;
    const first = stepIds.get(id);
    if (first !== undefined) add(`${ref.path}.id`, `duplicate step id "${id}" (first at ${first})`);
    else stepIds.set(id, ref.path);
  }
  // A repeated step `prep` expands to `prep-1`; a once-step literally named `prep-1` would collide.
  const expandedCollision = /^(.*)-(\d+d?)$/;
  for (const ref of steps) {
    const id = str(ref.step.id);
    const m = id && ref.repeat === 'once' ? expandedCollision.exec(id) : null;
    if (!m) continue;
    const base = steps.find((r) => r.repeat !== 'once' && r.step.id === m[1]);
    if (base) add(`${ref.path}.id`, `"${id}" collides with the ids planned for repeated step ${base.path}`);
  }

  // --- people: every step that waits on someone needs an owner and a deadline ------------------
  for (const ref of steps) {
    if (ref.step.waitsOn === 'system') continue;
    if (ref.step.owner === undefined) add(`${ref.path}.owner`, 'required for a step that waits on a person');
    if (ref.step.deadlineHours === undefined) add(`${ref.path}.deadlineHours`, 'required for a step that waits on a person');
  }

  // --- phase structure ------------------------------------------------------------------------
  const phaseWith = (repeat: string) => phases.filter(({ phase }) => repeatOf(phase) === repeat);
  for (const repeat of ['per-preparation-session', 'per-dosing-session', 'per-follow-up']) {
    for (const extra of phaseWith(repeat).slice(1)) add(`phases[${extra.index}].repeat`, `only one phase may be "${repeat}"`);
  }
  const dosingPhase = phaseWith('per-dosing-session')[0];
  const prepPhase = phaseWith('per-preparation-session')[0];
  const followPhase = phaseWith('per-follow-up')[0];
  if (phases.length > 0 && !dosingPhase) add('phases', 'needs one phase with repeat "per-dosing-session"');

  if (dosingPhase) {
    const dosingSteps = arr(dosingPhase.phase.steps).map(obj);
    const doseCount = dosingSteps.filter((s) => s?.kind === 'dosing').length;
    if (doseCount !== 1) add(`phases[${dosingPhase.index}].steps`, `must contain exactly one step of kind "dosing" (found ${doseCount})`);
    else if (dosingSteps[0]?.kind !== 'dosing') add(`phases[${dosingPhase.index}].steps[0].kind`, 'the dose must be the first step of its phase, so per-dose steps follow it');
    if (prepPhase && prepPhase.index > dosingPhase.index) add(`phases[${prepPhase.index}]`, 'the preparation phase must come before the dosing phase');
    if (followPhase && followPhase.index < dosingPhase.index) add(`phases[${followPhase.index}]`, 'the follow-up phase must come after the dosing phase');
    for (const ref of steps) {
      const kind = str(ref.step.kind) ?? '';
      if (INTAKE_KINDS.has(kind) && ref.phaseIndex >= dosingPhase.index) add(`${ref.path}.kind`, `a "${kind}" step must come before the dosing phase`);
    }
  }
  for (const ref of steps) {
    const kind = str(ref.step.kind) ?? '';
    if (PER_DOSE_KINDS.has(kind) && ref.repeat !== 'per-dosing-session') add(`${ref.path}.kind`, `a "${kind}" step belongs in the phase that repeats per dosing session`);
  }

  // --- counts and spacing -----------------------------------------------------------------------
  const prepSessions = num(course.preparationSessions);
  if (prepSessions !== undefined && prepSessions > 0 && phases.length > 0 && !prepPhase) {
    add('course.preparationSessions', `is ${prepSessions} but no phase has repeat "per-preparation-session"`);
  }
  if (prepSessions === 0 && prepPhase) add(`phases[${prepPhase.index}].repeat`, 'repeats per preparation session but course.preparationSessions is 0');

  const doses = num(course.dosingSessions);
  const schedule = arr(course.doseScheduleDays);
  const minGap = num(course.minDaysBetweenDoses);
  const maxGap = num(course.maxDaysBetweenDoses);
  if (doses !== undefined && Array.isArray(course.doseScheduleDays) && schedule.length !== doses) {
    add('course.doseScheduleDays', `has ${schedule.length} day(s) but course.dosingSessions is ${doses}`);
  }
  if (schedule.length > 0 && num(schedule[0]) !== undefined && schedule[0] !== 0) {
    add('course.doseScheduleDays[0]', 'must be 0 (days are counted from the first dose)');
  }
  for (let k = 1; k < schedule.length; k++) {
    const prev = num(schedule[k - 1]);
    const cur = num(schedule[k]);
    if (prev === undefined || cur === undefined) continue;
    const gap = cur - prev;
    if (gap <= 0) add(`course.doseScheduleDays[${k}]`, `must be after the previous dose (day ${prev})`);
    else if (minGap !== undefined && gap < minGap) add(`course.doseScheduleDays[${k}]`, `${gap} day(s) after the previous dose, below course.minDaysBetweenDoses (${minGap})`);
    else if (maxGap !== undefined && gap > maxGap) add(`course.doseScheduleDays[${k}]`, `${gap} day(s) after the previous dose, above course.maxDaysBetweenDoses (${maxGap})`);
  }
  if (minGap !== undefined && maxGap !== undefined && minGap > maxGap) add('course.minDaysBetweenDoses', `must be <= course.maxDaysBetweenDoses (${maxGap})`);

  const window = num(course.integrationWindowHours);
  for (const ref of steps.filter((r) => r.step.kind === 'integration')) {
    const deadline = num(ref.step.deadlineHours);
    if (course.integrationWindowHours === undefined) add('course.integrationWindowHours', `required because ${ref.path} is an integration step`);
    else if (window !== undefined && deadline !== undefined && deadline > window) add(`${ref.path}.deadlineHours`, `must be <= course.integrationWindowHours (${window})`);
  }

  // --- assessments ----------------------------------------------------------------------------
  const followUps = arr(assessments.followUps).map(obj);
  for (let k = 1; k < followUps.length; k++) {
    const prev = num(followUps[k - 1]?.afterCourseDays);
    const cur = num(followUps[k]?.afterCourseDays);
    if (prev !== undefined && cur !== undefined && cur <= prev) add(`assessments.followUps[${k}].afterCourseDays`, `must be after the previous follow-up (day ${prev})`);
  }
  if (followUps.length > 0 && phases.length > 0 && !followPhase) add('assessments.followUps', 'scheduled but no phase has repeat "per-follow-up"');
  if (Array.isArray(assessments.followUps) && followUps.length === 0 && followPhase) add(`phases[${followPhase.index}].repeat`, 'repeats per follow-up but assessments.followUps is empty');

  const pointRules: Record<string, { repeat: string; list: string; single: boolean }> = {
    baseline: { repeat: 'once', list: 'baseline', single: true },
    'before-dose': { repeat: 'per-dosing-session', list: 'beforeEachDose', single: true },
    'after-course': { repeat: 'once', list: 'afterCourse', single: true },
    'follow-up': { repeat: 'per-follow-up', list: 'followUps', single: true },
  };
  for (const [point, rule] of Object.entries(pointRules)) {
    const at = steps.filter((r) => r.step.assessmentPoint === point);
    for (const ref of at) {
      if (ref.repeat !== rule.repeat) add(`${ref.path}.assessmentPoint`, `"${point}" belongs on a step in a phase with repeat "${rule.repeat}"`);
    }
    if (rule.single) for (const ref of at.slice(1)) add(`${ref.path}.assessmentPoint`, `only one step may collect the "${point}" assessments (first at ${at[0]!.path})`);
    if (arr(assessments[rule.list]).length > 0 && at.length === 0 && phases.length > 0) {
      add(`assessments.${rule.list}`, `scheduled but no step has assessmentPoint "${point}"`);
    }
  }
  const reminders = obj(assessments.reminders);
  const every = num(reminders?.everyHours);
  const times = num(reminders?.count);
  const expiry = num(assessments.expiryHours);
  if (every !== undefined && times !== undefined && expiry !== undefined && times * every >= expiry) {
    add('assessments.expiryHours', `must be later than the last reminder (${times} x ${every} h = ${times * every} h)`);
  }

  // --- safety ---------------------------------------------------------------------------------
  const bp = obj(safety.bloodPressure) ?? {};
  const checks = arr(bp.checkMinutes);
  const monitoring = num(safety.minMonitoringMinutes);
  if (Array.isArray(bp.checkMinutes) && checks.length > 0 && !checks.includes(0)) add('safety.bloodPressure.checkMinutes', 'must include 0 (a reading before the dose)');
  let lastMinute = -1;
  checks.forEach((c, k) => {
    const path = `safety.bloodPressure.checkMinutes[${k}]`;
    if (c === 'discharge') {
      if (k !== checks.length - 1) add(path, '"discharge" must be the last check');
      return;
    }
    const m = num(c);
    if (m === undefined) return;
    if (m <= lastMinute) add(path, `must be after the previous check (${lastMinute} min)`);
    if (monitoring !== undefined && m > monitoring) add(path, `is after safety.minMonitoringMinutes (${monitoring})`);
    lastMinute = Math.max(lastMinute, m);
  });
  const checklistIds = new Map<string, number>();
  arr(safety.dischargeChecklist).forEach((item, k) => {
    const id = str(obj(item)?.id);
    if (id === undefined) return;
    if (checklistIds.has(id)) add(`safety.dischargeChecklist[${k}].id`, `duplicate checklist item "${id}" (also [${checklistIds.get(id)}])`);
    else checklistIds.set(id, k);
  });

  // --- escalation and maintenance ------------------------------------------------------------------
  const levels = arr(obj(p.escalation)?.levels).map(obj);
  for (let k = 1; k < levels.length; k++) {
    const prev = num(levels[k - 1]?.afterBreachHours);
    const cur = num(levels[k]?.afterBreachHours);
    if (prev !== undefined && cur !== undefined && cur <= prev) add(`escalation.levels[${k}].afterBreachHours`, `must be after the previous level (${prev} h)`);
  }
  const maintenance = obj(p.maintenance) ?? {};
  const minB = num(maintenance.minDaysBetweenBoosters);
  const maxB = num(maintenance.maxDaysBetweenBoosters);
  if (minB !== undefined && maxB !== undefined && minB > maxB) add('maintenance.minDaysBetweenBoosters', `must be <= maintenance.maxDaysBetweenBoosters (${maxB})`);

  // --- REMS -----------------------------------------------------------------------------------
  if (p.modality === 'intranasal-esketamine' && p.rems === undefined) add('rems', 'required for intranasal esketamine (Spravato REMS)');
  const formSteps = steps.filter((r) => r.step.kind === 'rems-monitoring-form');
  if (!rems) {
    for (const ref of formSteps) add(`${ref.path}.kind`, 'a REMS monitoring form step needs a "rems" section');
  } else {
    if (monitoring !== undefined && monitoring < REMS_MIN_MONITORING_MINUTES) {
      add('safety.minMonitoringMinutes', `must be >= ${REMS_MIN_MONITORING_MINUTES} under the Spravato REMS`);
    }
    for (const needed of [0, 40, 'discharge']) {
      if (Array.isArray(bp.checkMinutes) && !checks.includes(needed)) add('safety.bloodPressure.checkMinutes', `must include ${JSON.stringify(needed)} under the Spravato REMS`);
    }
    const formHours = num(rems.monitoringFormDeadlineHours);
    if (formHours !== undefined && formHours > REMS_MAX_FORM_HOURS) add('rems.monitoringFormDeadlineHours', `must be <= ${REMS_MAX_FORM_HOURS} (the REMS form is due within 7 days)`);
    if (formSteps.length === 0 && dosingPhase) add(`phases[${dosingPhase.index}].steps`, 'needs a "rems-monitoring-form" step under the Spravato REMS');
    for (const ref of formSteps) {
      const d = num(ref.step.deadlineHours);
      if (d !== undefined && formHours !== undefined && d > formHours) add(`${ref.path}.deadlineHours`, `must be <= rems.monitoringFormDeadlineHours (${formHours})`);
    }
    if (rems.patientEnrollmentRequired === true && phases.length > 0 && !steps.some((r) => r.step.kind === 'rems-enrollment')) {
      add('phases', 'needs a "rems-enrollment" step before dosing (rems.patientEnrollmentRequired)');
    }
  }
  return problems;
}
