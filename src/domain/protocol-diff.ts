// What changes, in clinical terms, between two versions of a protocol (issue #21): a step added or
// removed, a window shortened from 72 to 48 hours, an owner changed, a threshold moved, a schedule
// changed. Each change is one plain-language sentence with the path it concerns, so an operations
// lead reads what a new version would do without reading JSON. Pure and deterministic.
import type { Protocol, ProtocolPhase, ProtocolStep } from './protocol';

export type ChangeArea = 'general' | 'course' | 'phase' | 'step' | 'safety' | 'assessments' | 'escalation' | 'maintenance' | 'rems';

export interface ProtocolChange {
  area: ChangeArea;
  change: 'added' | 'removed' | 'changed';
  /** Where in the newer version (or the older, for something removed). */
  path: string;
  /** One sentence: "Integration session: deadline shortened from 72 h to 48 h". */
  text: string;
}

type Unit = 'h' | 'min' | 'days' | 'mmHg' | '%' | 'points' | '';
const fmt = (v: unknown, unit: Unit = ''): string => {
  if (v === undefined || v === null) return 'not set';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.map((x) => fmt(x)).join(', ') : 'none';
  if (typeof v === 'number' && unit) return unit === '%' ? `${v}%` : `${v} ${unit}`;
  return String(v);
};
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** "shortened/lengthened" for durations, "raised/lowered" for thresholds and counts. */
function moved(label: string, from: number | undefined, to: number | undefined, unit: Unit, kind: 'duration' | 'level'): string {
  if (from === undefined || to === undefined) return `${label}: ${fmt(from, unit)} → ${fmt(to, unit)}`;
  const verb = kind === 'duration' ? (to < from ? 'shortened' : 'lengthened') : to < from ? 'lowered' : 'raised';
  return `${label} ${verb} from ${fmt(from, unit)} to ${fmt(to, unit)}`;
}

interface Field {
  path: string;
  area: ChangeArea;
  label: string;
  unit?: Unit;
  kind?: 'duration' | 'level' | 'list' | 'value';
}

const FIELDS: Field[] = [
  { path: 'name', area: 'general', label: 'Name' },
  { path: 'modality', area: 'general', label: 'Modality' },
  { path: 'routes', area: 'general', label: 'Routes', kind: 'list' },
  { path: 'course.preparationSessions', area: 'course', label: 'Preparation sessions', kind: 'level' },
  { path: 'course.dosingSessions', area: 'course', label: 'Dosing sessions', kind: 'level' },
  { path: 'course.doseScheduleDays', area: 'course', label: 'Dose schedule (days from the first dose)', kind: 'list' },
  { path: 'course.minDaysBetweenDoses', area: 'course', label: 'Shortest gap between doses', unit: 'days', kind: 'duration' },
  { path: 'course.maxDaysBetweenDoses', area: 'course', label: 'Longest gap between doses', unit: 'days', kind: 'duration' },
  { path: 'course.integrationWindowHours', area: 'course', label: 'Integration window after each dose', unit: 'h', kind: 'duration' },
  { path: 'course.administrationMinutes', area: 'course', label: 'Administration time', unit: 'min', kind: 'duration' },
  { path: 'safety.bloodPressure.maxSystolic', area: 'safety', label: 'Pre-dose hold threshold (systolic)', unit: 'mmHg', kind: 'level' },
  { path: 'safety.bloodPressure.maxDiastolic', area: 'safety', label: 'Pre-dose hold threshold (diastolic)', unit: 'mmHg', kind: 'level' },
  { path: 'safety.bloodPressure.checkMinutes', area: 'safety', label: 'Blood-pressure checks (minutes after dosing starts)', kind: 'list' },
  { path: 'safety.bloodPressure.dischargeMaxAboveBaselineSystolic', area: 'safety', label: 'Discharge: systolic allowed above baseline', unit: 'mmHg', kind: 'level' },
  { path: 'safety.bloodPressure.dischargeMaxAboveBaselineDiastolic', area: 'safety', label: 'Discharge: diastolic allowed above baseline', unit: 'mmHg', kind: 'level' },
  { path: 'safety.fasting.foodHours', area: 'safety', label: 'Fasting from food', unit: 'h', kind: 'duration' },
  { path: 'safety.fasting.clearLiquidsHours', area: 'safety', label: 'Fasting from clear liquids', unit: 'h', kind: 'duration' },
  { path: 'safety.minMonitoringMinutes', area: 'safety', label: 'Post-dose monitoring on site', unit: 'min', kind: 'duration' },
  { path: 'safety.minSpO2Percent', area: 'safety', label: 'Lowest SpO2 allowed', unit: '%', kind: 'level' },
  { path: 'safety.escortRequired', area: 'safety', label: 'Escort required' },
  { path: 'safety.noDrivingHours', area: 'safety', label: 'No driving after a dose', unit: 'h', kind: 'duration' },
  { path: 'safety.benzodiazepinePauseHours', area: 'safety', label: 'Benzodiazepine pause before a dose', unit: 'h', kind: 'duration' },
  { path: 'safety.pregnancyCheck', area: 'safety', label: 'Pregnancy check' },
  { path: 'safety.hardStopOverrideRoles', area: 'safety', label: 'Who may override a screening hard stop', kind: 'list' },
  { path: 'assessments.baseline', area: 'assessments', label: 'Baseline assessments', kind: 'list' },
  { path: 'assessments.beforeEachDose', area: 'assessments', label: 'Assessments before each dose', kind: 'list' },
  { path: 'assessments.afterCourse', area: 'assessments', label: 'Assessments after the course', kind: 'list' },
  { path: 'assessments.reminders.everyHours', area: 'assessments', label: 'Reminder interval for unanswered forms', unit: 'h', kind: 'duration' },
  { path: 'assessments.reminders.count', area: 'assessments', label: 'Reminders per form', kind: 'level' },
  { path: 'assessments.expiryHours', area: 'assessments', label: 'Form expiry', unit: 'h', kind: 'duration' },
  { path: 'assessments.baselineWindowDays', area: 'assessments', label: 'Baseline valid for', unit: 'days', kind: 'duration' },
  { path: 'escalation.safetyAlertRoles', area: 'escalation', label: 'Safety alerts go to', kind: 'list' },
  { path: 'maintenance.boostersOffered', area: 'maintenance', label: 'Boosters offered' },
  { path: 'maintenance.minDaysBetweenBoosters', area: 'maintenance', label: 'Shortest gap between boosters', unit: 'days', kind: 'duration' },
  { path: 'maintenance.maxDaysBetweenBoosters', area: 'maintenance', label: 'Longest gap between boosters', unit: 'days', kind: 'duration' },
  { path: 'maintenance.phq9RiseFromPostCourse', area: 'maintenance', label: 'Booster suggested when PHQ-9 rises by', unit: 'points', kind: 'level' },
  { path: 'maintenance.phq9AtOrAbove', area: 'maintenance', label: 'Booster suggested when PHQ-9 is at or above', kind: 'level' },
  { path: 'maintenance.boosterRule', area: 'maintenance', label: 'Booster rule (relapse, interval or relapse-or-interval; not set = relapse)' },
  { path: 'maintenance.maxBoosters', area: 'maintenance', label: 'Most boosters in maintenance', kind: 'level' },
  { path: 'rems.patientEnrollmentRequired', area: 'rems', label: 'REMS patient enrollment required' },
  { path: 'rems.monitoringFormDeadlineHours', area: 'rems', label: 'REMS monitoring form due within', unit: 'h', kind: 'duration' },
];

function at(p: unknown, path: string): unknown {
  let cur: unknown = p;
  for (const key of path.split('.')) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[key] : undefined;
  return cur;
}

const hours = (h: number | undefined) => (h === undefined ? 'no deadline' : `${h} h`);

function describeStep(step: ProtocolStep, phase: ProtocolPhase): string {
  const who = step.waitsOn === 'system' ? 'run by the system' : `owner ${step.owner ?? 'not set'}, due within ${hours(step.deadlineHours)}`;
  const repeat = phase.repeat === 'once' ? '' : ` (${phase.repeat.replace(/^per-/, 'each ').replace(/-/g, ' ')})`;
  return `"${step.name}" (${step.kind}) in ${phase.name}${repeat}: ${who}`;
}

/** Every clinical change from `before` to `after`, in the order of the newer protocol's structure. */
export function diffProtocols(before: Protocol, after: Protocol): ProtocolChange[] {
  const out: ProtocolChange[] = [];
  const add = (area: ChangeArea, change: ProtocolChange['change'], path: string, text: string) => out.push({ area, change, path, text });

  // Course-level settings first (counts, windows, schedule), then the pathway's phases and steps.
  const fieldChanges = (areas: ChangeArea[]) => {
    for (const f of FIELDS.filter((x) => areas.includes(x.area))) {
      const a = at(before, f.path);
      const b = at(after, f.path);
      if (same(a, b)) continue;
      const change = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
      if ((f.kind === 'duration' || f.kind === 'level') && typeof a === 'number' && typeof b === 'number') add(f.area, change, f.path, moved(f.label, a, b, f.unit ?? '', f.kind));
      else if (f.kind === 'list' && Array.isArray(a) && Array.isArray(b) && f.path !== 'course.doseScheduleDays' && f.path !== 'safety.bloodPressure.checkMinutes') {
        const gone = a.filter((x) => !b.includes(x));
        const added = b.filter((x) => !a.includes(x));
        const parts = [added.length ? `added ${fmt(added)}` : '', gone.length ? `removed ${fmt(gone)}` : ''].filter(Boolean);
        add(f.area, change, f.path, `${f.label}: ${parts.join('; ') || `reordered (${fmt(a)} → ${fmt(b)})`}`);
      } else add(f.area, change, f.path, `${f.label} changed from ${fmt(a, f.unit)} to ${fmt(b, f.unit)}`);
    }
  };
  fieldChanges(['general', 'course']);

  // Phases, matched by id.
  const phasesBefore = new Map(before.phases.map((ph) => [ph.id, ph]));
  const phasesAfter = new Map(after.phases.map((ph) => [ph.id, ph]));
  after.phases.forEach((ph, i) => {
    const old = phasesBefore.get(ph.id);
    if (!old) add('phase', 'added', `phases[${i}]`, `Phase added: ${ph.name} (${ph.steps.length} step(s))`);
    else {
      if (old.name !== ph.name) add('phase', 'changed', `phases[${i}].name`, `Phase "${old.name}" renamed to "${ph.name}"`);
      if (old.repeat !== ph.repeat) add('phase', 'changed', `phases[${i}].repeat`, `Phase ${ph.name} now repeats ${ph.repeat} (was ${old.repeat})`);
    }
  });
  before.phases.forEach((ph, i) => {
    if (!phasesAfter.has(ph.id)) add('phase', 'removed', `phases[${i}]`, `Phase removed: ${ph.name}`);
  });
  if (same(before.phases.map((p) => p.id).filter((id) => phasesAfter.has(id)), after.phases.map((p) => p.id).filter((id) => phasesBefore.has(id))) === false) {
    add('phase', 'changed', 'phases', `Phases reordered: ${after.phases.map((p) => p.name).join(' → ')}`);
  }

  // Steps, matched by id across the whole protocol (a step may move between phases).
  const stepsOf = (p: Protocol) => {
    const m = new Map<string, { step: ProtocolStep; phase: ProtocolPhase; path: string }>();
    p.phases.forEach((phase, i) => phase.steps.forEach((step, j) => m.set(step.id, { step, phase, path: `phases[${i}].steps[${j}]` })));
    return m;
  };
  const stepsBefore = stepsOf(before);
  const stepsAfter = stepsOf(after);
  for (const [id, { step, phase, path }] of stepsAfter) {
    const old = stepsBefore.get(id);
    if (!old) {
      add('step', 'added', path, `Step added: ${describeStep(step, phase)}`);
      continue;
    }
    const name = `"${step.name}"`;
    if (old.step.name !== step.name) add('step', 'changed', `${path}.name`, `Step "${old.step.name}" renamed to ${name}`);
    if (old.phase.id !== phase.id) add('step', 'changed', path, `${name} moved from ${old.phase.name} to ${phase.name}`);
    if (old.step.kind !== step.kind) add('step', 'changed', `${path}.kind`, `${name} is now a ${step.kind} step (was ${old.step.kind})`);
    if (old.step.waitsOn !== step.waitsOn) add('step', 'changed', `${path}.waitsOn`, `${name} now ${step.waitsOn === 'system' ? 'runs by the system' : 'waits on a person'}`);
    if (old.step.owner !== step.owner) add('step', 'changed', `${path}.owner`, `${name}: owner changed from ${fmt(old.step.owner)} to ${fmt(step.owner)}`);
    if (old.step.deadlineHours !== step.deadlineHours) add('step', 'changed', `${path}.deadlineHours`, `${name}: ${moved('deadline', old.step.deadlineHours, step.deadlineHours, 'h', 'duration')}`);
    if (old.step.assessmentPoint !== step.assessmentPoint) add('step', 'changed', `${path}.assessmentPoint`, `${name}: assessments collected ${fmt(step.assessmentPoint)} (was ${fmt(old.step.assessmentPoint)})`);
  }
  for (const [id, { step, phase, path }] of stepsBefore) {
    if (!stepsAfter.has(id)) add('step', 'removed', path, `Step removed: ${describeStep(step, phase)}`);
  }

  fieldChanges(['safety']);
  const checklist = (p: Protocol) => new Map(p.safety.dischargeChecklist.map((c) => [c.id, c.label]));
  const cb = checklist(before);
  const ca = checklist(after);
  after.safety.dischargeChecklist.forEach((c, i) => {
    if (!cb.has(c.id)) add('safety', 'added', `safety.dischargeChecklist[${i}]`, `Discharge checklist item added: ${c.label}`);
    else if (cb.get(c.id) !== c.label) add('safety', 'changed', `safety.dischargeChecklist[${i}].label`, `Discharge checklist item "${cb.get(c.id)}" now reads "${c.label}"`);
  });
  before.safety.dischargeChecklist.forEach((c, i) => {
    if (!ca.has(c.id)) add('safety', 'removed', `safety.dischargeChecklist[${i}]`, `Discharge checklist item removed: ${c.label}`);
  });

  fieldChanges(['assessments']);
  const followUps = (p: Protocol) => p.assessments.followUps.map((f) => `day ${f.afterCourseDays} (${f.instruments.join(', ')})`);
  if (!same(followUps(before), followUps(after))) {
    add('assessments', 'changed', 'assessments.followUps', `Follow-up schedule changed from ${followUps(before).join('; ') || 'none'} to ${followUps(after).join('; ') || 'none'} (days after the last dose)`);
  }

  const ladder = (p: Protocol) => p.escalation.levels.map((l) => `${l.notify} at +${l.afterBreachHours} h`).join(', then ');
  if (ladder(before) !== ladder(after)) add('escalation', 'changed', 'escalation.levels', `Escalation after a missed deadline changed from ${ladder(before)} to ${ladder(after)}`);
  fieldChanges(['escalation', 'maintenance']);

  if (!before.rems && after.rems) add('rems', 'added', 'rems', 'Spravato REMS rules added');
  else if (before.rems && !after.rems) add('rems', 'removed', 'rems', 'Spravato REMS rules removed');
  else fieldChanges(['rems']);
  return out;
}
