// `kap assess send|list|scores`: trigger a follow-up assessment now, list a course's assessments, show scores.
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

export function register(program: Command): void {
  const assess = program.command('assess').description('assessments: send one now, list them, show scores');
  withApiOptions(assess.command('send <courseId>').description('email the client an assessment link now').option('--instruments <list>', 'comma-separated: phq9,gad7,pcl5,cssrs,qids-sr16', 'phq9,gad7').option('--reason <text>')).action(
    async (courseId: string, o: ApiOptions & { instruments: string; reason?: string }) => {
      await run(
        o,
        () => api<{ outcome: string; ids?: { assessmentId?: string } }>(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/send-assessment`, { instruments: o.instruments.split(',').map((s) => s.trim()).filter(Boolean), ...(o.reason ? { reason: o.reason } : {}) }),
        (r) => `${r.outcome}${r.ids?.assessmentId ? ` (assessment ${r.ids.assessmentId})` : ''}`,
      );
    },
  );
  withApiOptions(assess.command('list <courseId>').description("a course's assessments, newest first")).action(async (courseId: string, o: ApiOptions) => {
    await run(
      o,
      () => api<{ assessments: Array<{ id: string; instrumentId: string; status: string; invitedAt: string; total: number | null; band: string | null; critical: boolean }> }>(o, 'GET', `/api/courses/${encodeURIComponent(courseId)}/assessments`),
      (r) => (r.assessments.length ? r.assessments.map((a) => `${a.invitedAt.slice(0, 16)}  ${a.instrumentId.padEnd(9)} ${a.status.padEnd(10)} ${a.total ?? ''} ${a.band ?? ''}${a.critical ? ' CRITICAL' : ''}`).join('\n') : 'no assessments'),
    );
  });
  withApiOptions(assess.command('scores <clientId>').description("a client's scores per instrument with baseline, response and remission")).action(async (clientId: string, o: ApiOptions) => {
    await run(
      o,
      () => api<{ instruments: Array<{ name: string; baseline: number | null; latest: number | null; response: boolean | null; remission: boolean | null; points: unknown[] }> }>(o, 'GET', `/api/clients/${encodeURIComponent(clientId)}/scores`),
      (r) => (r.instruments.length ? r.instruments.map((i) => `${i.name.padEnd(10)} baseline ${i.baseline ?? '-'}  latest ${i.latest ?? '-'}  (${i.points.length} scores)${i.response ? '  response' : ''}${i.remission ? '  remission' : ''}`).join('\n') : 'no scores yet'),
    );
  });
}
