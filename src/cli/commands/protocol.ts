// `kap protocol list | show <id> | validate <file>`: inspect shipped protocols, check a clinic's own.
// `kap protocol draft | check | publish | diff` (and `list --clinic`): author a clinic's own protocols
// through the engine's API (src/api/routes/protocols.ts): draft from a template or a file, check,
// compare with the version in use, publish (clinic admins).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getProtocol, listProtocols, parseProtocol, planCourse, type Protocol } from '../../domain';
import { checkGuardRails } from '../../domain/protocol-guard-rails';
import { api, run, withApiOptions, type ApiOptions } from './actions';

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
    `  boosters ${p.maintenance.boostersOffered ? `every ${p.maintenance.minDaysBetweenBoosters}-${p.maintenance.maxDaysBetweenBoosters} days` : 'not offered'}; suggest when PHQ-9 rises >= ${p.maintenance.phq9RiseFromPostCourse} from post-course or is >= ${p.maintenance.phq9AtOrAbove}; booster rule ${p.maintenance.boosterRule ?? 'relapse'}${p.maintenance.maxBoosters ? `, at most ${p.maintenance.maxBoosters}` : ''}`,
  );
  if (p.rems) {
    lines.push('', 'REMS', `  ${p.rems.program}: patient enrollment ${p.rems.patientEnrollmentRequired ? 'required' : 'not required'}; monitoring form within ${p.rems.monitoringFormDeadlineHours} h of each session`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const group = program.command('protocol').description('list, inspect and validate care-pathway protocols');

  withApiOptions(
    group
      .command('list')
      .description('list the shipped protocols; with --clinic, also the clinic\'s own (versions, the one in use, the draft) from the engine')
      .option('--clinic <id>', "also list this clinic's own protocols (asks the engine)"),
  ).action(async (opts: ApiOptions & { clinic?: string }) => {
      if (opts.clinic) {
        const clinic = opts.clinic;
        await run(opts, () => api<ProtocolList>(opts, 'GET', `/api/protocols?clinicId=${encodeURIComponent(clinic)}`), describeList);
        return;
      }
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

  registerAuthoring(group);
}

interface ProtocolList {
  protocols: Array<{ id: string; version: number; name: string; modality: string }>;
  clinicProtocols: Array<{ clinicId: string; protocolId: string; name: string; inUse: number | null; versions: Array<{ version: number; publishedAt: string; reason: string | null }>; draft: { version: number; basedOn: string | null } | null }>;
}

interface DraftAnswer {
  protocolId: string;
  version: number;
  hash: string;
  definition: Protocol;
  problems: Array<{ path: string; message: string }>;
  guardRails: Array<{ rule: string; path: string; message: string; source: string }>;
  comparedWith?: string | null;
  changes?: Array<{ text: string }>;
}

function describeList(l: ProtocolList): string {
  const lines = ['Templates (shipped):', ...l.protocols.map((p) => `  ${`${p.id}@${p.version}`.padEnd(20)} ${p.name}`)];
  if (!l.clinicProtocols.length) lines.push('', 'No protocols of your own yet: kap protocol draft --clinic <id> --template <id> --reason "..."');
  for (const c of l.clinicProtocols) {
    lines.push('', `${c.clinicId} / ${c.protocolId}: ${c.name}`, `  in use for new enrolments: ${c.inUse ? `v${c.inUse}` : '(none: the shipped template)'}`);
    for (const v of c.versions) lines.push(`  v${v.version} published ${v.publishedAt}${v.reason ? `: ${v.reason}` : ''}`);
    if (c.draft) lines.push(`  draft v${c.draft.version}${c.draft.basedOn ? ` (from ${c.draft.basedOn})` : ''}`);
  }
  return lines.join('\n');
}

function describeDraft(d: DraftAnswer, title = `draft ${d.protocolId} v${d.version} (hash ${d.hash.slice(0, 12)})`): string {
  const lines = [title];
  lines.push(d.problems.length ? `${d.problems.length} problem(s):` : 'no problems');
  for (const p of d.problems) lines.push(`  ${p.path}: ${p.message}`);
  lines.push(d.guardRails.length ? `${d.guardRails.length} guard rail(s) broken: it cannot be published` : 'every guard rail kept');
  for (const g of d.guardRails) lines.push(`  [${g.rule}] ${g.path}: ${g.message}`, `      source: ${g.source}`);
  if (d.changes) {
    lines.push(d.changes.length ? `Changes against ${d.comparedWith}:` : `No changes against ${d.comparedWith}`);
    for (const c of d.changes) lines.push(`  - ${c.text}`);
  }
  return lines.join('\n');
}

interface RehearsalView {
  passed: boolean;
  sandboxClinicId: string;
  clients: number;
  matched: number;
  unfinished: number;
  byProfile: Record<string, { expected: string; count: number; matched: number; finals: Record<string, number> }>;
  waits: Array<{ step: string; owner: string | null; courses: number; meanHours: number; maxHours: number }>;
  stuck: Array<{ step: string; owner: string | null; times: number }>;
  emailsPerClient: { min: number; max: number; mean: number };
  staffEmails: number;
  reasons: string[];
}

function describeRehearsal(protocolId: string, d: { summary: RehearsalView; hash: string; stored: boolean; version: number }): string {
  const s = d.summary;
  const lines = [`rehearsal of ${protocolId} draft v${d.version} (hash ${d.hash.slice(0, 12)}) in sandbox ${s.sandboxClinicId}: ${s.passed ? 'PASSED' : 'NOT PASSED'}`];
  lines.push(`  ${s.matched}/${s.clients} courses ended as their profile predicts${s.unfinished ? `; ${s.unfinished} not ended` : ''}`);
  for (const [profile, v] of Object.entries(s.byProfile)) lines.push(`  ${profile.padEnd(18)} ${String(v.count).padStart(3)} expected ${v.expected.padEnd(10)} got ${JSON.stringify(v.finals)}`);
  lines.push('  Longest waits (protocol hours, per step and owner):');
  for (const w of s.waits) lines.push(`    ${w.step.padEnd(24)} ${String(w.owner).padEnd(12)} mean ${w.meanHours} h, max ${w.maxHours} h (${w.courses} course(s))`);
  lines.push(s.stuck.length ? '  Past their deadline (the stuck board):' : '  Nothing went past its deadline.');
  for (const st of s.stuck) lines.push(`    ${st.step.padEnd(24)} ${String(st.owner).padEnd(12)} ${st.times} time(s)`);
  lines.push(`  Emails per client: ${s.emailsPerClient.min}-${s.emailsPerClient.max} (mean ${s.emailsPerClient.mean}); staff emails: ${s.staffEmails}`);
  for (const r of s.reasons) lines.push(`  not passed: ${r}`);
  if (!d.stored) lines.push('  not kept: the draft changed while it was rehearsed; rehearse it again');
  return lines.join('\n');
}

function readProtocolFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON (${(err as Error).message}); protocols are JSON files (kap protocol show <id> --json gives one to start from)`);
  }
}

const enc = encodeURIComponent;

function registerAuthoring(group: Command): void {
  withApiOptions(
    group
      .command('draft')
      .description("start a clinic's draft from a shipped template, one of its versions or a file; or replace a draft (--edit) with a file")
      .requiredOption('--clinic <id>', 'the clinic')
      .option('--template <id>', 'copy a shipped protocol (kap protocol list)')
      .option('--copy-of <id>', "copy one of the clinic's own published protocols (its version in use, or --source-version)")
      .option('--source-version <n>', 'the version of --template or --copy-of to copy', (v) => Number(v))
      .option('--file <file>', 'a protocol JSON file (a new draft, or with --edit the draft\'s new content)')
      .option('--edit <protocolId>', 'replace the draft of this protocol with --file')
      .option('--id <protocolId>', "the new draft's protocol id (default: the source's)")
      .option('--out <file>', "write the draft's protocol to this file, to edit and upload with --edit")
      .requiredOption('--reason <text>', 'why (kept in the audit log)'),
  ).action(async (o: ApiOptions & { clinic: string; template?: string; copyOf?: string; sourceVersion?: number; file?: string; edit?: string; id?: string; out?: string; reason: string }) => {
    await run(
      o,
      async () => {
        let d: DraftAnswer;
        if (o.edit) {
          if (!o.file) throw new Error('--edit needs --file <protocol.json>');
          d = await api<DraftAnswer>(o, 'PUT', `/api/clinics/${enc(o.clinic)}/protocols/${enc(o.edit)}/draft`, { protocol: readProtocolFile(o.file), reason: o.reason });
        } else {
          const sources = [o.template, o.copyOf, o.file].filter((x) => x !== undefined);
          if (sources.length !== 1) throw new Error('give exactly one of --template, --copy-of or --file');
          const body: Record<string, unknown> = { reason: o.reason, ...(o.id ? { protocolId: o.id } : {}) };
          if (o.template) Object.assign(body, { template: o.template }, o.sourceVersion ? { templateVersion: o.sourceVersion } : {});
          else if (o.copyOf) Object.assign(body, { copyOf: o.copyOf }, o.sourceVersion ? { copyVersion: o.sourceVersion } : {});
          else body.protocol = readProtocolFile(o.file!);
          d = await api<DraftAnswer>(o, 'POST', `/api/clinics/${enc(o.clinic)}/protocols`, body);
        }
        if (o.out) writeFileSync(o.out, `${JSON.stringify(d.definition, null, 2)}\n`);
        return d;
      },
      (d) => `${describeDraft(d)}${o.out ? `\nwritten to ${o.out}` : ''}`,
    );
  });

  withApiOptions(
    group
      .command('check')
      .description("check a clinic's draft (problems, guard rails, changes against the version in use), or a local file (problems and guard rails)")
      .argument('<protocolIdOrFile>', 'a protocol id (with --clinic) or a .json file')
      .option('--clinic <id>', "check this clinic's draft of the protocol (asks the engine)")
      .option('--out <file>', "write the draft's protocol to this file"),
  ).action(async (target: string, o: ApiOptions & { clinic?: string; out?: string }) => {
    if (!o.clinic) {
      // A local file: the same checks the engine makes, without the engine.
      let data: unknown;
      try {
        data = readProtocolFile(target);
      } catch (err) {
        process.stderr.write(`kap protocol check: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const parsed = parseProtocol(data);
      const d = { protocolId: String((data as { id?: unknown })?.id ?? '?'), version: Number((data as { version?: unknown })?.version ?? 0), hash: '', problems: parsed.ok ? [] : parsed.problems, guardRails: checkGuardRails(parsed.ok ? parsed.protocol : data) };
      if (o.json) process.stdout.write(`${JSON.stringify({ ok: !d.problems.length && !d.guardRails.length, problems: d.problems, guardRails: d.guardRails }, null, 2)}\n`);
      else process.stdout.write(`${describeDraft({ ...d, definition: data as Protocol }, `${target}: ${d.protocolId} v${d.version}`)}\n`);
      if (d.problems.length || d.guardRails.length) process.exitCode = 2;
      return;
    }
    const clinic = o.clinic;
    await run(
      o,
      async () => {
        const d = await api<DraftAnswer>(o, 'GET', `/api/clinics/${enc(clinic)}/protocols/${enc(target)}/draft`);
        if (o.out) writeFileSync(o.out, `${JSON.stringify(d.definition, null, 2)}\n`);
        if (d.problems.length || d.guardRails.length) process.exitCode = 2;
        return d;
      },
      (d) => describeDraft(d),
    );
  });

  withApiOptions(
    group
      .command('publish')
      .description("publish a clinic's draft as an immutable version that new enrolments use (clinic admins); refused with each broken guard rail")
      .argument('<protocolId>')
      .requiredOption('--clinic <id>', 'the clinic')
      .requiredOption('--reason <text>', 'why (kept in the audit log)')
      .option('--hash <sha256>', 'the draft hash you checked: refused if the draft changed since'),
  ).action(async (protocolId: string, o: ApiOptions & { clinic: string; reason: string; hash?: string }) => {
    await run(
      o,
      () => api<{ protocolId: string; version: number; hash: string }>(o, 'POST', `/api/clinics/${enc(o.clinic)}/protocols/${enc(protocolId)}/publish`, { reason: o.reason, ...(o.hash ? { hash: o.hash } : {}) }),
      (v) => `published ${v.protocolId} v${v.version} (hash ${v.hash.slice(0, 12)}): new enrolments of ${o.clinic} use it; running courses keep their version`,
    );
  });

  withApiOptions(
    group
      .command('rehearse')
      .description("rehearse a clinic's draft on synthetic clients through the real engine (a sandbox clinic whose emails stay on the machine); the summary is kept on the draft, and publishing needs a passing one")
      .argument('<protocolId>')
      .requiredOption('--clinic <id>', 'the clinic')
      .option('--clients <n>', 'synthetic clients (seeded profiles: complete, no-show, BP hold, safety escalation, withdrawal, ineligible)', '50')
      .option('--seed <k>', 'random seed', '1')
      .option('--time-scale <s>', 'protocol days per real day (86400 = a day per second)', '216000')
      .option('--concurrency <n>', 'courses driven at once', '8'),
  ).action(async (protocolId: string, o: ApiOptions & { clinic: string; clients: string; seed: string; timeScale: string; concurrency: string }) => {
    await run(
      o,
      async () => {
        const sandbox = await api<{ sandboxClinicId: string; token: string; hash: string; version: number; definition: Protocol }>(o, 'POST', `/api/clinics/${enc(o.clinic)}/protocols/${enc(protocolId)}/draft/sandbox`, {});
        const { simulate } = await import('./simulate');
        const url = (o.url ?? process.env.KAP_URL ?? process.env.PUBLIC_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/+$/, '');
        const timeScale = Number(o.timeScale);
        await simulate({ clients: Number(o.clients), protocol: protocolId, timeScale, seed: Number(o.seed), concurrency: Number(o.concurrency), url, token: sandbox.token, rehearsal: { clinicId: sandbox.sandboxClinicId, definition: sandbox.definition } });
        const done = await api<{ summary: RehearsalView; hash: string; stored: boolean }>(o, 'POST', `/api/clinics/${enc(o.clinic)}/protocols/${enc(protocolId)}/draft/rehearsal`, { sandboxClinicId: sandbox.sandboxClinicId, timeScale });
        if (!done.summary.passed || !done.stored) process.exitCode = 3;
        return { ...done, version: sandbox.version };
      },
      (d) => describeRehearsal(protocolId, d),
    );
  });

  withApiOptions(
    group
      .command('diff')
      .description('what changes, in clinical terms, between two versions of a clinic\'s protocol')
      .argument('<protocolId>')
      .requiredOption('--clinic <id>', 'the clinic')
      .option('--from <v>', 'a version number, draft, template or in-use', 'in-use')
      .option('--to <v>', 'a version number, draft, template or in-use', 'draft'),
  ).action(async (protocolId: string, o: ApiOptions & { clinic: string; from: string; to: string }) => {
    await run(
      o,
      () => api<{ from: string; to: string; changes: Array<{ text: string }> }>(o, 'GET', `/api/clinics/${enc(o.clinic)}/protocols/${enc(protocolId)}/diff?from=${enc(o.from)}&to=${enc(o.to)}`),
      (d) => [`${protocolId}: ${d.from} → ${d.to}`, ...(d.changes.length ? d.changes.map((c) => `  - ${c.text}`) : ['  no changes'])].join('\n'),
    );
  });
}
