// The security matrix: role x route x clinic, generated from the route table. Every route the app
// registers (JSON and HTML) is called by every principal:
//   - an all-clinic admin, an admin of clinic A, a coordinator, a prescriber and a therapist of clinic
//     A (each a staff member with a personal token limited to clinic A, and again through a dashboard
//     session), and no credentials at all;
//   - roles: the outcome the role matrix (src/auth/role-matrix.ts) promises: an allowed role never gets
//     401/403, any other role gets 403, no credentials get 401 or the login page;
//   - clinic: every route with a parameter is called by clinic A's principals with clinic B's record
//     (its client, course, staff member, token, webhook, outbox message, the clinic itself) and must
//     answer 404 (403 when the role is refused) without a word of clinic B in the answer; every route
//     that takes a clinic in its body is called with clinic B; every list is read for clinic B's
//     records.
// A new route fails this file until it has a rule in the role matrix, and, when it has parameters, an
// entry in PARAMS below (how to find clinic B's value for each parameter) and, when it changes
// something, a body in BODIES. Failures are collected per combination and reported together.
import type { FastifyInstance } from 'fastify';
import { registeredRoutes } from '../../src/api/auth';
import { ROUTE_ACCESS, accessFor, type Access } from '../../src/auth/role-matrix';
import { ACTIONS, ACTION_NAMES, type ActionName } from '../../src/domain/actions/catalogue';
import { fhirId } from '../../src/fhir/ids';
import { SESSION_COOKIE, createSession } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { startTestStack, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';

jest.setTimeout(180_000);

let stack: TestStack;
let app: FastifyInstance;

// ---- The two clinics and what each holds ----------------------------------------------------------

interface Side {
  clinic: string;
  clientId: string;
  givenName: string;
  familyName: string;
  email: string;
  courseId: string;
  /** A staff member of the clinic who is none of the calling principals (safe to reset, deactivate...). */
  spareStaffId: string;
  spareStaffEmail: string;
  spareStaffName: string;
  prescriberStaffId: string;
  /** A token limited to the clinic, none of the calling principals' (safe to revoke). */
  spareTokenId: string;
  webhookId: string;
  outboxKey: string;
  sinkMessageId: number;
  sinkSubject: string;
}

const U = uid();
const sides = {} as Record<'A' | 'B', Side>;

interface Principal {
  name: string;
  role: StaffRole | null;
  /** 'all' or the one clinic (A) the principal is limited to. */
  scope: 'all' | 'A' | null;
  token?: string;
  /** A dashboard session instead of a token: the session cookie, and its CSRF token for changes. */
  session?: { id: string; csrf: string };
  staffId?: string;
}
const principals: Principal[] = [];
const byName = (n: string) => principals.find((p) => p.name === n)!;

// ---- Parameters: how to find a side's value for each route with parameters ----------------------
// Keyed by the route's URL pattern. A route with parameters that is missing here fails the suite.

type ParamFn = (s: Side) => Record<string, string>;
const course: ParamFn = (s) => ({ id: s.courseId });
const client: ParamFn = (s) => ({ id: s.clientId });
const webhook: ParamFn = (s) => ({ id: s.webhookId });
const staffMember: ParamFn = (s) => ({ id: s.spareStaffId });

export const PARAMS: Record<string, ParamFn | { notScoped: string; example: Record<string, string> }> = {
  '/assets/:file': { notScoped: 'static assets, the same for everyone', example: { file: 'dashboard.css' } },
  '/a/:token': { notScoped: "the client's signed link: the token in the URL is the credential (its own tests: client-assessment)", example: { token: 'not-a-link' } },
  '/api/tokens/:id': (s) => ({ id: s.spareTokenId }),
  '/api/clinics/:id': (s) => ({ id: s.clinic }),
  '/api/clinics/:id/outcomes': (s) => ({ id: s.clinic }),
  '/api/staff/:id': staffMember,
  '/api/staff/:id/reset-password': staffMember,
  '/staff/:id': staffMember,
  '/staff/:id/reset-password': staffMember,
  '/api/clients/:id': client,
  '/api/clients/:id/timeline': client,
  '/api/clients/:id/scores': client,
  '/api/clients/:id/courses': client,
  '/api/clients/:id/fhir': client,
  '/api/courses/:id': course,
  '/api/courses/:id/assessments': course,
  '/api/courses/:id/fhir': course,
  '/api/courses/:id/rems': course,
  '/api/courses/:id/rems/:session': (s) => ({ id: s.courseId, session: 'dose-1' }),
  ...Object.fromEntries(ACTION_NAMES.map((action) => [`/api/courses/:id/${action}`, course])),
  '/api/courses/:id/move-preview': course,
  '/courses/:id/move': course,
  '/api/webhooks/:id': webhook,
  '/api/webhooks/:id/rotate-secret': webhook,
  '/api/webhooks/:id/deliveries': webhook,
  '/api/webhooks/:id/redeliver': webhook,
  '/webhooks/:id/redeliver': webhook,
  '/api/outbox/:id': (s) => ({ id: String(s.sinkMessageId) }),
  // The FHIR API (src/fhir/api.ts): a read names the side's patient; a search's parameter is a resource
  // type, no record (what a search returns is scoped: test/integration/fhir-api.int.test.ts); an export
  // job belongs to the principal that started it (the same test).
  '/fhir/:type/:id': (s) => ({ type: 'Patient', id: fhirId('Patient', s.clientId) }),
  '/fhir/:type': { notScoped: 'a resource type, no record: the results are scoped (fhir-api.int.test.ts)', example: { type: 'Patient' } },
  '/fhir/$export-status/:job': { notScoped: "an export job is its starter's alone (fhir-api.int.test.ts)", example: { job: 'no-such-job' } },
  '/fhir/$export-file/:job/:file': { notScoped: "an export job is its starter's alone (fhir-api.int.test.ts)", example: { job: 'no-such-job', file: 'Patient.ndjson' } },
  '/courses/:id/rems/:session/print': (s) => ({ id: s.courseId, session: 'dose-1' }),
  '/courses/:id/rems/:session': (s) => ({ id: s.courseId, session: 'dose-1' }),
  '/clients/:id': client,
  '/clients/:id/enroll': client,
  // An action every role may record, so that the clinic (not the role) decides.
  '/courses/:id/actions/:action': (s) => ({ id: s.courseId, action: 'adverse-event' }),
  '/outbox/:id': (s) => ({ id: String(s.sinkMessageId) }),
  // The clinic's own protocol (set up in buildSide: version 2 published, a draft of version 3).
  '/api/clinics/:id/protocols': (s) => ({ id: s.clinic }),
  '/api/clinics/:id/protocols/:protocolId/draft': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/draft/discard': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/draft/sandbox': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/draft/rehearsal': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/publish': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/in-use': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/diff': (s) => ({ id: s.clinic, protocolId: 'kap-office' }),
  '/api/clinics/:id/protocols/:protocolId/versions/:version': (s) => ({ id: s.clinic, protocolId: 'kap-office', version: '2' }),
  '/protocols/:clinicId/:protocolId': (s) => ({ clinicId: s.clinic, protocolId: 'kap-office' }),
  '/protocols/:clinicId/:protocolId/publish': (s) => ({ clinicId: s.clinic, protocolId: 'kap-office' }),
  '/protocols/:clinicId/:protocolId/draft': (s) => ({ clinicId: s.clinic, protocolId: 'kap-office' }),
  '/protocols/:clinicId/:protocolId/draft/upload': (s) => ({ clinicId: s.clinic, protocolId: 'kap-office' }),
  '/protocols/:clinicId/:protocolId/rehearse': (s) => ({ clinicId: s.clinic, protocolId: 'kap-office' }),
  '/protocols/:clinicId/drafts': (s) => ({ clinicId: s.clinic }),
};

// ---- Bodies: a valid body for every route that changes something ------------------------------------
// Valid, so that validation passes and only the role and the clinic decide. Keyed by `METHOD pattern`;
// HTML forms get the same fields form-encoded (see formEncode). Required for routes with parameters.

// Every staff action's body is its catalogue example (valid by construction, checked in
// test/unit/domain/action-catalogue.test.ts); only the clinician to change to is this side's.
const ACTION_BODIES = Object.fromEntries(
  ACTION_NAMES.map((action) => [action, (s: Side) => (action === 'change-clinician' ? { clinicianId: s.prescriberStaffId } : (ACTIONS[action].example as Record<string, unknown>))]),
) as Record<ActionName, (s: Side) => Record<string, unknown>>;

type BodyFn = (s: Side) => Record<string, unknown> | undefined;
const fresh = () => uid();
export const BODIES: Record<string, BodyFn> = {
  'POST /api/tokens': (s) => ({ role: 'therapist', clinicId: s.clinic, label: 'security matrix' }),
  'DELETE /api/tokens/:id': () => undefined,
  'POST /api/clinics': () => ({ id: `clin-new-${fresh()}`, name: 'New clinic' }),
  'POST /api/staff': (s) => ({ email: `new-${fresh()}@example.org`, displayName: 'New Staff', role: 'therapist', clinicIds: [s.clinic] }),
  'POST /api/clients': (s) => ({ clinicId: s.clinic, givenName: 'New', familyName: 'Client', email: 'new.client@example.org', externalRef: `matrix-${s.clinic}` }),
  'POST /api/clients/:id/courses': () => ({ protocolId: 'kap-office' }),
  ...Object.fromEntries(Object.entries(ACTION_BODIES).map(([action, fn]) => [`POST /api/courses/:id/${action}`, fn])),
  'POST /api/courses/:id/rems/:session': () => ({ doseMg: 56, lotNumber: 'L-1' }),
  'POST /courses/:id/rems/:session': () => ({ doseMg: '56', lotNumber: 'L-1' }),
  'POST /api/webhooks': (s) => ({ clinicId: s.clinic, url: 'http://127.0.0.1:9/hook', eventTypes: ['safety.escalation'] }),
  'PATCH /api/webhooks/:id': () => ({ description: 'security matrix' }),
  'DELETE /api/webhooks/:id': () => undefined,
  'POST /api/webhooks/:id/rotate-secret': () => undefined,
  'POST /api/webhooks/:id/redeliver': () => ({}),
  'POST /webhooks/:id/redeliver': () => ({}),
  'DELETE /fhir/$export-status/:job': () => undefined,
  'POST /codec/encode': () => ({ payloads: [] }),
  'POST /codec/decode': () => ({ payloads: [] }),
  'POST /login': () => ({}),
  'POST /logout': () => ({}),
  'POST /clients': (s) => ({ clinicId: s.clinic, givenName: 'New', familyName: 'Client', email: 'new.client@example.org' }),
  'POST /clients/:id/enroll': () => ({ protocolId: 'kap-office' }),
  'POST /courses/:id/actions/:action': () => ({ category: 'nausea-vomiting', severity: 'mild', 'serious:bool': 'false' }),
  'POST /courses/:id/move': () => ({ version: '2', reason: 'security matrix' }),
  'PATCH /api/staff/:id': () => ({ displayName: 'Renamed By Matrix' }),
  'PATCH /api/clinics/:id': () => ({ address: '1 Matrix Street, Springfield' }),
  'POST /api/staff/:id/reset-password': () => undefined,
  'POST /staff/:id': () => ({ displayName: 'Renamed By Matrix' }),
  'POST /staff/:id/reset-password': () => undefined,
  'POST /staff': (s) => ({ email: `new-${fresh()}@example.org`, displayName: 'New Staff', role: 'therapist', clinicIds: s.clinic }),
  'POST /a/:token': () => ({}),
  'POST /api/clinics/:id/protocols': () => ({ template: 'iv-series', reason: 'security matrix' }),
  'PUT /api/clinics/:id/protocols/:protocolId/draft': () => ({ protocol: { name: 'incomplete' }, reason: 'security matrix' }),
  'POST /api/clinics/:id/protocols/:protocolId/draft/discard': () => ({ reason: 'security matrix' }),
  'POST /api/clinics/:id/protocols/:protocolId/draft/sandbox': () => ({}),
  'POST /api/clinics/:id/protocols/:protocolId/draft/rehearsal': () => ({ sandboxClinicId: 'no-such-sandbox', timeScale: 86400 }),
  'POST /api/clinics/:id/protocols/:protocolId/publish': () => ({ reason: 'security matrix' }),
  'PUT /api/clinics/:id/protocols/:protocolId/in-use': () => ({ version: 2, reason: 'security matrix' }),
  'POST /protocols/:clinicId/:protocolId/publish': () => ({ reason: 'security matrix' }),
  'POST /protocols/:clinicId/:protocolId/draft': () => ({ reason: 'security matrix', 'course.preparationSessions': 'not a number' }),
  'POST /protocols/:clinicId/:protocolId/draft/upload': () => ({ reason: 'security matrix', protocol: '{ not json' }),
  'POST /protocols/:clinicId/:protocolId/rehearse': () => ({ clients: '1' }),
  'POST /protocols/:clinicId/drafts': () => ({ template: 'iv-series', reason: 'security matrix' }),
};

/** Routes that take the clinic in the body: clinic A's principals naming clinic B are refused. */
const BODY_CLINIC_ROUTES = ['POST /api/clients', 'POST /api/webhooks', 'POST /api/tokens', 'POST /api/staff', 'POST /clients', 'POST /staff'];

/** Routes only an all-clinic principal may use, whatever the role matrix allows a clinic's admin. */
const ALL_CLINIC_ONLY = new Set(['POST /api/clinics', 'POST /codec/decode']);

/**
 * Routes that authenticate themselves ('own-auth' in the role matrix): what each principal gets. A new
 * own-auth route fails the suite until it is described here.
 */
const OWN_AUTH: Record<string, { expect: (who: Principal) => 'allowed' | 401 | 403 | 'any'; why: string }> = {
  'GET /metrics': { expect: () => 'any', why: 'a bearer METRICS_TOKEN, or direct loopback connections when none is set (metrics tests); inject comes from loopback' },
  'POST /codec/decode': { expect: (who) => (who.role === null ? 401 : who.scope === 'all' ? 'allowed' : 403), why: 'a decode reveals every clinic: all-clinic staff only' },
  'POST /codec/encode': { expect: (who) => (who.role === null ? 401 : 403), why: 'payloads are sealed by the engine alone: nobody may have one encoded' },
};

// ---- Requests ---------------------------------------------------------------------------------------

const isHtml = (url: string) => !url.startsWith('/api/') && !url.startsWith('/codec/') && !url.startsWith('/fhir/') && url !== '/health' && url !== '/metrics';
const isMutating = (method: string) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

function fill(pattern: string, values: Record<string, string>): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for :${name} in ${pattern}`);
    return encodeURIComponent(v);
  });
}

function formEncode(body: Record<string, unknown>): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) for (const item of [v].flat()) out.append(k, typeof item === 'string' ? item : JSON.stringify(item));
  return out.toString();
}

interface Outcome {
  status: number;
  text: string;
  location: string;
}

async function send(p: Principal, method: string, pattern: string, url: string, body?: Record<string, unknown>): Promise<Outcome> {
  const headers: Record<string, string> = p.token ? { authorization: `Bearer ${p.token}` } : {};
  if (p.session) {
    headers.cookie = `${SESSION_COOKIE}=${p.session.id}`;
    if (isMutating(method)) headers['x-csrf-token'] = p.session.csrf;
    // The codec takes a session only from the Temporal Web UI's origin (src/api/routes/codec.ts).
    if (pattern.startsWith('/codec/')) headers.origin = `http://127.0.0.1:${stack.config.TEMPORAL_UI_PORT}`;
  }
  let payload: string | undefined;
  if (body !== undefined && isMutating(method)) {
    if (isHtml(pattern)) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = formEncode(body);
    } else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const res = await app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
  return { status: res.statusCode, text: res.body, location: String(res.headers.location ?? '') };
}

const toLogin = (o: Outcome) => (o.status === 302 || o.status === 303) && o.location.startsWith('/login');

/** Everything that would tell a clinic-A principal about clinic B (ids it did not send, names, emails). */
function markersOf(s: Side): string[] {
  return [s.clinic, s.givenName, s.familyName, s.email, s.clientId, s.courseId, s.spareStaffEmail, s.spareStaffName, s.spareTokenId, s.webhookId, s.outboxKey, s.sinkSubject];
}

/** The markers of clinic B found in an answer, after removing the values the caller sent itself. */
function leaks(o: Outcome, sent: string[]): string[] {
  let text = `${o.text}\n${decodeURIComponent(o.location)}`;
  for (const v of sent) text = text.split(v).join('<sent>');
  return markersOf(sides.B).filter((m) => text.includes(m));
}

// ---- Set-up: two clinics, each with staff, a client, an enrolled course, a token, a webhook, an email --

async function insertStaff(role: StaffRole, clinic: string | null, label: string): Promise<{ id: string; email: string; name: string }> {
  const id = `staff-${label}-${uid()}`;
  const email = `${label}-${U}@example.org`;
  const name = `Staffer ${label} ${U}`;
  await stack.db.insertInto('staff').values({ id, email, display_name: name, role, password_hash: null }).execute();
  if (clinic) await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinic }).execute();
  return { id, email, name };
}

async function buildSide(tag: 'A' | 'B', admin: Principal): Promise<Side> {
  const clinic = `clin${tag.toLowerCase()}-${U}`;
  const auth = { authorization: `Bearer ${admin.token}` };
  const post = async (url: string, body: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url, headers: auth, payload: body });
    if (res.statusCode >= 300) throw new Error(`set-up ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  await post('/api/clinics', { id: clinic, name: `Clinic ${tag} ${U}` });
  // Family names sort first, so that lists limited to their first page still hold them.
  const givenName = `Given${tag}${U}`;
  const familyName = `Aaa${tag}Family${U}`;
  const email = `client-${tag.toLowerCase()}-${U}@example.org`;
  const c = await post('/api/clients', { clinicId: clinic, givenName, familyName, email });
  const crs = await post(`/api/clients/${c.id}/courses`, { protocolId: 'kap-office' });
  const spare = await insertStaff('therapist', clinic, `spare${tag.toLowerCase()}`);
  const prescriber = await insertStaff('prescriber', clinic, `presc${tag.toLowerCase()}`);
  const tok = await createApiToken(stack.db, { role: 'therapist', clinicId: clinic, staffId: spare.id, label: `spare ${tag}` });
  const hook = await post('/api/webhooks', { clinicId: clinic, url: 'http://127.0.0.1:9/hook', eventTypes: ['safety.escalation'], description: `hook ${tag}` });
  // An email to the client with a live link, as the outbox and the embedded sink hold it.
  const messageId = `<matrix-${tag}-${U}@kap.local>`;
  const outboxKey = `matrix-${tag.toLowerCase()}-${U}`;
  const sinkSubject = `Your check-in ${tag}${U}`;
  await stack.db
    .insertInto('email_outbox')
    .values({ key: outboxKey, template: 'assessment-invite', course_id: crs.id, clinic_id: clinic, recipient_kind: 'client', recipient_ref: c.id, audience: 'client', message_id: messageId, status: 'sent', subject: sinkSubject, sent_at: new Date() })
    .execute();
  const sink = await stack.db
    .insertInto('smtp_sink_messages')
    .values({ message_id: messageId, envelope_from: 'no-reply@kap.local', envelope_to: JSON.stringify([email]) as never, subject: sinkSubject, text_body: `Dear ${givenName} ${familyName}, answer here: http://127.0.0.1:3000/a/live-link-${tag}${U}`, html_body: null, raw: `To: ${email}\r\nSubject: ${sinkSubject}\r\n\r\nDear ${givenName}` })
    .returning('id')
    .executeTakeFirstOrThrow();
  // The clinic's own office KAP protocol: version 2 published (after the course above was enrolled), a draft of version 3.
  const draft = await post(`/api/clinics/${clinic}/protocols`, { template: 'kap-office', reason: 'matrix' });
  // As `kap protocol rehearse` leaves a draft that passed (publishing needs it).
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash: draft.hash }) }).where('clinic_id', '=', clinic).where('status', '=', 'draft').execute();
  await post(`/api/clinics/${clinic}/protocols/kap-office/publish`, { reason: 'matrix' });
  await post(`/api/clinics/${clinic}/protocols`, { copyOf: 'kap-office', reason: 'matrix' });
  // A REMS monitoring form for the first dose, as the course's projection writes it after discharge.
  await stack.db
    .insertInto('rems_monitoring_forms')
    .values({ id: `rems-${tag.toLowerCase()}-${U}`, course_id: crs.id, clinic_id: clinic, session_step_key: 'dose-1', first_treatment: true, dose_mg: null, lot_number: null, bp_pre: null, bp_40: null, bp_discharge: null, monitoring_minutes: null, sedation: null, dissociation: null, respiratory_depression: null, serious_adverse_event: null, due_at: new Date(Date.now() + 7 * 86_400_000) })
    .execute();
  return {
    clinic,
    clientId: c.id,
    givenName,
    familyName,
    email,
    courseId: crs.id,
    spareStaffId: spare.id,
    spareStaffEmail: spare.email,
    spareStaffName: spare.name,
    prescriberStaffId: prescriber.id,
    spareTokenId: tok.info.id,
    webhookId: hook.id ?? hook.subscription?.id,
    outboxKey,
    sinkMessageId: Number(sink.id),
    sinkSubject,
  };
}

beforeAll(async () => {
  stack = await startTestStack();
  app = stack.app;
  const adminStaff = await insertStaff('admin', null, 'admin-all');
  const adminAll: Principal = { name: 'admin (all clinics)', role: 'admin', scope: 'all', token: (await createApiToken(stack.db, { role: 'admin', staffId: adminStaff.id, label: 'matrix admin all' })).token };
  principals.push(adminAll);
  const session = async (staffId: string) => {
    const { sessionId, csrfToken } = await createSession(stack.db, staffId);
    return { id: sessionId, csrf: csrfToken };
  };
  const sessionPrincipals: Principal[] = [{ name: 'admin (all clinics) by session', role: 'admin', scope: 'all', staffId: adminStaff.id, session: await session(adminStaff.id) }];
  sides.A = await buildSide('A', adminAll);
  sides.B = await buildSide('B', adminAll);
  for (const role of ['admin', 'coordinator', 'prescriber', 'therapist'] as const) {
    const s = await insertStaff(role, sides.A.clinic, `${role}-a`);
    const { token } = await createApiToken(stack.db, { role, clinicId: sides.A.clinic, staffId: s.id, label: `matrix ${role} A` });
    principals.push({ name: `${role} of A`, role, scope: 'A', token });
    sessionPrincipals.push({ name: `${role} of A by session`, role, scope: 'A', staffId: s.id, session: await session(s.id) });
  }
  // The same staff through the dashboard's session cookie: one scope check for both ways in.
  principals.push(...sessionPrincipals);
  principals.push({ name: 'no credentials', role: null, scope: null });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

// Routes in a stable order; the ones that end or remove something last.
function routes(): Array<{ method: string; url: string; key: string; access: Access; listed: boolean }> {
  const last = (r: { method: string; url: string }) => (r.method === 'DELETE' ? 2 : /\/(withdraw|logout)$/.test(r.url) ? 1 : 0);
  return registeredRoutes(app)
    .filter((r) => r.method !== 'HEAD')
    .map((r) => ({ ...r, key: `${r.method} ${r.url}`, access: accessFor(r.method, r.url).access }))
    .sort((a, b) => last(a) - last(b) || a.key.localeCompare(b.key));
}

const hasParams = (url: string) => /:[A-Za-z]/.test(url);

// ---- The tables are complete --------------------------------------------------------------------------

test('every registered route has a rule in the role matrix', () => {
  const all = routes();
  expect(all.length).toBeGreaterThan(80);
  expect(all.filter((r) => !r.listed).map((r) => r.key)).toEqual([]);
  // And every rule names a route that exists (a stale rule hides a renamed route).
  const keys = new Set(all.map((r) => r.key));
  expect(Object.keys(ROUTE_ACCESS).filter((k) => !keys.has(k))).toEqual([]);
});

test('every route with parameters has an entry in PARAMS, and every one that changes something a body in BODIES', () => {
  const all = routes();
  expect(all.filter((r) => hasParams(r.url) && !(r.url in PARAMS)).map((r) => r.key)).toEqual([]);
  expect(all.filter((r) => hasParams(r.url) && isMutating(r.method) && !(r.key in BODIES)).map((r) => r.key)).toEqual([]);
  // No stale entries either.
  const urls = new Set(all.map((r) => r.url));
  expect(Object.keys(PARAMS).filter((u) => !urls.has(u))).toEqual([]);
});

// ---- Roles ----------------------------------------------------------------------------------------------

test('role x route: allowed roles are never refused, other roles get 403, no credentials get 401 or the login page', async () => {
  const failures: string[] = [];
  const publicStatus: Record<string, number> = {};
  let checked = 0;
  for (const r of routes()) {
    if (r.method === 'OPTIONS') continue;
    const p = PARAMS[r.url];
    const url = !p ? r.url : typeof p === 'function' ? fill(r.url, p(sides.A)) : fill(r.url, p.example);
    for (const who of principals) {
      const body = isMutating(r.method) ? (BODIES[r.key]?.(sides.A) ?? {}) : undefined;
      const o = await send(who, r.method, r.url, url, body);
      checked++;
      // Logging out ends the session: the principal logs in again for the routes after this one.
      if (r.key === 'POST /logout' && who.session && who.staffId) {
        const { sessionId, csrfToken } = await createSession(stack.db, who.staffId);
        who.session = { id: sessionId, csrf: csrfToken };
      }
      const got = `${o.status}${o.location ? ` -> ${o.location.slice(0, 60)}` : ''}`;
      const fail = (expected: string) => failures.push(`${r.key} as ${who.name}: expected ${expected}, got ${got}: ${o.text.slice(0, 160)}`);
      if (o.status >= 500) {
        fail('no 5xx');
        continue;
      }
      if (r.access === 'client-link') {
        // The link is the credential: staff credentials change nothing (a made-up link is refused alike).
        const first = (publicStatus[r.key] ??= o.status);
        if (o.status !== first) fail(`the same status as for everyone else (${first})`);
        if (o.status < 400) fail('a refusal of a made-up link');
        continue;
      }
      if (r.access === 'public') {
        // Public: the answer does not depend on who asks (a login form without its CSRF token is
        // refused alike for everyone).
        const first = (publicStatus[r.key] ??= o.status);
        if (o.status !== first) fail(`the same status as for everyone else (${first})`);
        if ((o.status === 401 || o.status === 403) && r.key !== 'POST /login') fail('public (no 401/403)');
        continue;
      }
      if (r.access === 'own-auth') {
        const rule = OWN_AUTH[r.key];
        if (!rule) fail('a rule in OWN_AUTH for this own-auth route');
        else {
          const want = rule.expect(who);
          if (want === 'allowed' ? o.status === 401 || o.status === 403 : want !== 'any' && o.status !== want) fail(`${want} (${rule.why})`);
        }
        continue;
      }
      if (who.role === null) {
        const ok = isHtml(r.url) && r.method === 'GET' ? toLogin(o) : o.status === 401 || toLogin(o);
        if (!ok) fail(isHtml(r.url) && r.method === 'GET' ? 'a redirect to /login' : '401 (or the login page)');
        continue;
      }
      const allowed = r.access === 'any-staff' || (Array.isArray(r.access) && r.access.includes(who.role));
      const scopeRefused = ALL_CLINIC_ONLY.has(r.key) && who.scope !== 'all';
      if (allowed && !scopeRefused) {
        if (o.status === 401 || o.status === 403) fail('allowed (no 401/403)');
        // Its own clinic's record is there for it (so a 404 for clinic B's, below, is the clinic's doing).
        else if (r.method === 'GET' && hasParams(r.url) && typeof p === 'function' && o.status !== 200) fail("200 (its own clinic's record)");
      } else if (isHtml(r.url) ? !(o.status === 403 || toLogin(o)) : o.status !== 403) {
        fail(scopeRefused ? '403 (all-clinic principals only)' : '403');
      }
    }
  }
  expect(checked).toBeGreaterThan(400);
  expect(failures).toEqual([]);
});

// ---- Clinic: clinic A's principals and clinic B's records ------------------------------------------------

test("clinic: every route with parameters, called by clinic A's principals with clinic B's records, answers 404 (403 for the role) and names nothing of B", async () => {
  const failures: string[] = [];
  let checked = 0;
  const scoped = principals.filter((p) => p.scope === 'A');
  for (const r of routes()) {
    if (!hasParams(r.url) || r.method === 'OPTIONS') continue;
    const p = PARAMS[r.url];
    if (!p || 'notScoped' in p) continue;
    const values = p(sides.B);
    const url = fill(r.url, values);
    for (const who of scoped) {
      const body = isMutating(r.method) ? BODIES[r.key]?.(sides.B) : undefined;
      const o = await send(who, r.method, r.url, url, body);
      checked++;
      const roleAllowed = r.access === 'any-staff' || (Array.isArray(r.access) && r.access.includes(who.role!));
      const got = `${o.status}${o.location ? ` -> ${decodeURIComponent(o.location).slice(0, 100)}` : ''}`;
      // A dashboard form reports a refusal by sending the browser back with an error message.
      const formRefused = isHtml(r.url) && isMutating(r.method) && (o.status === 302 || o.status === 303) && /[?&]error=/.test(o.location);
      const expected = roleAllowed ? [404] : [403];
      if (!expected.includes(o.status) && !(formRefused && /not found|no such/i.test(decodeURIComponent(o.location)))) {
        failures.push(`${r.method} ${url} (${r.url}) as ${who.name}: expected ${expected.join('/')}${isHtml(r.url) && isMutating(r.method) ? ' (or back with "not found")' : ''}, got ${got}: ${o.text.slice(0, 160)}`);
      }
      const leaked = leaks(o, Object.values(values));
      if (leaked.length) failures.push(`${r.method} ${url} (${r.url}) as ${who.name}: the answer (${o.status}) names clinic B's ${leaked.join(', ')}`);
    }
  }
  expect(checked).toBeGreaterThan(150);
  expect(failures).toEqual([]);
});

test("clinic: routes that take a clinic in the body refuse clinic A's principals naming clinic B", async () => {
  const failures: string[] = [];
  const present = new Set(routes().map((r) => r.key));
  for (const key of BODY_CLINIC_ROUTES) {
    expect({ key, registered: present.has(key) }).toEqual({ key, registered: true });
    const [method, url] = key.split(' ') as [string, string];
    for (const who of principals.filter((p) => p.scope === 'A')) {
      const o = await send(who, method, url, url, BODIES[key]!(sides.B));
      const formRefused = isHtml(url) && (o.status === 302 || o.status === 303) && /[?&]error=/.test(o.location);
      if (!(o.status === 403 || o.status === 404 || o.status === 400 || formRefused)) failures.push(`${key} naming clinic B as ${who.name}: expected a refusal, got ${o.status} ${o.location}: ${o.text.slice(0, 160)}`);
      const leaked = leaks(o, [sides.B.clinic]);
      if (leaked.length) failures.push(`${key} naming clinic B as ${who.name}: the answer names clinic B's ${leaked.join(', ')}`);
    }
  }
  expect(failures).toEqual([]);
});

test("clinic: lists read by clinic A's principals hold nothing of clinic B, unfiltered or filtered by its clinic, client, course, staff or name", async () => {
  const failures: string[] = [];
  const lists = routes().filter((r) => r.method === 'GET' && !hasParams(r.url) && Array.isArray(r.access));
  expect(lists.length).toBeGreaterThan(15);
  let read = 0;
  for (const r of lists) {
    for (const who of principals.filter((p) => p.scope === 'A' && (r.access as readonly StaffRole[]).includes(p.role!))) {
      const plain = await send(who, 'GET', r.url, r.url);
      read++;
      if (plain.status !== 200) failures.push(`${r.key} as ${who.name}: expected 200, got ${plain.status}: ${plain.text.slice(0, 160)}`);
      const leaked = leaks(plain, []);
      if (leaked.length) failures.push(`${r.key} as ${who.name}: lists clinic B's ${leaked.join(', ')}`);
      // Asking for clinic B's records by filter: refused, ignored or empty, never B's records.
      const B = sides.B;
      const filters: Array<[string, string]> = [['clinicId', B.clinic], ['clientId', B.clientId], ['courseId', B.courseId], ['actor', B.spareStaffId], ['q', B.familyName]];
      for (const [name, value] of filters) {
        const filtered = await send(who, 'GET', r.url, `${r.url}?${name}=${encodeURIComponent(value)}`);
        if (filtered.status >= 500) failures.push(`${r.key}?${name}=<B> as ${who.name}: got ${filtered.status}`);
        const leakedF = leaks(filtered, [value]);
        if (leakedF.length) failures.push(`${r.key}?${name}=<B> as ${who.name}: names clinic B's ${leakedF.join(', ')}`);
      }
    }
  }
  expect(read).toBeGreaterThan(40);
  expect(failures).toEqual([]);
});

test("the all-clinic admin does see clinic B's records in the lists (the checks above can fail)", async () => {
  const adminAll = byName('admin (all clinics)');
  const B = sides.B;
  const expectations: Array<[string, string]> = [
    ['/api/clinics', B.clinic],
    ['/api/clients', B.familyName],
    ['/api/courses', B.courseId],
    ['/api/staff', B.spareStaffEmail],
    ['/api/tokens', B.spareTokenId],
    ['/api/webhooks', B.webhookId],
    ['/api/outbox', B.outboxKey],
    ['/clients', B.familyName],
    ['/outbox', B.email],
    ['/staff', B.spareStaffEmail],
    [`/api/clients/${B.clientId}`, B.email],
    [`/api/outbox/${B.sinkMessageId}`, B.email],
    [`/outbox/${B.sinkMessageId}`, B.givenName],
    [`/courses/${B.courseId}/rems/dose-1/print`, B.familyName],
    // The audit log (when the app has one): what was done in clinic B, filtered by its client.
    ...(registeredRoutes(app).some((r) => r.url === '/api/audit') ? ([[`/api/audit?clientId=${B.clientId}`, B.clinic]] as Array<[string, string]>) : []),
  ];
  const missing: string[] = [];
  for (const [url, marker] of expectations) {
    const o = await send(adminAll, 'GET', url, url);
    if (o.status !== 200 || !o.text.includes(marker)) missing.push(`${url}: ${o.status}, ${marker} ${o.text.includes(marker) ? 'present' : 'absent'}`);
  }
  expect(missing).toEqual([]);
});
