// Protocol authoring (issue #21): a clinic's own care pathways as data. Templates (the shipped
// protocols) are copied into a draft; a draft is edited by upload, checked (every problem with its
// path, every guard rail with its rule and source), compared with the version in use, and published by
// a clinic admin as an immutable version that new enrolments then use. Roles: src/auth/role-matrix.ts;
// clinic scope: a clinic in the path outside the caller's clinics is "not found".
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorDetail, actorOf, assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { checkDraft, chooseVersion, createDraft, discardDraft, diffVersions, getDraft, getPublished, listClinicProtocols, publishDraft, updateDraft, type DraftSource } from '../../client/protocol-store';
import { openSandbox, recordRehearsal } from '../../client/protocol-rehearsal';
import { listProtocols } from '../../domain/protocol-registry';
import { invalidInput, notFound } from '../../errors';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { ClinicId, Id } from '../schemas';

const Reason = z.string().trim().min(1, 'say why (it goes in the audit log)').max(500);
const ProtocolIdSchema = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9, -)').max(100);
const ClinicParams = z.strictObject({ id: Id });
const ProtocolParams = z.strictObject({ id: Id, protocolId: ProtocolIdSchema });
const VersionParams = z.strictObject({ id: Id, protocolId: ProtocolIdSchema, version: z.coerce.number().int().positive() });

export const CreateDraftBody = z
  .strictObject({
    template: z.string().min(1).max(100).optional().describe('a shipped protocol to copy (GET /api/protocols)'),
    templateVersion: z.number().int().positive().optional(),
    copyOf: ProtocolIdSchema.optional().describe("one of the clinic's own published protocols to copy"),
    copyVersion: z.number().int().positive().optional(),
    protocol: z.record(z.string(), z.unknown()).optional().describe('a whole protocol (JSON), e.g. from a file'),
    protocolId: ProtocolIdSchema.optional().describe("the draft's protocol id (default: the source's id)"),
    reason: Reason,
  })
  .refine((b) => [b.template, b.copyOf, b.protocol].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of template, copyOf or protocol', path: ['template'] });

const UpdateDraftBody = z.strictObject({ protocol: z.record(z.string(), z.unknown()), reason: Reason });
const PublishBody = z.strictObject({ reason: Reason, hash: z.string().regex(/^[0-9a-f]{64}$/).optional().describe('the draft hash you checked; refused (409) if the draft changed since') });
const ChooseBody = z.strictObject({ version: z.number().int().positive(), reason: Reason });
const DiffQuery = z.strictObject({ from: z.string().min(1).max(20).default('in-use'), to: z.string().min(1).max(20).default('draft') });
const CheckBody = z.strictObject({ protocol: z.unknown() });

const Problem = z.object({ path: z.string(), message: z.string() });
const GuardRail = z.object({ rule: z.string(), path: z.string(), message: z.string(), source: z.string() });
const Change = z.object({ area: z.string(), change: z.string(), path: z.string(), text: z.string() });
const Who = z.object({ type: z.string(), id: z.string().nullable() });
const VersionView = z.object({
  clinicId: z.string(),
  protocolId: z.string(),
  version: z.number(),
  status: z.string(),
  hash: z.string(),
  basedOn: z.string().nullable(),
  definition: z.record(z.string(), z.unknown()),
  createdBy: Who,
  createdAt: z.string(),
  updatedAt: z.string(),
  reason: z.string().nullable(),
  publishedBy: Who.nullable(),
  publishedAt: z.string().nullable(),
  publishReason: z.string().nullable(),
  rehearsal: z.record(z.string(), z.unknown()).nullable(),
});
const DraftView = VersionView.extend({ problems: z.array(Problem), guardRails: z.array(GuardRail), comparedWith: z.string().nullable().optional(), changes: z.array(Change).optional() });

export const ProtocolListView = z.object({
  /** Shipped protocols: what a client can be enrolled in anywhere, and the templates a clinic copies. */
  protocols: z.array(z.object({ id: z.string(), version: z.number(), name: z.string(), modality: z.string(), source: z.literal('shipped') })),
  /** The clinics' own protocols (within your clinics). */
  clinicProtocols: z.array(
    z.object({
      clinicId: z.string(),
      protocolId: z.string(),
      name: z.string(),
      inUse: z.number().nullable(),
      versions: z.array(z.object({ version: z.number(), hash: z.string(), publishedAt: z.string(), publishedBy: Who, reason: z.string().nullable() })),
      draft: z.object({ version: z.number(), hash: z.string(), updatedAt: z.string(), basedOn: z.string().nullable() }).nullable(),
    }),
  ),
});

const actor = (p: Principal) => ({ ...actorOf(p), detail: actorDetail(p) });
const inScope = (p: Principal, clinicId: string) => assertRecordInScope(p, clinicId, `clinic ${clinicId}`);

export function protocolRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;

  apiRoute(
    app,
    { method: 'GET', url: '/api/protocols', tag: 'protocols', summary: 'Shipped protocols (templates) and your clinics\' own protocols: versions, draft, the version in use', query: z.strictObject({ clinicId: ClinicId.optional() }), response: ProtocolListView },
    async ({ query, principal }) => ({
      protocols: listProtocols().map((p) => ({ id: p.id, version: p.version, name: p.name, modality: p.modality, source: 'shipped' as const })),
      clinicProtocols: await listClinicProtocols(db, clinicFilter(principal, query.clinicId)),
    }),
  );

  apiRoute(
    app,
    { method: 'POST', url: '/api/protocols/check', tag: 'protocols', summary: 'Check a protocol without saving it: every problem with its path, every guard rail with its rule and source', body: CheckBody, response: z.object({ ok: z.boolean(), problems: z.array(Problem), guardRails: z.array(GuardRail) }) },
    async ({ body }) => {
      const c = checkDraft(body.protocol);
      return { ok: c.problems.length === 0 && c.guardRails.length === 0, ...c };
    },
  );

  apiRoute(
    app,
    { method: 'POST', url: '/api/clinics/:id/protocols', tag: 'protocols', summary: "A new draft: a copy of a shipped template, of one of the clinic's versions, or a protocol from a file (400 with every problem's path)", params: ClinicParams, body: CreateDraftBody, status: 201, errors: [404, 409], response: DraftView },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      const source: DraftSource = body.template !== undefined ? { template: body.template, ...(body.templateVersion ? { version: body.templateVersion } : {}) } : body.copyOf !== undefined ? { copyOf: body.copyOf, ...(body.copyVersion ? { version: body.copyVersion } : {}) } : { definition: body.protocol };
      const d = await createDraft(db, actor(principal), { clinicId: params.id, source, ...(body.protocolId ? { protocolId: body.protocolId } : {}), reason: body.reason });
      return getDraft(db, params.id, d.protocolId); // with its changes against the version in use (or its template)
    },
  );

  apiRoute(
    app,
    { method: 'GET', url: '/api/clinics/:id/protocols/:protocolId/draft', tag: 'protocols', summary: 'The draft: its problems, its guard rails, and what it changes against the version in use', params: ProtocolParams, errors: [404], response: DraftView },
    async ({ params, principal }) => {
      inScope(principal, params.id);
      return getDraft(db, params.id, params.protocolId);
    },
  );

  apiRoute(
    app,
    { method: 'PUT', url: '/api/clinics/:id/protocols/:protocolId/draft', tag: 'protocols', summary: 'Replace the draft (an upload); refused with every problem and its path, the draft unchanged', params: ProtocolParams, body: UpdateDraftBody, errors: [404], response: DraftView },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      await updateDraft(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId, definition: body.protocol, reason: body.reason });
      return getDraft(db, params.id, params.protocolId);
    },
  );

  apiRoute(
    app,
    { method: 'POST', url: '/api/clinics/:id/protocols/:protocolId/draft/discard', tag: 'protocols', summary: 'Throw the draft away', params: ProtocolParams, body: z.strictObject({ reason: Reason }), errors: [404], response: z.object({ discarded: z.literal(true) }) },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      await discardDraft(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId, reason: body.reason });
      return { discarded: true as const };
    },
  );

  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/clinics/:id/protocols/:protocolId/draft/sandbox',
      tag: 'protocols',
      summary: 'Open a rehearsal of the draft: a sandbox clinic running this exact draft (its emails never leave the machine) and a token of its rehearsal clinician, shown once, for `kap protocol rehearse` / `kap simulate` to drive it',
      params: ProtocolParams,
      body: z.strictObject({}).optional(),
      status: 201,
      errors: [404, 422],
      response: z.object({ sandboxClinicId: z.string(), protocolId: z.string(), version: z.number(), hash: z.string(), token: z.string(), definition: z.record(z.string(), z.unknown()) }),
    },
    async ({ params, principal }) => {
      inScope(principal, params.id);
      return openSandbox(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId });
    },
  );

  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/clinics/:id/protocols/:protocolId/draft/rehearsal',
      tag: 'protocols',
      summary: "Record a rehearsal: the engine summarises the sandbox's courses (ended as expected, waits, stuck steps, emails per client) and keeps the summary on the draft if it is still the rehearsed version",
      params: ProtocolParams,
      body: z.strictObject({ sandboxClinicId: ClinicId, timeScale: z.number().positive().max(864000).describe('the time scale the simulator ran at (protocol days per real day)') }),
      errors: [404],
      response: z.object({ summary: z.record(z.string(), z.unknown()), hash: z.string(), stored: z.boolean() }),
    },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      return recordRehearsal(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId, sandboxClinicId: body.sandboxClinicId, timeScale: body.timeScale });
    },
  );

  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/clinics/:id/protocols/:protocolId/publish',
      tag: 'protocols',
      summary: 'Publish the draft as an immutable version that new enrolments use (clinic admins; needs a passing rehearsal of this exact draft; 422 naming each broken guard rail with its rule and source, or the missing rehearsal)',
      params: ProtocolParams,
      body: PublishBody,
      errors: [404, 409, 422],
      response: VersionView,
    },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      return publishDraft(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId, reason: body.reason, ...(body.hash ? { hash: body.hash } : {}) });
    },
  );

  apiRoute(
    app,
    { method: 'PUT', url: '/api/clinics/:id/protocols/:protocolId/in-use', tag: 'protocols', summary: 'Choose the published version new enrolments use (clinic admins); running courses keep theirs', params: ProtocolParams, body: ChooseBody, errors: [404], response: z.object({ protocolId: z.string(), inUse: z.number() }) },
    async ({ params, body, principal }) => {
      inScope(principal, params.id);
      await chooseVersion(db, actor(principal), { clinicId: params.id, protocolId: params.protocolId, version: body.version, reason: body.reason });
      return { protocolId: params.protocolId, inUse: body.version };
    },
  );

  apiRoute(
    app,
    { method: 'GET', url: '/api/clinics/:id/protocols/:protocolId/versions/:version', tag: 'protocols', summary: 'A published version, as it was published', params: VersionParams, errors: [404], response: VersionView },
    async ({ params, principal }) => {
      inScope(principal, params.id);
      const v = await getPublished(db, params.id, params.protocolId, params.version);
      if (!v) throw notFound(`version ${params.version} of protocol ${params.protocolId}`);
      return v;
    },
  );

  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/clinics/:id/protocols/:protocolId/diff',
      tag: 'protocols',
      summary: 'What changes, in clinical terms, between two versions: a version number, "draft", "template" or "in-use" (defaults: in-use to draft)',
      params: ProtocolParams,
      query: DiffQuery,
      errors: [404],
      response: z.object({ from: z.string(), to: z.string(), changes: z.array(Change) }),
    },
    async ({ params, query, principal }) => {
      inScope(principal, params.id);
      const inUse = async (which: string, field: string) => {
        if (which !== 'in-use') return which;
        const summary = (await listClinicProtocols(db, [params.id])).find((s) => s.protocolId === params.protocolId);
        if (summary?.inUse) return String(summary.inUse);
        if (listProtocols().some((p) => p.id === params.protocolId)) return 'template';
        throw invalidInput([{ field, message: `protocol ${params.protocolId} has no version in use` }]);
      };
      return diffVersions(db, params.id, params.protocolId, await inUse(query.from, 'from'), await inUse(query.to, 'to'));
    },
  );
}
