// `kap courses`: the courses worklist from the shell (GET /api/courses, as the dashboard's /courses):
// open courses with client, protocol, current step, who it waits on, due time, risk and hold; the
// same filters, search by name, sort and pages, and the counts per filter.
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';
import { clinicLocalTime, relativeTime } from '../../format-time';

export interface CoursesJson {
  courses: Array<{
    id: string;
    clientId: string;
    clientName: string;
    clinicId: string;
    clinicName: string;
    clinicTimeZone: string;
    protocol: { id: string; version: number };
    status: string;
    currentStep: string | null;
    currentStepDeadline: string | null;
    stepKind: string | null;
    owner: { role: string | null; staffId: string | null; name: string | null };
    overdue: boolean;
    riskLevel: string;
    openSafetyHolds: number;
    endedAt: string | null;
  }>;
  page: number;
  limit: number;
  sort: string;
  hasMore: boolean;
  counts?: { total: number; protocol: Record<string, number>; stepKind: Record<string, number>; ownerRole: Record<string, number>; overdue: number; onHold: number };
}

type Opts = ApiOptions & { clinic?: string; protocol?: string; step?: string; owner?: string; overdue?: boolean; onHold?: boolean; search?: string; sort?: string; page?: string; limit?: string; all?: boolean };

export function query(o: Opts): string {
  const q = new URLSearchParams({ counts: 'true' });
  if (!o.all) q.set('open', 'true');
  for (const [key, v] of [['clinicId', o.clinic], ['protocol', o.protocol], ['stepKind', o.step], ['ownerRole', o.owner], ['q', o.search], ['page', o.page], ['limit', o.limit]] as const) if (v) q.set(key, v);
  q.set('sort', o.sort ?? (o.all ? '-enrolled' : 'due'));
  if (o.overdue) q.set('overdue', 'true');
  if (o.onHold) q.set('onHold', 'true');
  return q.toString();
}

export function human(r: CoursesJson, o: Opts, now = new Date()): string {
  const c = r.counts;
  const facets = c ? [`${c.overdue} overdue`, `${c.onHold} on a safety hold`, ...Object.entries(c.stepKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`)].join(', ') : '';
  if (!r.courses.length) {
    const filters = [o.search && `named ${o.search}…`, o.clinic && `in ${o.clinic}`, o.protocol && `on ${o.protocol}`, o.step && `at a ${o.step} step`, o.owner && `waiting on the ${o.owner}`, o.overdue && 'overdue', o.onHold && 'on a safety hold'].filter(Boolean);
    return r.page > 1 && c?.total ? `page ${r.page} is past the end (${c.total} courses)` : `no ${o.all ? '' : 'open '}course${filters.length ? ` ${filters.join(', ')}` : ''}`;
  }
  const from = (r.page - 1) * r.limit + 1;
  const lines = r.courses.map((x) => {
    const due = x.currentStepDeadline ? `${relativeTime(x.currentStepDeadline, now)}${x.overdue ? ' OVERDUE' : ''}` : x.endedAt ? `ended ${x.status}` : 'no deadline';
    const owner = x.owner.name ?? x.owner.role ?? '-';
    const flags = [x.riskLevel !== 'none' ? `risk ${x.riskLevel}` : '', x.openSafetyHolds ? `SAFETY HOLD${x.openSafetyHolds > 1 ? ` x${x.openSafetyHolds}` : ''}` : '', x.status === 'paused' ? 'paused' : ''].filter(Boolean).join(', ');
    const when = x.currentStepDeadline ? `\n      due ${clinicLocalTime(x.currentStepDeadline, x.clinicTimeZone)}` : '';
    return `${due.padEnd(18)} ${x.clientName} (${x.clinicName})  ${x.protocol.id}  ${x.currentStep ?? '-'}${x.stepKind && x.stepKind !== x.currentStep ? ` [${x.stepKind}]` : ''}  waiting on ${owner}${flags ? `  ${flags}` : ''}\n      course ${x.id}${when}`;
  });
  return [`${c ? c.total : '?'} ${o.all ? '' : 'open '}course${c?.total === 1 ? '' : 's'}${c ? ` (${facets})` : ''}; ${from}-${from + r.courses.length - 1}, sorted ${r.sort}`, ...lines, ...(r.hasMore ? [`more: kap courses ... --page ${r.page + 1}`] : [])].join('\n');
}

export function register(program: Command): void {
  withApiOptions(
    program
      .command('courses')
      .description('the courses worklist: open courses with step, owner, due time, risk and hold; filters, search, sort and pages')
      .option('--clinic <id>')
      .option('--protocol <id>', 'e.g. kap-office')
      .option('--step <kind>', 'kind of the current step, e.g. dosing, clearance, assessment')
      .option('--owner <role>', 'role the current step waits on, e.g. prescriber, client')
      .option('--overdue', 'only courses past their deadline')
      .option('--on-hold', 'only courses with an open safety hold')
      .option('-s, --search <name>', "start of the client's name (given, family or full)")
      .option('--sort <order>', 'due (default), -due, name, -name, enrolled, -enrolled, risk')
      .option('--page <n>', 'page number, from 1')
      .option('--limit <n>', 'courses per page (1-500, default 100)')
      .option('--all', 'ended courses too'),
  ).action(async (o: Opts) => {
    await run(o, () => api<CoursesJson>(o, 'GET', `/api/courses?${query(o)}`), (r) => human(r, o));
  });
}
