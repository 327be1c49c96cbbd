// `kap audit`: the audit log through the API (admin tokens): who did or read what, when, where and why.
//   kap audit [--clinic id] [--client id] [--course id] [--actor staffOrTokenId] [--action client.read|client.*]
//             [--from 2026-11-01] [--to 2026-11-30] [--limit 100] [--cursor id] [--json]
import type { Command } from 'commander';
import type { AuditLogEntry } from '../../db/audit';
import { api, run, withApiOptions, type ApiOptions } from './actions';

/** The API's answer (`GET /api/audit`): the same entries the database module reads. */
interface AuditJson {
  entries: AuditLogEntry[];
  nextCursor: number | null;
}

type AuditOptions = ApiOptions & { clinic?: string; client?: string; course?: string; actor?: string; action?: string; from?: string; to?: string; limit?: string; cursor?: string };

const who = (a: AuditJson['entries'][number]['actor']) =>
  a.type === 'system' ? 'system (the engine)' : a.type === 'client' ? 'client' : `${a.name ?? a.id ?? '?'}${a.role ? ` (${a.role})` : ''} [${a.type} ${a.id ?? '?'}]`;

export function human(r: AuditJson): string {
  if (r.entries.length === 0) return 'no audit entries match';
  const lines = r.entries.map((e) => {
    const where = [e.clinicId && `clinic ${e.clinicId}`, e.clientId && `client ${e.clientId}`, e.courseId && `course ${e.courseId}`].filter(Boolean).join(', ');
    const what = typeof e.detail.what === 'string' ? ` (${e.detail.what})` : '';
    return `${e.at}  ${e.action}${what}  by ${who(e.actor)}${where ? `\n    ${where}` : ''}${e.reason ? `\n    reason: ${e.reason}` : ''}`;
  });
  if (r.nextCursor) lines.push(`more: kap audit ... --cursor ${r.nextCursor}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  withApiOptions(
    program
      .command('audit')
      .description('the audit log (admin): who did or read what, when, where and why, newest first')
      .option('--clinic <id>')
      .option('--client <id>')
      .option('--course <id>')
      .option('--actor <id>', 'a staff id or an API token id')
      .option('--action <action>', 'e.g. client.read, hard-stop.overridden, or a prefix: client.*')
      .option('--from <time>', 'ISO date or date-time (inclusive)')
      .option('--to <time>', 'ISO date (the whole day) or date-time (exclusive)')
      .option('--limit <n>', 'entries per page (1-500, default 100)')
      .option('--cursor <id>', 'the next page, from the previous answer'),
  ).action(async (o: AuditOptions) => {
    const q = new URLSearchParams();
    const map: Array<[keyof AuditOptions, string]> = [['clinic', 'clinicId'], ['client', 'clientId'], ['course', 'courseId'], ['actor', 'actor'], ['action', 'action'], ['from', 'from'], ['to', 'to'], ['limit', 'limit'], ['cursor', 'cursor']];
    for (const [opt, param] of map) {
      const v = o[opt];
      if (typeof v === 'string') q.set(param, v);
    }
    await run(o, () => api<AuditJson>(o, 'GET', `/api/audit${q.size ? `?${q}` : ''}`), human);
  });
}
