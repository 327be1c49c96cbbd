// Rehearsing a protocol draft before it is published (issue #21): the draft runs through the simulator
// (`kap simulate`, src/cli/commands/simulate.ts) on the real engine, with synthetic clients of seeded
// profiles (complete, no-show, blood-pressure hold, safety escalation, withdrawal, ineligible), time-
// scaled, in a sandbox clinic of its own whose emails never leave the machine (src/mail/sandbox.ts).
//
//   1. `openSandbox`: a new sandbox clinic with the exact draft (by hash) as its protocol in use, and a
//      rehearsal clinician (a staff member of the sandbox alone) with a token limited to the sandbox,
//      shown once: the simulator drives the sandbox with it and can reach nothing else.
//   2. The simulator enrolls N synthetic clients there (each client's external ref names its profile)
//      and drives them as a clinic would.
//   3. `recordRehearsal`: the engine reads the sandbox's own records and summarises them (how many
//      courses ended as their profile predicts, where they waited and on whom, which steps went past
//      their deadline: the stuck board, how many emails each client received), stores the summary on
//      the draft if it is still that exact draft, and closes the sandbox (its clinician deactivated).
// Publishing requires a passing rehearsal of the draft's current hash (protocol-store.ts publishDraft).
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { createApiToken } from '../auth/tokens';
import { PROFILE_MIX } from '../cli/commands/simulate';
import { auditInsert } from '../db/audit';
import type { Db } from '../db/connect';
import { AppError, invalidInput, notFound } from '../errors';
import type { Actor } from './courses';
import { checkDraft } from './protocol-store';

/** Fewest synthetic clients a rehearsal counts with. */
export const MIN_REHEARSAL_CLIENTS = 5;

const EXPECTED: Record<string, string> = { completes: 'completed', ...Object.fromEntries(PROFILE_MIX.map((p) => [p.profile, p.expect])) };

export interface Sandbox {
  sandboxClinicId: string;
  protocolId: string;
  version: number;
  hash: string;
  /** A token of the sandbox's rehearsal clinician (an admin of the sandbox alone): shown once. */
  token: string;
  definition: Record<string, unknown>;
}

function audit(db: Db, actor: Actor, action: string, clinicId: string, detail: Record<string, unknown>) {
  return auditInsert(db, { actor: { type: actor.type, id: actor.id }, action, clinicId, detail: { ...detail, ...(actor.detail ? { by: actor.detail } : {}) } }).execute();
}

/** A sandbox clinic running the clinic's current draft. Refused like a publish when the draft has problems or breaks a guard rail. */
export async function openSandbox(db: Db, actor: Actor, input: { clinicId: string; protocolId: string }): Promise<Sandbox> {
  const draft = await db.selectFrom('protocol_versions').selectAll().where('clinic_id', '=', input.clinicId).where('protocol_id', '=', input.protocolId).where('status', '=', 'draft').executeTakeFirst();
  if (!draft) throw notFound(`draft of protocol ${input.protocolId}`);
  const { problems, guardRails } = checkDraft(draft.definition);
  if (problems.length) throw invalidInput(problems.map((p) => ({ field: p.path, message: p.message })));
  if (guardRails.length) throw new AppError('unprocessable', `refused: the draft breaks the clinical floor: ${guardRails.map((g) => `${g.rule} at ${g.path}: ${g.message}`).join('; ')}`, guardRails.map((g) => ({ field: g.path, message: `${g.message} (rule ${g.rule}; source: ${g.source})` })));
  const sandboxClinicId = `rehearsal-${draft.hash.slice(0, 8)}-${crypto.randomBytes(4).toString('hex')}`;
  const staffId = `rehearsal-${crypto.randomUUID()}`;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('clinics').values({ id: sandboxClinicId, name: `Rehearsal of ${input.protocolId} v${draft.version} (${input.clinicId})` }).execute();
    await trx.insertInto('sandbox_clinics').values({ clinic_id: sandboxClinicId, source_clinic_id: input.clinicId, protocol_id: input.protocolId, draft_hash: draft.hash, created_by_type: actor.type, created_by_id: actor.id }).execute();
    // The draft, as the sandbox's own published protocol (the sandbox is the only clinic that runs it).
    await trx
      .insertInto('protocol_versions')
      .values({ id: crypto.randomUUID(), clinic_id: sandboxClinicId, protocol_id: input.protocolId, version: draft.version, status: 'published', definition: JSON.stringify(draft.definition), hash: draft.hash, based_on: `rehearsal:${input.clinicId}`, created_by_type: actor.type, created_by_id: actor.id, reason: 'rehearsal sandbox', published_by_type: actor.type, published_by_id: actor.id, published_at: new Date(), publish_reason: 'rehearsal sandbox' })
      .execute();
    await trx.insertInto('clinic_protocol_choices').values({ clinic_id: sandboxClinicId, protocol_id: input.protocolId, version: draft.version, chosen_by_type: actor.type, chosen_by_id: actor.id }).execute();
    await trx.insertInto('staff').values({ id: staffId, email: `${staffId}@rehearsal.invalid`, display_name: `Rehearsal clinician (${sandboxClinicId})`, role: 'admin', password_hash: null }).execute();
    await trx.insertInto('staff_clinics').values({ staff_id: staffId, clinic_id: sandboxClinicId }).execute();
    await audit(trx, actor, 'protocol.rehearsal.open', input.clinicId, { protocol: `${input.protocolId}@${draft.version}`, hash: draft.hash, sandboxClinicId });
  });
  const { token } = await createApiToken(db, { role: 'admin', clinicId: sandboxClinicId, staffId, label: `rehearsal ${sandboxClinicId}` });
  return { sandboxClinicId, protocolId: input.protocolId, version: draft.version, hash: draft.hash, token, definition: draft.definition };
}

export interface RehearsalSummary {
  [key: string]: unknown;
  passed: boolean;
  sandboxClinicId: string;
  clients: number;
  timeScale: number;
  /** Courses that ended as their profile predicts. */
  matched: number;
  byProfile: Record<string, { expected: string; count: number; matched: number; finals: Record<string, number> }>;
  unfinished: number;
  /** Longest waits, in protocol hours, per step and owner. */
  waits: Array<{ step: string; owner: string | null; courses: number; meanHours: number; maxHours: number }>;
  /** Steps that went past their deadline (what the stuck board would have shown), per step and owner. */
  stuck: Array<{ step: string; owner: string | null; times: number }>;
  /** Emails each synthetic client received; and staff emails in all. */
  emailsPerClient: { min: number; max: number; mean: number };
  staffEmails: number;
  reasons: string[];
}

const template = (stepKey: string) => stepKey.replace(/-\d+d?$/, '');
const round = (n: number) => Math.round(n * 10) / 10;

/** The summary of a sandbox's courses, read from its own records. */
export async function summariseSandbox(db: Db, sandboxClinicId: string, timeScale: number): Promise<RehearsalSummary> {
  // Every synthetic client of the sandbox, with its course: the simulator enrolls a course when it starts
  // driving it, so a client whose enrolment failed has none and counts as not ended.
  const rows = await db.selectFrom('clients as cl').leftJoin('courses as co', 'co.client_id', 'cl.id').select(['co.id', 'co.status', 'co.ended_at', 'cl.external_ref']).where('cl.clinic_id', '=', sandboxClinicId).execute();
  const courses = rows.map((c) => ({ ...c, id: c.id ?? '' }));
  const byProfile: RehearsalSummary['byProfile'] = {};
  let matched = 0;
  let unfinished = 0;
  for (const c of courses) {
    // The simulator names each synthetic client's profile in its external ref (`<sandbox>-<n>:<profile>`).
    const profile = /:([a-z-]+)$/.exec(c.external_ref ?? '')?.[1] ?? 'unknown';
    const expected = EXPECTED[profile] ?? '?';
    const s = (byProfile[profile] ??= { expected, count: 0, matched: 0, finals: {} });
    const final: string = !c.id ? 'not enrolled' : c.ended_at && c.status ? c.status : 'unfinished';
    if (!c.ended_at) unfinished++;
    s.count++;
    s.finals[final] = (s.finals[final] ?? 0) + 1;
    if (final === expected) {
      s.matched++;
      matched++;
    }
  }
  const ids = courses.map((c) => c.id).filter((id) => id !== '');
  const steps = ids.length
    ? await db.selectFrom('course_steps').select(['course_id', 'step_key', 'owner_role', 'entered_at', 'completed_at', 'deadline_at', 'state']).where('course_id', 'in', ids).execute()
    : [];
  const now = Date.now();
  const waitAcc = new Map<string, { step: string; owner: string | null; courses: Set<string>; total: number; n: number; max: number }>();
  const stuckAcc = new Map<string, { step: string; owner: string | null; times: number }>();
  for (const s of steps) {
    if (s.owner_role === null) continue;
    const key = `${template(s.step_key)}|${s.owner_role}`;
    const end = s.completed_at ? s.completed_at.getTime() : now;
    const hours = ((end - s.entered_at.getTime()) / 3_600_000) * timeScale;
    const w = waitAcc.get(key) ?? { step: template(s.step_key), owner: s.owner_role, courses: new Set<string>(), total: 0, n: 0, max: 0 };
    w.courses.add(s.course_id);
    w.total += hours;
    w.n++;
    w.max = Math.max(w.max, hours);
    waitAcc.set(key, w);
    const late = s.state === 'overdue' || (s.deadline_at !== null && (s.completed_at ? s.completed_at > s.deadline_at : now > s.deadline_at.getTime()));
    if (late) {
      const st = stuckAcc.get(key) ?? { step: template(s.step_key), owner: s.owner_role, times: 0 };
      st.times++;
      stuckAcc.set(key, st);
    }
  }
  const waits = [...waitAcc.values()].map((w) => ({ step: w.step, owner: w.owner, courses: w.courses.size, meanHours: round(w.total / w.n), maxHours: round(w.max) })).sort((a, b) => b.maxHours - a.maxHours).slice(0, 8);
  const stuck = [...stuckAcc.values()].sort((a, b) => b.times - a.times);
  const mail = await db
    .selectFrom('email_outbox')
    .select(['recipient_kind', 'course_id', sql<number>`count(*)::int`.as('n')])
    .where('clinic_id', '=', sandboxClinicId)
    .groupBy(['recipient_kind', 'course_id'])
    .execute();
  // Each synthetic client has one course in the sandbox: a client's emails are its course's.
  const perClient = courses.map((c) => mail.filter((m) => m.recipient_kind === 'client' && m.course_id === c.id).reduce((a, m) => a + Number(m.n), 0));
  const staffEmails = mail.filter((m) => m.recipient_kind !== 'client').reduce((a, m) => a + Number(m.n), 0);
  const reasons: string[] = [];
  if (courses.length < MIN_REHEARSAL_CLIENTS) reasons.push(`${courses.length} synthetic client(s); a rehearsal needs at least ${MIN_REHEARSAL_CLIENTS}`);
  if (unfinished) reasons.push(`${unfinished} course(s) had not ended`);
  if (matched < courses.length - unfinished) reasons.push(`${courses.length - unfinished - matched} course(s) ended otherwise than their profile predicts`);
  if (!(byProfile.completes?.matched ?? 0)) reasons.push('no synthetic client completed the course');
  return {
    passed: reasons.length === 0,
    sandboxClinicId,
    clients: courses.length,
    timeScale,
    matched,
    byProfile,
    unfinished,
    waits,
    stuck,
    emailsPerClient: { min: perClient.length ? Math.min(...perClient) : 0, max: perClient.length ? Math.max(...perClient) : 0, mean: perClient.length ? round(perClient.reduce((a, b) => a + b, 0) / perClient.length) : 0 },
    staffEmails,
    reasons,
  };
}

/**
 * Summarises the sandbox and stores the summary on the draft it rehearsed, if the draft is still that
 * exact version (its hash); closes the sandbox (its clinician and token stop). Returns the summary and
 * whether it was stored (false: the draft changed since; rehearse it again).
 */
export async function recordRehearsal(db: Db, actor: Actor, input: { clinicId: string; protocolId: string; sandboxClinicId: string; timeScale: number }): Promise<{ summary: RehearsalSummary; hash: string; stored: boolean }> {
  const sandbox = await db.selectFrom('sandbox_clinics').selectAll().where('clinic_id', '=', input.sandboxClinicId).executeTakeFirst();
  if (!sandbox || sandbox.source_clinic_id !== input.clinicId || sandbox.protocol_id !== input.protocolId) throw invalidInput([{ field: 'sandboxClinicId', message: `not a rehearsal sandbox of ${input.protocolId} for this clinic` }]);
  const summary = await summariseSandbox(db, input.sandboxClinicId, input.timeScale);
  const stored = await db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('protocol_versions')
      .set({ rehearsal: JSON.stringify({ ...summary, hash: sandbox.draft_hash, at: new Date().toISOString() }) })
      .where('clinic_id', '=', input.clinicId)
      .where('protocol_id', '=', input.protocolId)
      .where('status', '=', 'draft')
      .where('hash', '=', sandbox.draft_hash)
      .returning('version')
      .executeTakeFirst();
    await trx.updateTable('staff').set({ active: false }).where('id', 'in', trx.selectFrom('staff_clinics').select('staff_id').where('clinic_id', '=', input.sandboxClinicId)).where('id', 'like', 'rehearsal-%').execute();
    await audit(trx, actor, 'protocol.rehearse', input.clinicId, { protocol: `${input.protocolId}${r ? `@${r.version}` : ''}`, hash: sandbox.draft_hash, sandboxClinicId: input.sandboxClinicId, passed: summary.passed, clients: summary.clients, matched: summary.matched, stored: r !== undefined });
    return r !== undefined;
  });
  return { summary, hash: sandbox.draft_hash, stored };
}
