// `kap safety`: the safety queue: every open safety hold (exactly the course workflows' open set),
// highest risk then oldest first, with its full reason and what closes it; then recent adverse events.
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

interface SafetyJson {
  items: Array<{ type: string; id: string; courseId: string; clientName: string; clinicId: string; kind: string; level: string | null; stepKey: string | null; ageSeconds: number; summary: string; suicideRisk: boolean; closesWhen: string; courseEnded: boolean }>;
}

const age = (s: number) => (s < 3600 ? `${Math.floor(s / 60)}m` : s < 86400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`);

export function register(program: Command): void {
  withApiOptions(program.command('safety').description('the safety queue: open safety holds (highest risk, oldest first) and recent adverse events').option('--clinic <id>')).action(
    async (o: ApiOptions & { clinic?: string }) => {
      await run(
        o,
        () => api<SafetyJson>(o, 'GET', `/api/safety${o.clinic ? `?clinicId=${encodeURIComponent(o.clinic)}` : ''}`),
        (r) => {
          const holds = r.items.filter((i) => i.type === 'safety-hold');
          const events = r.items.filter((i) => i.type !== 'safety-hold');
          return [
            holds.length ? `${holds.length} open safety hold(s)` : 'no open safety holds',
            ...holds.map(
              (i) =>
                `${age(i.ageSeconds).padStart(5)}  ${i.suicideRisk ? 'SUICIDE RISK' : 'hold'}${i.level ? ` (${i.level})` : ''}  ${i.clientName} (${i.clinicId})  course ${i.courseId}${i.courseEnded ? ' [ended]' : ''}  ${i.stepKey ?? '-'}\n        ${i.summary}\n        closes when ${i.closesWhen}${i.closesWhen.includes('review') ? `\n        -> kap action ${i.courseId} safety-review ...` : ''}`,
            ),
            ...(events.length ? [`${events.length} recent adverse event(s)`, ...events.map((i) => `${age(i.ageSeconds).padStart(5)}  ${i.clientName} (${i.clinicId})  course ${i.courseId}  ${i.summary}`)] : []),
          ].join('\n');
        },
      );
    },
  );
}
