// `kap course move <courseId> --version N --reason "..." [--preview]`: move a running course to another
// published version of its protocol (issue #21 item 4). `--preview` (or no --reason) shows what the
// move would do from where the course stands and whether it may move now
// (GET /api/courses/:id/move-preview); otherwise the move is sent (POST /api/courses/:id/move-version)
// and refused with the reason at an unsafe point (inside a dosing session, an open safety hold).
import type { Command } from 'commander';
import { api, run, withApiOptions, type ApiOptions } from './actions';

interface Preview {
  from: string;
  to: string | null;
  allowed: boolean;
  versions: number[];
  refusals: Array<{ message: string }>;
  added: Array<{ text: string }>;
  removed: Array<{ text: string }>;
  retimed: Array<{ text: string }>;
  unchangedDone: unknown[];
  keptDone: Array<{ name: string }>;
}

/** The preview in words, as the dashboard's move page says it. */
export function previewText(p: Preview): string {
  const section = (title: string, items: Array<{ text: string }>) => (items.length ? [`${title}:`, ...items.map((i) => `  - ${i.text}`)] : [`${title}: none`]);
  return [
    `${p.from} -> ${p.to ?? '(no published version of the clinic)'}: ${p.allowed ? 'may move now' : 'cannot move now'}`,
    ...p.refusals.map((r) => `  refused: ${r.message}`),
    ...(p.to ? [...section('added', p.added), ...section('removed (cancelled)', p.removed), ...section('re-timed', p.retimed), `done: ${p.unchangedDone.length} steps unchanged${p.keptDone.length ? `; kept in the record: ${p.keptDone.map((s) => s.name).join(', ')}` : ''}`] : []),
    `published versions: ${p.versions.length ? p.versions.join(', ') : 'none'}`,
  ].join('\n');
}

export function register(program: Command): void {
  const course = program.command('course').description('one course: move it to another version of its protocol');
  withApiOptions(
    course
      .command('move <courseId>')
      .description('move a running course to another published version of its protocol (at a safe point); --preview shows what changes first')
      .option('--version <n>', "the target version (default for --preview: the clinic's newest)")
      .option('--reason <text>', 'why (in the audit log and on the timeline); required to move')
      .option('--preview', 'only show what the move would do and whether it is allowed now'),
  ).action(async (courseId: string, o: ApiOptions & { version?: string; reason?: string; preview?: boolean }) => {
    const version = o.version === undefined ? undefined : Number(o.version);
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new Error('--version: a version number such as 2');
    const path = `/api/courses/${encodeURIComponent(courseId)}`;
    if (o.preview || !o.reason) {
      if (!o.preview) throw new Error('--reason is required to move a course (or give --preview to see what would change)');
      await run(o, () => api<Preview>(o, 'GET', `${path}/move-preview${version ? `?version=${version}` : ''}`), previewText);
      return;
    }
    if (version === undefined) throw new Error('--version is required to move a course');
    await run(
      o,
      () => api<{ outcome: string; course?: { protocol?: { id: string; version: number }; currentStep?: string | null } }>(o, 'POST', `${path}/move-version`, { version, reason: o.reason }),
      (r) => `${r.outcome}${r.course?.protocol ? `: the course follows ${r.course.protocol.id}@${r.course.protocol.version}` : ''}${r.course?.currentStep ? `, current step ${r.course.currentStep}` : ''}`,
    );
  });
}
