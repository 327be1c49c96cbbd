// `kap status <courseId>`: a course's status, current step and every step so far, with the client's
// name and every time in the clinic's time zone, to the minute (--json: the API's body unchanged).
import type { Command } from 'commander';
import { clinicLocalTime, relativeTime } from '../../format-time';
import { api, run, withApiOptions, type ApiOptions } from './actions';
import type { CoursesJson } from './courses';

interface CourseJson {
  id: string;
  clientId: string;
  clinicId: string;
  protocol: { id: string; version: number };
  status: string;
  currentStep: string | null;
  currentStepDeadline: string | null;
  riskLevel: string;
  steps?: Array<{ key: string; state: string; ownerRole: string | null; deadlineAt: string | null; completedAt: string | null; outcome: string | null }>;
  safetyHolds?: Array<{ id: string; kind: string; level: string | null; reason: string; suicideRisk: boolean; closesWhen: string }>;
  decisions?: Array<{ at: string; summary: string }>;
  pcl5?: Array<{ stepKey: string; total: number; dsm5CriteriaMet: boolean; clusters: Record<string, { endorsed: number; required: number }> }>;
}

/** The client's name, the clinic's name and time zone, from the worklist's row of the course (no extra read of the record). */
async function namesOf(o: ApiOptions, c: CourseJson): Promise<{ clientName: string; clinicName: string; timeZone: string }> {
  try {
    const list = await api<CoursesJson>(o, 'GET', `/api/courses?clientId=${encodeURIComponent(c.clientId)}&limit=100`);
    const row = list.courses.find((x) => x.id === c.id);
    if (row) return { clientName: row.clientName, clinicName: row.clinicName, timeZone: row.clinicTimeZone };
  } catch {
    // Fall back to the ids and UTC: the course itself was readable.
  }
  return { clientName: `client ${c.clientId}`, clinicName: c.clinicId, timeZone: 'UTC' };
}

export function human(c: CourseJson, n: { clientName: string; clinicName: string; timeZone: string }, now = new Date()): string {
  const t = (iso: string) => clinicLocalTime(iso, n.timeZone);
  return [
    `${n.clientName}: course ${c.id} (${c.protocol.id} v${c.protocol.version}) at ${n.clinicName}`,
    `status ${c.status}, risk ${c.riskLevel}, current step ${c.currentStep ?? '-'}${c.currentStepDeadline ? ` due ${t(c.currentStepDeadline)} (${relativeTime(c.currentStepDeadline, now)})` : ''}`,
    ...(c.steps ?? []).map((s) => `  ${s.key.padEnd(26)} ${s.state.padEnd(9)} ${(s.ownerRole ?? '').padEnd(12)} ${s.completedAt ? `done ${t(s.completedAt)}${s.outcome ? ` (${s.outcome})` : ''}` : s.deadlineAt ? `due ${t(s.deadlineAt)}` : ''}`),
    // The open safety holds (exactly the workflow's), what was decided, and the PCL-5 cluster rule.
    (c.safetyHolds ?? []).length ? `open safety holds (${c.safetyHolds!.length}):` : 'no open safety holds',
    ...(c.safetyHolds ?? []).map((h) => `  ${h.suicideRisk ? 'SUICIDE RISK' : 'hold'}${h.level ? ` (${h.level})` : ''}: ${h.reason}\n    closes when ${h.closesWhen}`),
    ...((c.decisions ?? []).length ? ['decisions:', ...c.decisions!.map((d) => `  ${t(d.at)}  ${d.summary}`)] : []),
    ...(c.pcl5 ?? []).map((p) => `PCL-5 at ${p.stepKey}: total ${p.total}; DSM-5 cluster rule ${p.dsm5CriteriaMet ? 'met' : 'not met'} (${Object.entries(p.clusters).map(([k, v]) => `${k} ${v.endorsed}/${v.required}`).join(', ')})`),
    `times in ${n.timeZone}`,
  ].join('\n');
}

export function register(program: Command): void {
  withApiOptions(program.command('status <courseId>').description("a course's status, current step and steps, with the client's name and clinic-local times")).action(async (courseId: string, o: ApiOptions) => {
    const course = () => api<CourseJson>(o, 'GET', `/api/courses/${encodeURIComponent(courseId)}`);
    if (o.json) return run(o, course, () => '');
    await run(
      o,
      async () => {
        const c = await course();
        return { c, names: await namesOf(o, c) };
      },
      (r) => human(r.c, r.names),
    );
  });
}
