// `kap status <courseId>`: a course's status, current step and every step so far.
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

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

export function register(program: Command): void {
  withApiOptions(program.command('status <courseId>').description("a course's status, current step and steps")).action(async (courseId: string, o: ApiOptions) => {
    await run(
      o,
      () => api<CourseJson>(o, 'GET', `/api/courses/${encodeURIComponent(courseId)}`),
      (c) =>
        [
          `course ${c.id} (${c.protocol.id} v${c.protocol.version}) for client ${c.clientId} at ${c.clinicId}`,
          `status ${c.status}, risk ${c.riskLevel}, current step ${c.currentStep ?? '-'}${c.currentStepDeadline ? ` due ${c.currentStepDeadline}` : ''}`,
          ...(c.steps ?? []).map((s) => `  ${s.key.padEnd(26)} ${s.state.padEnd(9)} ${(s.ownerRole ?? '').padEnd(12)} ${s.completedAt ? `done ${s.completedAt}${s.outcome ? ` (${s.outcome})` : ''}` : s.deadlineAt ? `due ${s.deadlineAt}` : ''}`),
          // The open safety holds (exactly the workflow's), what was decided, and the PCL-5 cluster rule.
          (c.safetyHolds ?? []).length ? `open safety holds (${c.safetyHolds!.length}):` : 'no open safety holds',
          ...(c.safetyHolds ?? []).map((h) => `  ${h.suicideRisk ? 'SUICIDE RISK' : 'hold'}${h.level ? ` (${h.level})` : ''}: ${h.reason}\n    closes when ${h.closesWhen}`),
          ...((c.decisions ?? []).length ? ['decisions:', ...c.decisions!.map((d) => `  ${d.at}  ${d.summary}`)] : []),
          ...(c.pcl5 ?? []).map((p) => `PCL-5 at ${p.stepKey}: total ${p.total}; DSM-5 cluster rule ${p.dsm5CriteriaMet ? 'met' : 'not met'} (${Object.entries(p.clusters).map(([k, v]) => `${k} ${v.endorsed}/${v.required}`).join(', ')})`),
        ].join('\n'),
    );
  });
}
