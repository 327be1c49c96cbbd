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
// export) is in the audit trail; an export job is visible only to the principal that started it.
// Errors are OperationOutcomes; bad search parameters are 400s naming the parameter.
import crypto from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { ApiDeps } from '../api/context';
import { principalOf } from '../api/auth';
import { actorDetail, canAccessClinic, clinicFilter, type Principal } from '../auth/roles';
import { appendAudit, recordClientRead } from '../db/audit';
import type { Db } from '../db/connect';
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

// ---- Bulk export jobs (in this process's memory: a job lives until downloaded and deleted, or 1 h) -----

interface ExportJob {
  id: string;
  owner: string;
  startedAt: Date;
  request: string;
  types: string[];
  state: 'running' | 'done' | 'failed' | 'cancelled';
  progress: string;
  files: Map<string, string>;
  error?: string;
}
const JOB_TTL_MS = 3600_000;
const jobs = new Map<string, ExportJob>();
const ownerOf = (p: Principal) => (p.tokenId ? `token:${p.tokenId}` : `staff:${p.staffId ?? ''}`);

function sweepJobs(now = Date.now()): void {
  for (const [id, j] of jobs) if (now - j.startedAt.getTime() > JOB_TTL_MS) jobs.delete(id);
}

function jobOf(principal: Principal, id: string): ExportJob {
  sweepJobs();
  const job = jobs.get(id);
  if (!job || job.owner !== ownerOf(principal)) throw new FhirError(404, 'not-found', `export job ${id} not found`);
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
      sweepJobs();
      const job: ExportJob = {
        id: crypto.randomUUID(),
        owner: ownerOf(principal),
        startedAt: new Date(),
        request: `${serverBase}${level === 'patient' ? '/Patient' : ''}/$export`,
        types,
        state: 'running',
        progress: 'starting',
        files: new Map(),
      };
      jobs.set(job.id, job);
      await appendAudit(db, {
        actor: principal.staffId ? { type: 'staff', id: principal.staffId } : { type: 'token', id: principal.tokenId ?? null },
        action: 'fhir.export',
        detail: { job: job.id, level, types, by: actorDetail(principal), clinics: principal.clinics === 'all' ? 'all' : [...principal.clinics] },
      });
      void runExport(db, base, principal, job).catch((err: Error) => {
        job.state = 'failed';
        job.error = 'the export failed';
        req.log.error({ err: { name: err.name, message: err.message }, job: job.id }, 'FHIR bulk export failed');
      });
      void reply.header('content-location', `${serverBase}/$export-status/${job.id}`);
      return send(reply, 202, outcome('informational', `export ${job.id} started: poll its Content-Location`, undefined, 'information'));
    };
    f.post('/fhir/$export', kickOff('system'));
    f.post('/fhir/Patient/$export', kickOff('patient'));

    f.get('/fhir/$export-status/:job', async (req, reply) => {
      const job = jobOf(principalOf(req), (req.params as { job: string }).job);
      if (job.state === 'running') {
        void reply.header('x-progress', job.progress).header('retry-after', '1');
        return reply.code(202).send();
      }
      if (job.state === 'failed') return send(reply, 500, outcome('exception', job.error ?? 'the export failed'));
      return reply
        .code(200)
        .header('expires', new Date(job.startedAt.getTime() + JOB_TTL_MS).toUTCString())
        .type('application/json')
        .send(
          JSON.stringify({
            transactionTime: job.startedAt.toISOString(),
            request: job.request,
            requiresAccessToken: true,
            output: [...job.files.keys()].map((type) => ({ type, url: `${serverBase}/$export-file/${job.id}/${type}.ndjson`, count: job.files.get(type)!.split('\n').filter(Boolean).length })),
            error: [],
          }),
        );
    });
    f.delete('/fhir/$export-status/:job', async (req, reply) => {
      const job = jobOf(principalOf(req), (req.params as { job: string }).job);
      job.state = 'cancelled';
      jobs.delete(job.id);
      return reply.code(202).send();
    });
    f.get('/fhir/$export-file/:job/:file', async (req, reply) => {
      const { job: jobId, file } = req.params as { job: string; file: string };
      const job = jobOf(principalOf(req), jobId);
      const content = job.state === 'done' ? job.files.get(file.replace(/\.ndjson$/, '')) : undefined;
      if (content === undefined) throw new FhirError(404, 'not-found', `file ${file} of export ${jobId} not found`);
      return reply.code(200).type(NDJSON).send(content);
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

/** Builds the files of an export: every client of the principal's clinics, each read audited. */
async function runExport(db: Db, base: string, principal: Principal, job: ExportJob): Promise<void> {
  const clients = (await clientsInScope(db, principal)).filter((c) => canAccessClinic(principal, c.clinic_id));
  const lines = new Map<string, string[]>(job.types.map((t) => [t, []]));
  const seen = new Set<string>();
  let n = 0;
  for (const c of clients) {
    if (job.state !== 'running') return;
    for (const r of await clientResources(db, base, c.id)) {
      const key = `${r.resourceType}/${r.id}`;
      if (!lines.has(r.resourceType) || seen.has(key)) continue;
      seen.add(key);
      lines.get(r.resourceType)!.push(JSON.stringify(r));
    }
    await recordClientRead(db, principal, { clinicId: c.clinic_id, clientId: c.id, what: 'fhir-bulk-export' });
    job.progress = `${++n} of ${clients.length} patients`;
  }
  for (const [type, ls] of lines) if (ls.length) job.files.set(type, `${ls.join('\n')}\n`);
  job.state = 'done';
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
