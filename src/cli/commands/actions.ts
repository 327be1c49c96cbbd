// `kap action <courseId> <action> [--data JSON] [--set key=value ...]` for every action of the action
// catalogue (src/domain/actions/catalogue.ts: its list and help come from there), and shortcuts for
// the common staff actions (screening, clearance, consent, session, pause/resume/withdraw). Also the small HTTP
// client every API-backed command uses: KAP_URL (default PUBLIC_URL or http://127.0.0.1:3000) and
// KAP_TOKEN (a staff API token from `kap token create`), or --url / --token.
import type { Command } from 'commander';
import { ACTIONS, ACTION_NAMES, isActionName } from '../../domain/actions/catalogue';
import { HARD_STOPS, REVIEW_ITEMS } from '../../domain/rules/eligibility';

export interface ApiOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; problems?: Array<{ field: string; message: string }> },
  ) {
    super(body.message ?? `HTTP ${status}`);
  }
}

/** Adds --url, --token and --json to a command. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'engine URL (env KAP_URL, default PUBLIC_URL or http://127.0.0.1:3000)')
    .option('--token <token>', 'staff API token (env KAP_TOKEN; create one with `kap token create`)')
    .option('--json', 'print the JSON answer, for scripts');
}

export async function api<T = any>(opts: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  const base = (opts.url ?? process.env.KAP_URL ?? process.env.PUBLIC_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/+$/, '');
  const token = opts.token ?? process.env.KAP_TOKEN;
  if (!token) throw new Error('no API token: set KAP_TOKEN or pass --token (create one with `kap token create --role coordinator`)');
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new Error(`cannot reach ${base} (${err instanceof Error ? err.message : String(err)}): is the engine running (npm start)?`);
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, (parsed ?? {}) as ApiError['body']);
  return parsed as T;
}

/** Prints JSON (--json) or the human text; maps API errors to stderr and an exit code. */
export async function run<T>(opts: ApiOptions, fn: () => Promise<T>, human: (v: T) => string): Promise<void> {
  try {
    const v = await fn();
    process.stdout.write(opts.json ? `${JSON.stringify(v, null, 2)}\n` : `${human(v)}\n`);
  } catch (err) {
    if (err instanceof ApiError) {
      if (opts.json) process.stdout.write(`${JSON.stringify({ status: err.status, ...err.body }, null, 2)}\n`);
      process.stderr.write(`kap: ${err.status} ${err.body.error ?? ''}: ${err.message}\n`);
      for (const p of err.body.problems ?? []) process.stderr.write(`  ${p.field}: ${p.message}\n`);
      process.exitCode = err.status === 409 || err.status === 422 ? 3 : err.status === 401 || err.status === 403 ? 4 : 1;
      return;
    }
    throw err;
  }
}

function parseSets(sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i < 1) throw new Error(`--set expects key=value, got ${s}`);
    const key = s.slice(0, i);
    const raw = s.slice(i + 1);
    let v: unknown = raw;
    if (raw === 'true' || raw === 'false') v = raw === 'true';
    else if (raw !== '' && Number.isFinite(Number(raw))) v = Number(raw);
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = v;
  }
  return out;
}

const collect = (v: string, prev: string[]) => [...prev, v];
const actionDone = (r: { outcome: string; reasons?: Array<{ message: string }>; ids?: Record<string, string>; seq?: number; course?: { currentStep?: string | null; status?: string } }) =>
  [
    `${r.outcome}`,
    ...(r.reasons ?? []).map((x) => `  - ${x.message}`),
    ...Object.entries(r.ids ?? {}).map(([k, v]) => `${k}: ${v}`),
    r.course ? `course: ${r.course.status}, current step ${r.course.currentStep ?? '-'}` : '',
  ]
    .filter(Boolean)
    .join('\n');

/** The body's top-level fields of an action, required ones first marked with `*`. */
function fieldsOf(action: (typeof ACTION_NAMES)[number]): string {
  const shape = (ACTIONS[action].schema as unknown as { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> }).shape ?? {};
  return Object.entries(shape)
    .map(([k, f]) => (f.safeParse(undefined).success ? k : `${k}*`))
    .join(' ');
}

/** `kap action --help`: every action with its summary, roles, fields and an example body. */
export function actionsHelp(): string {
  return [
    '',
    'Actions (* = required field; the body is checked by the server, which answers 400 naming each bad field):',
    ...ACTION_NAMES.map((a) => {
      const spec = ACTIONS[a];
      return `  ${a.padEnd(21)}${spec.summary}
  ${''.padEnd(21)}roles: ${spec.roles.join(', ')}${(spec as { personOnly?: true }).personOnly ? ' (a person, not a bare API token)' : ''}
  ${''.padEnd(21)}fields: ${fieldsOf(a) || '(none)'}
  ${''.padEnd(21)}e.g. --data '${JSON.stringify(spec.example)}'`;
    }),
  ].join('\n');
}

export function register(program: Command): void {
  withApiOptions(
    program
      .command('action <courseId> <action>')
      .description(`record a staff action on a course: ${ACTION_NAMES.join(', ')}`)
      .option('--data <json>', 'the action body as JSON')
      .option('--set <key=value>', 'set one field (repeatable; dots for nesting: bloodPressure.systolic=128)', collect, [])
      .addHelpText('after', actionsHelp),
  ).action(async (courseId: string, action: string, o: ApiOptions & { data?: string; set: string[] }) => {
    if (!isActionName(action)) throw new Error(`unknown action ${action}: one of ${ACTION_NAMES.join(', ')} (kap action --help lists each with its fields)`);
    const body = { ...(o.data ? (JSON.parse(o.data) as Record<string, unknown>) : {}), ...parseSets(o.set) };
    await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/${encodeURIComponent(action)}`, body), actionDone);
  });

  withApiOptions(
    program
      .command('screening <courseId>')
      .description('record screening: every hard stop and review item answered; --all-absent says every one was assessed and found absent, except those named present')
      .option('--all-absent', 'every hard stop and review item assessed and absent (except those given with --present)')
      .option('--present <item>', `a hard stop or review item that is present (repeatable): ${[...Object.keys(HARD_STOPS), ...Object.keys(REVIEW_ITEMS)].join(', ')}`, collect, [])
      .option('--notes <text>'),
  ).action(async (courseId: string, o: ApiOptions & { allAbsent?: boolean; present: string[]; notes?: string }) => {
    // Nothing is assumed: without --all-absent the server answers 400 naming every unanswered item.
    if (!o.allAbsent) throw new Error('give --all-absent (every item assessed; name those present with --present), or use `kap action <course> screening --data <json>` with an answer for every item');
    const unknown = o.present.filter((k) => !(k in HARD_STOPS) && !(k in REVIEW_ITEMS));
    if (unknown.length) throw new Error(`not a hard stop or review item: ${unknown.join(', ')}`);
    const hardStops = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, o.present.includes(k) ? 'yes' : 'no']));
    const reviewItems = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, o.present.includes(k) ? 'yes' : 'no']));
    await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/screening`, { hardStops, reviewItems, ...(o.notes ? { notes: o.notes } : {}) }), actionDone);
  });

  withApiOptions(
    program
      .command('clear <courseId>')
      .description('record the medical clearance decision (prescriber)')
      .requiredOption('--decision <decision>', 'approved, denied or needs-records')
      .option('--reason <text>'),
  ).action(async (courseId: string, o: ApiOptions & { decision: string; reason?: string }) => {
    await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/clearance`, { decision: o.decision, ...(o.reason ? { reason: o.reason } : {}) }), actionDone);
  });

  withApiOptions(program.command('consent <courseId>').description('record informed consent signed by the client').option('--document-version <v>', 'consent document version', 'v1').option('--prescriber-signed', 'the prescriber signed too (REMS)')).action(
    async (courseId: string, o: ApiOptions & { documentVersion: string; prescriberSigned?: boolean }) => {
      await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/consent`, { documentVersion: o.documentVersion, signedByClient: true, ...(o.prescriberSigned ? { prescriberSigned: true } : {}) }), actionDone);
    },
  );

  withApiOptions(program.command('session-done <courseId> <stepKey>').description('record that a preparation or integration session took place').option('--notes <text>')).action(
    async (courseId: string, stepKey: string, o: ApiOptions & { notes?: string }) => {
      await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/session-complete`, { stepKey, ...(o.notes ? { notes: o.notes } : {}) }), actionDone);
    },
  );

  for (const verb of ['pause', 'resume', 'withdraw'] as const) {
    const cmd = program.command(`${verb} <courseId>`).description(`${verb} a course`);
    if (verb !== 'resume') cmd.requiredOption('--reason <text>');
    withApiOptions(cmd).action(async (courseId: string, o: ApiOptions & { reason?: string }) => {
      await run(o, () => api(o, 'POST', `/api/courses/${encodeURIComponent(courseId)}/${verb}`, verb === 'resume' ? {} : { reason: o.reason }), actionDone);
    });
  }
}
