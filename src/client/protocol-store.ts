// The protocol store (issue #21): a clinic's own care-pathway protocols as data (migration 0008).
// Per clinic and protocol id: published versions that never change, at most one draft, and the
// version new enrolments use. The shipped protocols are read-only templates a clinic copies; a clinic
// with none of its own enrolls on them as before. Enrollment reads the store in the statement that
// writes the course (src/client/courses.ts, writeCourseRows: the rule of `resolveProtocol` below) and
// the course keeps its snapshot, so publishing a version never changes a running course.
//
// Who may do what is the role matrix's (drafts: coordinators and admins; publish and the version in
// use: admins), within the caller's clinics (checked by the routes); every draft, edit, discard,
// publish and choice is in the audit log with who, when and why.
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { auditInsert } from '../db/audit';
import type { ProtocolVersionsTable } from '../db/schema';
import type { Selectable } from 'kysely';
import { getProtocol, listProtocols } from '../domain/protocol-registry';
import { parseProtocol, type Protocol } from '../domain/protocol';
import type { Problem } from '../domain/problem';
import { checkGuardRails, type GuardRailViolation } from '../domain/protocol-guard-rails';
import { diffProtocols, type ProtocolChange } from '../domain/protocol-diff';
import { AppError, conflict, type FieldProblem, invalidInput, notFound } from '../errors';
import type { Actor } from './courses';

type Row = Selectable<ProtocolVersionsTable>;

/** Where a new draft starts: a shipped template, one of the clinic's published versions, or a file. */
export type DraftSource = { template: string; version?: number } | { copyOf: string; version?: number } | { definition: unknown };

export interface DraftCheck {
  /** Schema and cross-field problems: a draft with any cannot be saved or published. */
  problems: Problem[];
  /** The clinical floor (rule, path, message, source): a draft with any cannot be published. */
  guardRails: GuardRailViolation[];
}

export interface StoredVersion {
  clinicId: string;
  protocolId: string;
  version: number;
  status: 'draft' | 'published';
  hash: string;
  basedOn: string | null;
  definition: Protocol;
  createdBy: { type: string; id: string | null };
  createdAt: string;
  updatedAt: string;
  reason: string | null;
  publishedBy: { type: string; id: string | null } | null;
  publishedAt: string | null;
  publishReason: string | null;
  rehearsal: Record<string, unknown> | null;
}

/** sha256 of the canonical JSON (keys sorted): the identity of exactly this definition. */
export function protocolHash(definition: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return crypto.createHash('sha256').update(JSON.stringify(canonical(definition))).digest('hex');
}

/** Every problem and every guard rail of a protocol as written. Pure. */
export function checkDraft(definition: unknown): DraftCheck {
  const parsed = parseProtocol(definition);
  return { problems: parsed.ok ? [] : parsed.problems, guardRails: checkGuardRails(parsed.ok ? parsed.protocol : definition) };
}

/** A problem list as a 400's fields, under the request field that held the protocol. */
const asFields = (problems: Problem[], under: string): FieldProblem[] => problems.map((p) => ({ field: under ? (p.path === '(root)' ? under : `${under}.${p.path}`) : p.path, message: p.message }));

function view(row: Row): StoredVersion {
  return {
    clinicId: row.clinic_id,
    protocolId: row.protocol_id,
    version: row.version,
    status: row.status,
    hash: row.hash,
    basedOn: row.based_on,
    definition: row.definition as unknown as Protocol,
    createdBy: { type: row.created_by_type, id: row.created_by_id },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    reason: row.reason,
    publishedBy: row.published_by_type ? { type: row.published_by_type, id: row.published_by_id } : null,
    publishedAt: row.published_at ? row.published_at.toISOString() : null,
    publishReason: row.publish_reason,
    rehearsal: row.rehearsal,
  };
}

const SLUG = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The next version number: after the clinic's published versions and after a shipped template of the same id. */
async function nextVersion(db: Db, clinicId: string, protocolId: string): Promise<number> {
  const row = await db.selectFrom('protocol_versions').select(sql<number | null>`max(version)`.as('v')).where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'published').executeTakeFirst();
  const shipped = listProtocols().filter((p) => p.id === protocolId).map((p) => p.version);
  return Math.max(row?.v ?? 0, ...shipped, 0) + 1;
}

async function publishedRow(db: Db, clinicId: string, protocolId: string, version?: number): Promise<Row | undefined> {
  let q = db.selectFrom('protocol_versions').selectAll().where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'published');
  q = version !== undefined ? q.where('version', '=', version) : q.orderBy('version', 'desc').limit(1);
  return q.executeTakeFirst();
}

async function draftRow(db: Db, clinicId: string, protocolId: string): Promise<Row | undefined> {
  return db.selectFrom('protocol_versions').selectAll().where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'draft').executeTakeFirst();
}

function audit(db: Db, actor: Actor, action: string, clinicId: string, detail: Record<string, unknown>) {
  return auditInsert(db, { actor: { type: actor.type, id: actor.id }, action, clinicId, detail: { ...detail, ...(actor.detail ? { by: actor.detail } : {}) } }).execute();
}

/**
 * A new draft for a clinic: a copy of a shipped template or of one of its published versions, or a
 * protocol from a file (`definition`), optionally under a new protocol id. Refused with every problem
 * (400, each naming its path) when the protocol is not valid, and 409 when the protocol already has a
 * draft. Guard rails do not stop a draft (they are shown with it); they stop its publication.
 */
export async function createDraft(db: Db, actor: Actor, input: { clinicId: string; source: DraftSource; protocolId?: string; reason: string }): Promise<StoredVersion & DraftCheck> {
  const clinic = await db.selectFrom('clinics').select('id').where('id', '=', input.clinicId).executeTakeFirst();
  if (!clinic) throw notFound(`clinic ${input.clinicId}`);
  let base: unknown;
  let basedOn: string;
  let field = 'protocol';
  const src = input.source;
  if ('template' in src) {
    const t = getProtocol(src.template, src.version);
    if (!t) throw invalidInput([{ field: 'template', message: `no shipped protocol ${src.template}${src.version ? `@${src.version}` : ''} (templates: ${listProtocols().map((p) => `${p.id}@${p.version}`).join(', ')})` }]);
    base = t;
    basedOn = `template:${t.id}@${t.version}`;
    field = 'template';
  } else if ('copyOf' in src) {
    const row = await publishedRow(db, input.clinicId, src.copyOf, src.version);
    if (!row) throw invalidInput([{ field: 'copyOf', message: `clinic ${input.clinicId} has no published protocol ${src.copyOf}${src.version ? `@${src.version}` : ''}` }]);
    base = row.definition;
    basedOn = `clinic:${row.protocol_id}@${row.version}`;
    field = 'copyOf';
  } else {
    base = src.definition;
    basedOn = 'file';
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw invalidInput([{ field, message: 'must be a protocol object' }]);
  const protocolId = input.protocolId ?? (base as { id?: unknown }).id;
  if (typeof protocolId !== 'string' || !SLUG.test(protocolId)) throw invalidInput([{ field: input.protocolId !== undefined ? 'protocolId' : `${field}.id`, message: 'must be kebab-case (a-z, 0-9, -)' }]);
  if (await draftRow(db, input.clinicId, protocolId)) throw conflict(`protocol ${protocolId} of clinic ${input.clinicId} already has a draft: edit it, publish it or discard it`);
  const version = await nextVersion(db, input.clinicId, protocolId);
  const definition = { ...(JSON.parse(JSON.stringify(base)) as Record<string, unknown>), id: protocolId, version };
  const parsed = parseProtocol(definition);
  if (!parsed.ok) throw invalidInput(asFields(parsed.problems, field === 'protocol' ? 'protocol' : ''));
  const hash = protocolHash(parsed.protocol);
  try {
    const row = await db.transaction().execute(async (trx) => {
      const r = await trx
        .insertInto('protocol_versions')
        .values({ id: crypto.randomUUID(), clinic_id: input.clinicId, protocol_id: protocolId, version, status: 'draft', definition: JSON.stringify(parsed.protocol), hash, based_on: basedOn, created_by_type: actor.type, created_by_id: actor.id, reason: input.reason })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(trx, actor, 'protocol.draft', input.clinicId, { protocol: `${protocolId}@${version}`, basedOn, hash, reason: input.reason });
      return r;
    });
    return { ...view(row), ...checkDraft(parsed.protocol) };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict(`protocol ${protocolId} of clinic ${input.clinicId} already has a draft: edit it, publish it or discard it`);
    throw err;
  }
}

/** Replaces a draft's protocol (an upload): every problem refused with its path; its id and version stay the draft's. */
export async function updateDraft(db: Db, actor: Actor, input: { clinicId: string; protocolId: string; definition: unknown; reason: string }): Promise<StoredVersion & DraftCheck> {
  const draft = await draftRow(db, input.clinicId, input.protocolId);
  if (!draft) throw notFound(`draft of protocol ${input.protocolId}`);
  const d = input.definition;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw invalidInput([{ field: 'protocol', message: 'must be a protocol object' }]);
  const given = d as Record<string, unknown>;
  if (given.id !== undefined && given.id !== draft.protocol_id) throw invalidInput([{ field: 'protocol.id', message: `must be ${draft.protocol_id}, the draft's protocol (or left out)` }]);
  const parsed = parseProtocol({ ...given, id: draft.protocol_id, version: draft.version });
  if (!parsed.ok) throw invalidInput(asFields(parsed.problems, 'protocol'));
  const hash = protocolHash(parsed.protocol);
  const row = await db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('protocol_versions')
      .set({ definition: JSON.stringify(parsed.protocol), hash, updated_at: new Date(), reason: input.reason, rehearsal: null })
      .where('id', '=', draft.id)
      .where('status', '=', 'draft')
      .returningAll()
      .executeTakeFirst();
    if (!r) throw notFound(`draft of protocol ${input.protocolId}`);
    await audit(trx, actor, 'protocol.draft.edit', input.clinicId, { protocol: `${draft.protocol_id}@${draft.version}`, hash, previousHash: draft.hash, reason: input.reason });
    return r;
  });
  return { ...view(row), ...checkDraft(parsed.protocol) };
}

/** Throws the draft away (a published version is never deleted: the database refuses it too). */
export async function discardDraft(db: Db, actor: Actor, input: { clinicId: string; protocolId: string; reason: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const r = await trx.deleteFrom('protocol_versions').where('clinic_id', '=', input.clinicId).where('protocol_id', '=', input.protocolId).where('status', '=', 'draft').returning(['version', 'hash']).executeTakeFirst();
    if (!r) throw notFound(`draft of protocol ${input.protocolId}`);
    await audit(trx, actor, 'protocol.draft.discard', input.clinicId, { protocol: `${input.protocolId}@${r.version}`, hash: r.hash, reason: input.reason });
  });
}

/** The draft, with its problems, its guard rails and what it changes against the version in use (or its template). */
export async function getDraft(db: Db, clinicId: string, protocolId: string): Promise<StoredVersion & DraftCheck & { comparedWith: string | null; changes: ProtocolChange[] }> {
  const row = await draftRow(db, clinicId, protocolId);
  if (!row) throw notFound(`draft of protocol ${protocolId}`);
  const v = view(row);
  const against = await baselineFor(db, clinicId, protocolId, row.based_on);
  return { ...v, ...checkDraft(v.definition), comparedWith: against?.label ?? null, changes: against ? diffProtocols(against.protocol, v.definition) : [] };
}

/** What a draft is compared with: the version new enrolments use, else the latest published, else its template. */
async function baselineFor(db: Db, clinicId: string, protocolId: string, basedOn: string | null): Promise<{ label: string; protocol: Protocol } | undefined> {
  const chosen = await chosenVersion(db, clinicId, protocolId);
  const row = chosen !== undefined ? await publishedRow(db, clinicId, protocolId, chosen) : await publishedRow(db, clinicId, protocolId);
  if (row) return { label: `v${row.version}`, protocol: row.definition as unknown as Protocol };
  const m = /^(?:template):([^@]+)@(\d+)$/.exec(basedOn ?? '');
  const t = m ? getProtocol(m[1]!, Number(m[2])) : getProtocol(protocolId);
  return t ? { label: `template ${t.id}@${t.version}`, protocol: t } : undefined;
}

async function chosenVersion(db: Db, clinicId: string, protocolId: string): Promise<number | undefined> {
  const row = await db.selectFrom('clinic_protocol_choices').select('version').where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).executeTakeFirst();
  return row?.version;
}

/** A guard rail as a 422's field: the path, the message, the rule and its source. */
const guardRailFields = (violations: GuardRailViolation[]): FieldProblem[] =>
  violations.map((v) => ({ field: v.path, message: `${v.message} (rule ${v.rule}; source: ${v.source})`, rule: v.rule, source: v.source }) as FieldProblem);

/**
 * Publishes the draft as an immutable version and makes it the version new enrolments use. Refused
 * (nothing changes) when the draft has problems (400, each path), breaks a guard rail (422, each
 * with its rule and source), has no passing rehearsal of its current hash (422 naming `rehearsal`),
 * or when `hash` is given and is not the draft's (409: it changed since it was read).
 */
export async function publishDraft(db: Db, actor: Actor, input: { clinicId: string; protocolId: string; reason: string; hash?: string }): Promise<StoredVersion> {
  return db.transaction().execute(async (trx) => {
    const draft = await trx.selectFrom('protocol_versions').selectAll().where('clinic_id', '=', input.clinicId).where('protocol_id', '=', input.protocolId).where('status', '=', 'draft').forUpdate().executeTakeFirst();
    if (!draft) throw notFound(`draft of protocol ${input.protocolId}`);
    if (input.hash !== undefined && input.hash !== draft.hash) throw conflict(`the draft changed since you read it (its hash is now ${draft.hash.slice(0, 12)}…): check it again before publishing`);
    const { problems, guardRails } = checkDraft(draft.definition);
    if (problems.length) throw invalidInput(asFields(problems, ''));
    if (guardRails.length) {
      throw new AppError('unprocessable', `refused: the draft breaks the clinical floor: ${guardRails.map((g) => `${g.rule} at ${g.path}: ${g.message}`).join('; ')}`, guardRailFields(guardRails));
    }
    // A passing rehearsal of this exact draft (src/client/protocol-rehearsal.ts); an edit clears it.
    const r = draft.rehearsal as { hash?: string; passed?: boolean; reasons?: string[] } | null;
    if (!r || r.hash !== draft.hash) throw new AppError('unprocessable', 'refused: rehearse this exact draft before publishing (kap protocol rehearse); it has no rehearsal of its current version', [{ field: 'rehearsal', message: 'no rehearsal of this exact draft' }]);
    if (r.passed !== true) throw new AppError('unprocessable', `refused: the last rehearsal of this draft did not pass: ${(r.reasons ?? []).join('; ')}`, [{ field: 'rehearsal', message: `did not pass: ${(r.reasons ?? []).join('; ')}` }]);
    const row = await trx
      .updateTable('protocol_versions')
      .set({ status: 'published', published_by_type: actor.type, published_by_id: actor.id, published_at: new Date(), publish_reason: input.reason, updated_at: new Date() })
      .where('id', '=', draft.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await setChoice(trx, actor, input.clinicId, input.protocolId, row.version);
    await audit(trx, actor, 'protocol.publish', input.clinicId, { protocol: `${row.protocol_id}@${row.version}`, hash: row.hash, reason: input.reason, ...(draft.rehearsal ? { rehearsal: draft.rehearsal } : {}) });
    return view(row);
  });
}

async function setChoice(db: Db, actor: Actor, clinicId: string, protocolId: string, version: number) {
  await db
    .insertInto('clinic_protocol_choices')
    .values({ clinic_id: clinicId, protocol_id: protocolId, version, chosen_by_type: actor.type, chosen_by_id: actor.id })
    .onConflict((oc) => oc.columns(['clinic_id', 'protocol_id']).doUpdateSet({ version, chosen_by_type: actor.type, chosen_by_id: actor.id, chosen_at: new Date() }))
    .execute();
}

/** Chooses which published version the clinic's new enrolments in this protocol use. */
export async function chooseVersion(db: Db, actor: Actor, input: { clinicId: string; protocolId: string; version: number; reason: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await publishedRow(trx, input.clinicId, input.protocolId, input.version);
    if (!row) throw invalidInput([{ field: 'version', message: `clinic ${input.clinicId} has no published version ${input.version} of ${input.protocolId}` }]);
    const before = await chosenVersion(trx, input.clinicId, input.protocolId);
    await setChoice(trx, actor, input.clinicId, input.protocolId, input.version);
    await audit(trx, actor, 'protocol.choose', input.clinicId, { protocol: `${input.protocolId}@${input.version}`, previous: before ?? null, reason: input.reason });
  });
}

/** One published version (or undefined). */
export async function getPublished(db: Db, clinicId: string, protocolId: string, version?: number): Promise<StoredVersion | undefined> {
  const row = await publishedRow(db, clinicId, protocolId, version);
  return row ? view(row) : undefined;
}

export interface ClinicProtocolSummary {
  clinicId: string;
  protocolId: string;
  name: string;
  /** The version new enrolments use. */
  inUse: number | null;
  versions: Array<{ version: number; hash: string; publishedAt: string; publishedBy: { type: string; id: string | null }; reason: string | null }>;
  draft: { version: number; hash: string; updatedAt: string; basedOn: string | null } | null;
}

/** The clinics' own protocols: versions, draft, the version in use. `clinicIds` undefined = every clinic. */
export async function listClinicProtocols(db: Db, clinicIds: readonly string[] | undefined): Promise<ClinicProtocolSummary[]> {
  if (clinicIds && clinicIds.length === 0) return [];
  let q = db.selectFrom('protocol_versions').select(['clinic_id', 'protocol_id', 'version', 'status', 'hash', 'published_at', 'published_by_type', 'published_by_id', 'publish_reason', 'updated_at', 'based_on', sql<string>`definition->>'name'`.as('name')]).orderBy('clinic_id').orderBy('protocol_id').orderBy('version');
  if (clinicIds) q = q.where('clinic_id', 'in', clinicIds);
  // Rehearsal sandboxes are not the clinics' protocols.
  q = q.where('clinic_id', 'not in', db.selectFrom('sandbox_clinics').select('clinic_id'));
  let c = db.selectFrom('clinic_protocol_choices').selectAll();
  if (clinicIds) c = c.where('clinic_id', 'in', clinicIds);
  const [rows, choices] = await Promise.all([q.execute(), c.execute()]);
  const out = new Map<string, ClinicProtocolSummary>();
  for (const r of rows) {
    const key = `${r.clinic_id}\u0000${r.protocol_id}`;
    const s = out.get(key) ?? { clinicId: r.clinic_id, protocolId: r.protocol_id, name: r.name, inUse: choices.find((x) => x.clinic_id === r.clinic_id && x.protocol_id === r.protocol_id)?.version ?? null, versions: [], draft: null };
    out.set(key, s);
    if (r.status === 'draft') s.draft = { version: r.version, hash: r.hash, updatedAt: r.updated_at.toISOString(), basedOn: r.based_on };
    else {
      s.name = r.name;
      s.versions.push({ version: r.version, hash: r.hash, publishedAt: r.published_at!.toISOString(), publishedBy: { type: r.published_by_type!, id: r.published_by_id }, reason: r.publish_reason });
    }
  }
  return [...out.values()];
}

/**
 * The protocol a new enrolment of this client follows, read in one query through the client's clinic:
 * the clinic's chosen published version of that id (or the given version of its own), else the
 * shipped protocol (the latest, or the given version). Undefined when neither exists. Enrollment
 * applies the same rule inside the statement that writes the course (src/client/courses.ts,
 * writeCourseRows); a change to one is a change to both (test/integration/protocol-authoring.int.test.ts).
 */
export async function resolveProtocol(db: Db, clientId: string, protocolId: string, version?: number): Promise<{ protocol: Protocol; source: 'clinic' | 'shipped' } | undefined> {
  const row = await db
    .selectFrom('clients as cl')
    .innerJoin('protocol_versions as v', 'v.clinic_id', 'cl.clinic_id')
    .select('v.definition')
    .where('cl.id', '=', clientId)
    .where('v.protocol_id', '=', protocolId)
    .where('v.status', '=', 'published')
    .$if(version !== undefined, (q) => q.where('v.version', '=', version!))
    .$if(version === undefined, (q) =>
      q.where('v.version', '=', (eb) => eb.selectFrom('clinic_protocol_choices as c').select('c.version').whereRef('c.clinic_id', '=', 'cl.clinic_id').where('c.protocol_id', '=', protocolId)),
    )
    .executeTakeFirst();
  if (row) return { protocol: row.definition as unknown as Protocol, source: 'clinic' };
  const shipped = getProtocol(protocolId, version);
  return shipped ? { protocol: shipped, source: 'shipped' } : undefined;
}

/** The clinical changes between two versions of a clinic's protocol: a version number, `draft`, or `template`. */
export async function diffVersions(db: Db, clinicId: string, protocolId: string, from: string, to: string): Promise<{ from: string; to: string; changes: ProtocolChange[] }> {
  const load = async (which: string, field: string): Promise<{ label: string; protocol: Protocol }> => {
    if (which === 'draft') {
      const r = await draftRow(db, clinicId, protocolId);
      if (!r) throw invalidInput([{ field, message: `protocol ${protocolId} has no draft` }]);
      return { label: `draft v${r.version}`, protocol: r.definition as unknown as Protocol };
    }
    if (which === 'template') {
      const t = getProtocol(protocolId);
      if (!t) throw invalidInput([{ field, message: `no shipped template ${protocolId}` }]);
      return { label: `template ${t.id}@${t.version}`, protocol: t };
    }
    const n = Number(which);
    if (!Number.isInteger(n) || n <= 0) throw invalidInput([{ field, message: 'must be a version number, "draft" or "template"' }]);
    const r = await publishedRow(db, clinicId, protocolId, n);
    if (!r) throw invalidInput([{ field, message: `protocol ${protocolId} has no published version ${n}` }]);
    return { label: `v${n}`, protocol: r.definition as unknown as Protocol };
  };
  const [a, b] = [await load(from, 'from'), await load(to, 'to')];
  return { from: a.label, to: b.label, changes: diffProtocols(a.protocol, b.protocol) };
}
