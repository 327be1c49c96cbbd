// A read-only FHIR R4 API under /fhir, for a clinic's EHR (src/fhir/README.md):
//   GET  /fhir/metadata                     CapabilityStatement (public, as FHIR servers publish it)
//   GET  /fhir/:type?patient=&date=         search (Bundle searchset); Patient: _id, identifier, birthdate
//   GET  /fhir/:type/:id                    read
//   POST /fhir/$export, /fhir/Patient/$export   bulk data kick-off: 202 + Content-Location
//   GET  /fhir/$export-status/:job          202 + X-Progress while running, then 200 + the manifest
//   DELETE /fhir/$export-status/:job        cancel and forget the job (202)
//   GET  /fhir/$export-file/:job/:file      one NDJSON file (application/fhir+ndjson)
// The resources are the ones the Bundle export builds (bundle.ts), per client, with references made
// relative (`Patient/<id>`). Authentication and roles come from the role matrix like every route; clinic
// scope is the principal's (src/auth/scope.ts): a record outside it is "not found", a search and an
// export only ever read the clients of its clinics. Every read of a client's record (read, search,
// export) is in the audit trail; an export job is visible only to the principal that started it (with
// the clinic scope it started with). Export jobs and their files are in PostgreSQL (migration 0015), so
// any API process serves a job's status and files, also after a restart.
// Errors are OperationOutcomes; bad search parameters are 400s naming the parameter.
import crypto from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Selectable } from 'kysely';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { ApiDeps } from '../api/context';
import { principalOf } from '../api/auth';
import { actorDetail, canAccessClinic, clinicFilter, type Principal } from '../auth/roles';
import { appendAudit, recordClientRead } from '../db/audit';
import type { Db } from '../db/connect';
import type { FhirExportJobsTable } from '../db/schema';
import { AppError } from '../errors';
import { buildFhirBundle } from './bundle';
import { fhirId } from './ids';
import { loadFhirExport } from './load';
import { fhirSystemBase } from './routes';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const NDJSON = 'application/fhir+ndjson';

/** The types served, and the element a `date` search compares (its start, for a period). */
export const SEARCH_DATE: Record<string, ((r: any) => string | undefined) | null> = {
  Patient: null,
  Observation: (r) => r.effectiveDateTime,
  QuestionnaireResponse: (r) => r.authored,
  CarePlan: (r) => r.period?.start,
  Task: (r) => r.authoredOn,
  MedicationAdministration: (r) => r.effectiveDateTime,
  Encounter: (r) => r.period?.start,
  Flag: (r) => r.period?.start,
  AdverseEvent: (r) => r.date,
  Consent: (r) => r.dateTime,
};
/** Served for read (references resolve) and search by `_id` only: shared by many patients. */
const SHARED_TYPES = ['Questionnaire', 'Organization', 'Practitioner'];
const TYPES = [...Object.keys(SEARCH_DATE), ...SHARED_TYPES];

class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly expression?: string,
  ) {
    super(message);
  }
}
const invalid = (param: string, message: string) => new FhirError(400, 'invalid', `${param}: ${message}`, param);

export function outcome(code: string, text: string, expression?: string, severity: 'error' | 'fatal' | 'information' = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code: code as never, diagnostics: text, ...(expression ? { expression: [expression] } : {}) }] };
}

const APP_CODE: Record<string, [number, string]> = {
  invalid_input: [400, 'invalid'],
  unauthenticated: [401, 'login'],
  forbidden: [403, 'forbidden'],
  not_found: [404, 'not-found'],
  rate_limited: [429, 'throttled'],
  unavailable: [503, 'transient'],
};

// ---- Date search ---------------------------------------------------------------------------------

const DATE_RE = /^(eq|ne|gt|lt|ge|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** A `date` parameter as a predicate over an ISO instant; 400 naming `date` when it is not one. */
export function datePredicate(value: string): (iso: string | undefined) => boolean {
  const m = DATE_RE.exec(value);
  if (!m) throw invalid('date', `"${value}" is not a FHIR date search (a prefix eq|ne|gt|lt|ge|le|sa|eb, then YYYY, YYYY-MM, YYYY-MM-DD or a dateTime with its zone)`);
  const [, prefix = 'eq', y, mo, d, h, mi, s, zone] = m;
  if (h !== undefined && zone === undefined) throw invalid('date', `"${value}": a time needs its zone (Z or +hh:mm)`);
  let lo: number;
  let hi: number;
  if (h !== undefined) {
    lo = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${zone === 'Z' ? 'Z' : zone}`);
    hi = lo + (s !== undefined ? 1000 : 60_000);
  } else {
    lo = Date.UTC(Number(y), mo ? Number(mo) - 1 : 0, d ? Number(d) : 1);
    hi = d ? lo + 86_400_000 : mo ? Date.UTC(Number(y), Number(mo), 1) : Date.UTC(Number(y) + 1, 0, 1);
  }
  if (!Number.isFinite(lo) || (mo && (Number(mo) < 1 || Number(mo) > 12)) || (d && (Number(d) < 1 || Number(d) > 31))) throw invalid('date', `"${value}" is not a valid date`);
  return (iso) => {
    if (!iso) return false;
    const t = Date.parse(iso);
    switch (prefix) {
      case 'eq':
        return t >= lo && t < hi;
      case 'ne':
        return t < lo || t >= hi;
      case 'gt':
      case 'sa':
        return t >= hi;
      case 'ge':
        return t >= lo;
      case 'lt':
      case 'eb':
        return t < lo;
      default:
        return t < hi; // le
    }
  };
}

// ---- Resources per client ------------------------------------------------------------------------

/** A client's resources as the API serves them: references relative (`Type/id`), no bundle wrapper. */
async function clientResources(db: Db, base: string, clientId: string): Promise<Resource[]> {
  const bundle = buildFhirBundle(await loadFhirExport(db, clientId), { systemBase: base });
  const typeOf = new Map<string, string>();
  for (const e of bundle.entry ?? []) typeOf.set(e.fullUrl!, e.resource!.resourceType);
  const relative = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(relative);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] = k === 'reference' && typeof x === 'string' && typeOf.has(x) ? `${typeOf.get(x)}/${x.slice('urn:uuid:'.length)}` : relative(x);
      }
      return out;
    }
    return v;
  };
  return (bundle.entry ?? []).map((e) => relative(e.resource) as Resource);
}

interface ScopedClient {
  id: string;
  clinic_id: string;
}

/** The clients in the principal's clinics, oldest first. */
async function clientsInScope(db: Db, principal: Principal): Promise<ScopedClient[]> {
  const clinics = clinicFilter(principal);
  let q = db.selectFrom('clients').select(['id', 'clinic_id']).orderBy('created_at', 'asc').orderBy('id', 'asc');
  if (clinics) {
    if (clinics.length === 0) return [];
    q = q.where('clinic_id', 'in', clinics);
  }
  return q.execute();
}

/** `patient=Patient/<id>` (or a bare id) -> the client in scope, or null (no match: an empty result). */
async function patientClient(db: Db, principal: Principal, value: string): Promise<ScopedClient | null> {
  const id = value.replace(/^Patient\//, '');
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw invalid('patient', `"${value}" is not a Patient reference (Patient/<id>)`);
  for (const c of await clientsInScope(db, principal)) if (fhirId('Patient', c.id) === id) return c;
  return null;
}

// ---- Bulk export jobs (PostgreSQL, migration 0015: any API process serves them; 1 h after kick-off) -----

const JOB_TTL_MS = 3600_000;
/** A running job its process has not touched for this long was cut off (that process ended): failed. */
const STALE_MS = 5 * 60_000;
const ownerOf = (p: Principal) => (p.tokenId ? `token:${p.tokenId}` : `staff:${p.staffId ?? ''}`);
const scopeOf = (p: Principal): string[] | 'all' => (p.clinics === 'all' ? 'all' : [...p.clinics].sort());
type ExportJobRow = Selectable<FhirExportJobsTable>;

async function sweepJobs(db: Db): Promise<void> {
  await db.deleteFrom('fhir_export_jobs').where('expires_at', '<=', new Date()).execute();
}

/** The principal's own unexpired job with the clinic scope it was started with; else 404. */
async function jobOf(db: Db, principal: Principal, id: string): Promise<ExportJobRow> {
  const notFound = new FhirError(404, 'not-found', `export job ${id} not found`);
  if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound;
  const job = await db.selectFrom('fhir_export_jobs').selectAll().where('id', '=', id).where('owner', '=', ownerOf(principal)).where('expires_at', '>', new Date()).executeTakeFirst();
  if (!job || JSON.stringify(job.clinic_scope) !== JSON.stringify(scopeOf(principal))) throw notFound;
  return job;
}

// ---- Routes ----------------------------------------------------------------------------------------

export function fhirApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;
  const base = fhirSystemBase(deps.config.FHIR_SYSTEM_BASE);
  const serverBase = `${deps.config.publicUrl.replace(/\/+$/, '')}/fhir`;

  void app.register(async (f) => {
    f.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body).trim();
      if (!text) return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new FhirError(400, 'structure', 'body: not valid JSON'), undefined);
      }
    });
    f.setErrorHandler((err: FastifyError | AppError | FhirError | Error, req, reply) => {
      if (err instanceof FhirError) return send(reply, err.status, outcome(err.code, err.message, err.expression));
      if (err instanceof AppError) {
        const [status, code] = APP_CODE[err.code] ?? [400, 'processing'];
        return send(reply, status, outcome(code, err.message, err.problems[0]?.field));
      }
      const fe = err as FastifyError;
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return send(reply, fe.statusCode, outcome('invalid', fe.message));
      req.log.error({ err: { name: err.name, message: err.message } }, 'FHIR API error');
      return send(reply, 500, outcome('exception', 'internal error'));
    });

    f.get('/fhir/metadata', async (_req, reply) => send(reply, 200, capabilityStatement(serverBase)));

    f.get('/fhir/:type', async (req, reply) => {
      const principal = principalOf(req);
      const type = typeParam(req);
      const q = req.query as Record<string, string | string[] | undefined>;
      const one = (name: string): string | undefined => {
        const v = q[name];
        if (Array.isArray(v)) throw invalid(name, 'give it once');
        return v === undefined || v === '' ? undefined : v;
      };
      const patient = one('patient') ?? (type === 'Observation' ? one('subject') : undefined) ?? (type === 'Patient' ? one('_id') : undefined);
      const dates = [q.date ?? (type === 'Patient' ? undefined : [])].flat().filter((d): d is string => typeof d === 'string' && d !== '');
      if (type === 'Patient' && q.date !== undefined) throw invalid('date', 'Patient has no date: search by birthdate');
      if (SHARED_TYPES.includes(type) && (q.date !== undefined || q.patient !== undefined)) throw invalid(q.date !== undefined ? 'date' : 'patient', `${type} is searched by _id only`);
      const preds = dates.map(datePredicate);
      const birthdate = type === 'Patient' ? one('birthdate') : undefined;
      const birthPred = birthdate ? datePredicate(birthdate) : undefined;
      const identifier = type === 'Patient' ? one('identifier') : undefined;
      const idFilter = one('_id');
      const countRaw = one('_count');
      const count = countRaw === undefined ? 1000 : Number(countRaw);
      if (!Number.isInteger(count) || count < 0 || count > 1000) throw invalid('_count', 'a whole number from 0 to 1000');

      let clients: ScopedClient[];
      if (patient) {
        const c = await patientClient(db, principal, patient);
        clients = c ? [c] : [];
      } else clients = await clientsInScope(db, principal);

      const seen = new Set<string>();
      const matches: Resource[] = [];
      const readClients: ScopedClient[] = [];
      for (const c of clients) {
        let hit = false;
        for (const r of await clientResources(db, base, c.id)) {
          if (r.resourceType !== type || seen.has(r.id!)) continue;
          if (idFilter && type !== 'Patient' && r.id !== idFilter) continue;
          const getDate = SEARCH_DATE[type];
          if (getDate && !preds.every((p) => p(getDate(r)))) continue;
          if (birthPred && !birthPred((r as { birthDate?: string }).birthDate)) continue;
          if (identifier && !(r as { identifier?: Array<{ system?: string; value?: string }> }).identifier?.some((i) => identifier === i.value || identifier === `${i.system}|${i.value}`)) continue;
          seen.add(r.id!);
          matches.push(r);
          hit = true;
        }
        if (hit && !SHARED_TYPES.includes(type)) readClients.push(c);
      }
      for (const c of readClients) await recordClientRead(db, principal, { clinicId: c.clinic_id, clientId: c.id, what: `fhir-search ${type}` });
      const shown = matches.slice(0, count);
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        total: matches.length,
        link: [{ relation: 'self', url: `${serverBase}/${type}${req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''}` }],
        entry: shown.map((r) => ({ fullUrl: `${serverBase}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })),
      };
      return send(reply, 200, bundle);
    });

    f.get('/fhir/:type/:id', async (req, reply) => {
      const principal = principalOf(req);
      const type = typeParam(req);
      const { id } = req.params as { id: string };
      const notFound = new FhirError(404, 'not-found', `${type}/${id} not found`);
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw notFound;
      const clients = await clientsInScope(db, principal);
      const candidates = type === 'Patient' ? clients.filter((c) => fhirId('Patient', c.id) === id) : clients;
      for (const c of candidates) {
        const r = (await clientResources(db, base, c.id)).find((x) => x.resourceType === type && x.id === id);
        if (r) {
          if (!SHARED_TYPES.includes(type)) await recordClientRead(db, principal, { clinicId: c.clinic_id, clientId: c.id, what: `fhir-read ${type}` });
          return send(reply, 200, r);
        }
      }
      throw notFound;
    });

    const kickOff = (level: 'system' | 'patient') => async (req: FastifyRequest, reply: FastifyReply) => {
      const principal = principalOf(req);
      const q = req.query as Record<string, unknown>;
      const body = (req.body ?? {}) as { resourceType?: string; parameter?: Array<{ name?: string; valueString?: string; valueInstant?: string }> };
      const params = new Map<string, string>();
      for (const [k, v] of Object.entries(q)) if (typeof v === 'string') params.set(k, v);
      if (body.resourceType === 'Parameters') {
        for (const p of body.parameter ?? []) if (p.name) params.set(p.name, p.valueString ?? p.valueInstant ?? '');
      } else if (body.resourceType !== undefined) throw invalid('body', 'a Parameters resource, or nothing');
      const format = params.get('_outputFormat');
      if (format && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(format)) throw invalid('_outputFormat', 'only application/fhir+ndjson');
      if (params.has('_since')) throw invalid('_since', 'not supported: every export is complete');
      const exportable = Object.keys(SEARCH_DATE).concat(SHARED_TYPES);
      const types = params.get('_type') ? params.get('_type')!.split(',').map((t) => t.trim()) : exportable;
      const unknown = types.filter((t) => !exportable.includes(t));
      if (unknown.length) throw invalid('_type', `not exported here: ${unknown.join(', ')} (exported: ${exportable.join(', ')})`);
      await sweepJobs(db);
      const id = crypto.randomUUID();
      const now = new Date();
      await db
        .insertInto('fhir_export_jobs')
        .values({
          id,
          owner: ownerOf(principal),
          clinic_scope: JSON.stringify(scopeOf(principal)),
          requested_by: JSON.stringify(actorDetail(principal)),
          level,
          request: `${serverBase}${level === 'patient' ? '/Patient' : ''}/$export`,
          types: JSON.stringify(types),
          status: 'running',
          progress: 'starting',
          created_at: now,
          updated_at: now,
          expires_at: new Date(now.getTime() + JOB_TTL_MS),
        })
        .execute();
      await appendAudit(db, {
        actor: principal.staffId ? { type: 'staff', id: principal.staffId } : { type: 'token', id: principal.tokenId ?? null },
        action: 'fhir.export',
        detail: { job: id, level, types, by: actorDetail(principal), clinics: scopeOf(principal) },
      });
      void runExport(db, base, principal, id, types).catch(async (err: Error) => {
        req.log.error({ err: { name: err.name, message: err.message }, job: id }, 'FHIR bulk export failed');
        await db.updateTable('fhir_export_jobs').set({ status: 'failed', error: 'the export failed', finished_at: new Date(), updated_at: new Date() }).where('id', '=', id).where('status', '=', 'running').execute().catch(() => undefined);
      });
      void reply.header('content-location', `${serverBase}/$export-status/${id}`);
      return send(reply, 202, outcome('informational', `export ${id} started: poll its Content-Location`, undefined, 'information'));
    };
    f.post('/fhir/$export', kickOff('system'));
    f.post('/fhir/Patient/$export', kickOff('patient'));

    f.get('/fhir/$export-status/:job', async (req, reply) => {
      let job = await jobOf(db, principalOf(req), (req.params as { job: string }).job);
      if (job.status === 'running' && Date.now() - job.updated_at.getTime() > STALE_MS) {
        // Its process ended mid-export (a restart): say so instead of "running" until it expires.
        await db.updateTable('fhir_export_jobs').set({ status: 'failed', error: 'the export was cut off (the server restarted): start it again', finished_at: new Date() }).where('id', '=', job.id).where('status', '=', 'running').execute();
        job = await jobOf(db, principalOf(req), job.id);
      }
      if (job.status === 'running') {
        void reply.header('x-progress', job.progress).header('retry-after', '1');
        return reply.code(202).send();
      }
      if (job.status === 'failed') return send(reply, 500, outcome('exception', job.error ?? 'the export failed'));
      const order = job.types as unknown as string[];
      const files = (await db.selectFrom('fhir_export_files').select(['type', 'line_count']).where('job_id', '=', job.id).execute()).sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
      return reply
        .code(200)
        .header('expires', job.expires_at.toUTCString())
        .type('application/json')
        .send(
          JSON.stringify({
            transactionTime: job.created_at.toISOString(),
            request: job.request,
            requiresAccessToken: true,
            output: files.map((x) => ({ type: x.type, url: `${serverBase}/$export-file/${job.id}/${x.type}.ndjson`, count: x.line_count })),
            error: [],
          }),
        );
    });
    f.delete('/fhir/$export-status/:job', async (req, reply) => {
      const job = await jobOf(db, principalOf(req), (req.params as { job: string }).job);
      // Its files go with it (on delete cascade); a running export sees the job gone and stops.
      await db.deleteFrom('fhir_export_jobs').where('id', '=', job.id).execute();
      return reply.code(202).send();
    });
    f.get('/fhir/$export-file/:job/:file', async (req, reply) => {
      const { job: jobId, file } = req.params as { job: string; file: string };
      const job = await jobOf(db, principalOf(req), jobId);
      const row = job.status === 'done' ? await db.selectFrom('fhir_export_files').select('content').where('job_id', '=', job.id).where('type', '=', file.replace(/\.ndjson$/, '')).executeTakeFirst() : undefined;
      if (!row) throw new FhirError(404, 'not-found', `file ${file} of export ${jobId} not found`);
      return reply.code(200).type(NDJSON).send(row.content);
    });
  });
}

function typeParam(req: FastifyRequest): string {
  const { type } = req.params as { type: string };
  if (!TYPES.includes(type)) throw new FhirError(404, 'not-supported', `resource type ${type} is not served here (served: ${TYPES.join(', ')})`);
  return type;
}

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).type(FHIR_JSON).send(JSON.stringify(body));
}

/**
 * Builds the files of an export: every client of the principal's clinics, each read audited; the files
 * and the job's 'done' in one transaction. A job deleted meanwhile (DELETE of its status URL) stops it.
 */
async function runExport(db: Db, base: string, principal: Principal, jobId: string, types: readonly string[]): Promise<void> {
  const clients = (await clientsInScope(db, principal)).filter((c) => canAccessClinic(principal, c.clinic_id));
  const lines = new Map<string, string[]>(types.map((t) => [t, []]));
  const seen = new Set<string>();
  let n = 0;
  const touch = async (progress: string) =>
    Number((await db.updateTable('fhir_export_jobs').set({ progress, updated_at: new Date() }).where('id', '=', jobId).where('status', '=', 'running').executeTakeFirst()).numUpdatedRows) > 0;
  for (const c of clients) {
    if (!(await touch(`${n} of ${clients.length} patients`))) return;
    for (const r of await clientResources(db, base, c.id)) {
      const key = `${r.resourceType}/${r.id}`;
      if (!lines.has(r.resourceType) || seen.has(key)) continue;
      seen.add(key);
      lines.get(r.resourceType)!.push(JSON.stringify(r));
    }
    await recordClientRead(db, principal, { clinicId: c.clinic_id, clientId: c.id, what: 'fhir-bulk-export' });
    n++;
  }
  await db.transaction().execute(async (trx) => {
    const done = await trx.updateTable('fhir_export_jobs').set({ status: 'done', progress: `${n} of ${clients.length} patients`, finished_at: new Date(), updated_at: new Date() }).where('id', '=', jobId).where('status', '=', 'running').executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) return; // deleted meanwhile
    const files = [...lines].filter(([, ls]) => ls.length).map(([type, ls]) => ({ job_id: jobId, type, line_count: ls.length, content: `${ls.join('\n')}\n` }));
    if (files.length) await trx.insertInto('fhir_export_files').values(files).execute();
  });
}

export function capabilityStatement(serverBase: string): CapabilityStatement {
  const search = (type: string) => [
    ...(type === 'Patient'
      ? [
          { name: '_id', type: 'token' as const },
          { name: 'identifier', type: 'token' as const },
          { name: 'birthdate', type: 'date' as const },
        ]
      : SHARED_TYPES.includes(type)
        ? [{ name: '_id', type: 'token' as const }]
        : [
            { name: 'patient', type: 'reference' as const },
            { name: 'date', type: 'date' as const },
            { name: '_id', type: 'token' as const },
          ]),
    { name: '_count', type: 'number' as const },
  ];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-30',
    kind: 'instance',
    software: { name: 'KAP care-pathway engine' },
    implementation: { description: 'Read-only FHIR R4 API of the KAP care-pathway engine', url: serverBase },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: { service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth', display: 'OAuth' }], text: 'Bearer API token (kap token create); clinic-scoped' }], description: 'Authorization: Bearer kap_... A token limited to clinics sees only their clients.' },
        resource: TYPES.map((type) => ({
          type: type as never,
          interaction: [{ code: 'read' as const }, { code: 'search-type' as const }],
          searchParam: search(type),
        })),
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export', documentation: 'POST [base]/$export: every client of the token\'s clinics, as NDJSON (_type, _outputFormat=application/fhir+ndjson)' },
          { name: 'patient-export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export', documentation: 'POST [base]/Patient/$export: the same, for all patients' },
        ],
      },
    ],
  };
}
