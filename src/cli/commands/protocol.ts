// `kap protocol list | show <id> | validate <file>`: inspect shipped protocols, check a clinic's own.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getProtocol, listProtocols, parseProtocol, planCourse, type Protocol } from '../../domain';

export function describeProtocol(p: Protocol): string {
  const c = p.course;
  const s = p.safety;
  const a = p.assessments;
  const hours = (h: number) => (h % 24 === 0 && h >= 48 ? `${h / 24} d` : `${h} h`);
  const lines = [
    `${p.name} (${p.id} v${p.version})`,
    ...(p.description ? [p.description] : []),
    `Modality: ${p.modality}; routes: ${p.routes.join(', ')}`,
    '',
    'Course',
    `  preparation sessions: ${c.preparationSessions}`,
    `  dosing sessions: ${c.dosingSessions} on days ${c.doseScheduleDays.join(', ')} (${c.minDaysBetweenDoses}-${c.maxDaysBetweenDoses} days apart)`,
    ...(c.integrationWindowHours ? [`  integration within ${c.integrationWindowHours} h of each dose`] : []),
    ...(c.administrationMinutes ? [`  administration: ${c.administrationMinutes} min`] : []),
    '',
    'Phases and steps (owner, deadline from when the step opens)',
  ];
  for (const phase of p.phases) {
    lines.push(`  ${phase.name} [${phase.id}]${phase.repeat === 'once' ? '' : ` (${phase.repeat})`}`);
    for (const st of phase.steps) {
      const who = st.waitsOn === 'system' ? 'system' : `${st.owner ?? '?'}, ${st.deadlineHours !== undefined ? hours(st.deadlineHours) : '?'}`;
      lines.push(`    - ${st.name} [${st.id}, ${st.kind}] ${who}${st.assessmentPoint ? `; assessments: ${st.assessmentPoint}` : ''}`);
    }
  }
  lines.push(
    `  => ${planCourse(p).length} planned steps`,
    '',
    'Safety',
    `  hold if BP > ${s.bloodPressure.maxSystolic}/${s.bloodPressure.maxDiastolic}; BP checks at ${s.bloodPressure.checkMinutes.map((m) => (m === 'discharge' ? 'discharge' : `${m} min`)).join(', ')}`,
    `  fasting: food ${s.fasting.foodHours} h, clear liquids ${s.fasting.clearLiquidsHours} h; benzodiazepine pause ${s.benzodiazepinePauseHours} h`,
    `  monitoring at least ${s.minMonitoringMinutes} min${s.minSpO2Percent ? `; SpO2 >= ${s.minSpO2Percent}%` : ''}; escort ${s.escortRequired ? 'required' : 'not required'}; no driving ${s.noDrivingHours} h`,
    `  discharge: BP within +${s.bloodPressure.dischargeMaxAboveBaselineSystolic}/+${s.bloodPressure.dischargeMaxAboveBaselineDiastolic} of baseline; ${s.dischargeChecklist.map((i) => i.label).join('; ')}`,
    '',
    'Assessments',
    `  baseline: ${a.baseline.join(', ') || '-'}; before each dose: ${a.beforeEachDose.join(', ') || '-'}; after course: ${a.afterCourse.join(', ') || '-'}`,
    `  follow-ups: ${a.followUps.map((f) => `day ${f.afterCourseDays} (${f.instruments.join(', ')})`).join('; ') || '-'}`,
    `  reminders every ${a.reminders.everyHours} h x${a.reminders.count}; expire after ${a.expiryHours} h`,
    '',
    'Escalation',
    `  ${p.escalation.levels.map((l) => `${l.notify} at +${l.afterBreachHours} h`).join(', then ')}; safety alerts to ${p.escalation.safetyAlertRoles.join(', ')}`,
    '',
    'Maintenance',
    `  boosters ${p.maintenance.boostersOffered ? `every ${p.maintenance.minDaysBetweenBoosters}-${p.maintenance.maxDaysBetweenBoosters} days` : 'not offered'}; suggest when PHQ-9 rises >= ${p.maintenance.phq9RiseFromPostCourse} from post-course or is >= ${p.maintenance.phq9AtOrAbove}`,
  );
  if (p.rems) {
    lines.push('', 'REMS', `  ${p.rems.program}: patient enrollment ${p.rems.patientEnrollmentRequired ? 'required' : 'not required'}; monitoring form within ${p.rems.monitoringFormDeadlineHours} h of each session`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const group = program.command('protocol').description('list, inspect and validate care-pathway protocols');

  group
    .command('list')
    .description('list the shipped protocols')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => {
      const rows = listProtocols().map((p) => ({ id: p.id, version: p.version, name: p.name, modality: p.modality, steps: planCourse(p).length }));
      if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) process.stdout.write(`${`${r.id}@${r.version}`.padEnd(20)} ${r.modality.padEnd(22)} ${r.name}\n`);
    });

  group
    .command('show')
    .description('show a protocol: phases, steps, owners, deadlines, thresholds')
    .argument('<id>', 'protocol id, e.g. kap-office')
    .option('--version <n>', 'a specific version (default: latest)', (v) => Number(v))
    .option('--json', 'print the full protocol as JSON (a starting point for a clinic\'s own)')
    .action((id: string, opts: { version?: number; json?: boolean }) => {
      const p = getProtocol(id, opts.version);
      if (!p) {
        const known = listProtocols().map((x) => `${x.id}@${x.version}`).join(', ');
        process.stderr.write(`kap protocol show: unknown protocol "${id}${opts.version ? `@${opts.version}` : ''}" (known: ${known})\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(opts.json ? `${JSON.stringify(p, null, 2)}\n` : `${describeProtocol(p)}\n`);
    });

  group
    .command('validate')
    .description('check a protocol JSON file; prints OK or every problem with its path')
    .argument('<file>', 'path to a protocol .json file')
    .action((file: string) => {
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        process.stderr.write(`kap protocol validate: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const result = parseProtocol(data);
      if (result.ok) {
        process.stdout.write(`OK: ${result.protocol.id} v${result.protocol.version} (${planCourse(result.protocol).length} planned steps)\n`);
        return;
      }
      process.stderr.write(`${file}: ${result.problems.length} problem(s)\n`);
      for (const p of result.problems) process.stderr.write(`  ${p.path}: ${p.message}\n`);
      process.exitCode = 2;
    });
}
