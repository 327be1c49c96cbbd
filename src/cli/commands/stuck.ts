// `kap stuck`: every course past a deadline or failing in the system, with the action that unsticks it.
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

interface StuckJson {
  count: number;
  hidden?: number;
  items: Array<{ type: string; webhookSubscriptionId?: string; courseId: string | null; clientName: string | null; clinicId: string; stepKey: string | null; owner: { role: string | null; name: string | null }; ageSeconds: number | null; problem: string; action: { id: string; label: string } | null }>;
}

const age = (s: number | null) => (s === null ? '' : s < 3600 ? `${Math.floor(s / 60)}m` : s < 86400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`);

export function register(program: Command): void {
  withApiOptions(
    program.command('stuck').description('courses past a deadline or failing in the system').option('--clinic <id>').option('--step <kindOrKey>', 'e.g. clearance or dose-2').option('--owner <roleOrStaffId>', "e.g. prescriber, a staff id, or 'system'"),
  ).action(async (o: ApiOptions & { clinic?: string; step?: string; owner?: string }) => {
    const q = new URLSearchParams();
    if (o.clinic) q.set('clinicId', o.clinic);
    if (o.step) q.set('step', o.step);
    if (o.owner) q.set('owner', o.owner);
    await run(
      o,
      () => api<StuckJson>(o, 'GET', `/api/stuck${q.size ? `?${q}` : ''}`),
      (r) =>
        r.count === 0
          ? r.hidden
            ? `nothing matches the filter; ${r.hidden} item${r.hidden === 1 ? '' : 's'} hidden by it`
            : 'nothing is stuck'
          : [
              `${r.count} stuck${r.hidden ? ` (${r.hidden} more hidden by the filter)` : ''}`,
              ...r.items.map(
                (i) =>
                  `${age(i.ageSeconds).padStart(5)}  ${i.type.padEnd(8)} ${i.courseId ?? '-'}  ${i.clientName ?? (i.webhookSubscriptionId ? 'integration (webhook)' : 'clinic set-up')} (${i.clinicId})  ${i.stepKey ?? '-'}  owner ${i.owner.name ?? i.owner.role ?? '-'}\n        ${i.problem}${
                    i.action ? `\n        -> ${i.action.label}${i.webhookSubscriptionId ? ` (kap webhooks redeliver ${i.webhookSubscriptionId})` : i.courseId ? ` (kap action ${i.courseId} ${i.action.id} ...)` : ''}` : ''
                  }`,
              ),
            ].join('\n'),
    );
  });
}
