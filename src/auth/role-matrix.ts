// THE role matrix: every route of the HTTP server, and who may call it. The server looks each request
// up here before anything else runs (src/api/auth.ts); a route missing from this object is open to
// admins only (fail closed), and a test lists every registered route against this object.
//
//   public       anyone (health, the OpenAPI document, the login page, static assets)
//   client-link  a client holding a signed single-use link (the token in the URL is the credential)
//   any-staff    anyone logged in, whatever the role (logging out)
//   own-auth     the route authenticates and authorises itself, as its module documents (the Temporal
//                UI's codec endpoint: token or cookie plus an Origin check, every-clinic scope only)
//   [roles]      staff with one of these roles, within their clinics (checked per resource)
//
// Admins run the organisation (clinics, staff, tokens) and may also act for any role. Coordinators run
// the pathway (enrolment, scheduling, unsticking). Prescribers make medical decisions (clearance,
// dosing, discharge). Therapists run preparation and integration. Safety reviews belong to clinicians.
import type { StaffRole } from '../db/schema';
import { ACTIONS, ACTION_NAMES, type ActionName } from '../domain/actions/catalogue';

export type Access = 'public' | 'client-link' | 'any-staff' | 'own-auth' | readonly StaffRole[];

const ALL: readonly StaffRole[] = ['admin', 'coordinator', 'prescriber', 'therapist'];
const ADMIN: readonly StaffRole[] = ['admin'];
const OPS: readonly StaffRole[] = ['admin', 'coordinator'];
const PATHWAY: readonly StaffRole[] = ['admin', 'coordinator', 'prescriber'];
const CARE_TEAM: readonly StaffRole[] = ALL;

/**
 * Staff actions on a course (Updates of the course workflow), by their one name as used in
 * `POST /api/courses/:id/<action>` and in the dashboard's action forms: the roles come from the action
 * catalogue (src/domain/actions/catalogue.ts), where each action is defined once.
 */
export const ACTION_ROLES = Object.fromEntries(ACTION_NAMES.map((name) => [name, ACTIONS[name].roles])) as Record<ActionName, readonly StaffRole[]>;
export type CourseAction = ActionName;

const actionRoutes = Object.fromEntries(Object.entries(ACTION_ROLES).map(([action, roles]) => [`POST /api/courses/:id/${action}`, roles]));

export const ROUTE_ACCESS: Record<string, Access> = {
  // Service
  'GET /health': 'public',
  // Prometheus: a bearer METRICS_TOKEN, or direct loopback connections when none is set (src/metrics/api-metrics.ts).
  'GET /metrics': 'own-auth',
  'GET /api/openapi.json': 'public',
  'GET /assets/:file': 'public',
  // The Temporal Web UI's codec calls authenticate inside the route (src/api/routes/codec.ts):
  // session cookie from the UI's origin or an API token, staff scoped to every clinic.
  'POST /codec/encode': 'own-auth',
  'POST /codec/decode': 'own-auth',
  'OPTIONS /codec/encode': 'public',
  'OPTIONS /codec/decode': 'public',

  // Who am I; tokens (admin)
  'GET /api/me': CARE_TEAM,
  // Change one's own password (the current one is asked for); a token without a staff member has none: 403.
  'POST /api/me/password': CARE_TEAM,
  'GET /api/tokens': ADMIN,
  'POST /api/tokens': ADMIN,
  'DELETE /api/tokens/:id': ADMIN,

  // Organisation
  'GET /api/clinics': CARE_TEAM,
  'POST /api/clinics': ADMIN,
  'GET /api/clinics/:id': CARE_TEAM,
  // The clinic's settings (name, time zone, the REMS healthcare setting): its own admins.
  'PATCH /api/clinics/:id': ADMIN,
  'GET /api/clinics/:id/outcomes': PATHWAY,
  'GET /api/staff': OPS,
  'POST /api/staff': ADMIN,
  'GET /api/staff/:id': OPS,
  // Account management within the admin's clinics (src/auth/accounts.ts).
  'PATCH /api/staff/:id': ADMIN,
  'POST /api/staff/:id/reset-password': ADMIN,
  // Protocols (src/api/routes/protocols.ts): everyone reads; coordinators and admins draft; only a
  // clinic's admins publish and choose the version new enrolments use.
  'GET /api/protocols': CARE_TEAM,
  'POST /api/protocols/check': CARE_TEAM,
  'POST /api/clinics/:id/protocols': OPS,
  'GET /api/clinics/:id/protocols/:protocolId/draft': CARE_TEAM,
  'PUT /api/clinics/:id/protocols/:protocolId/draft': OPS,
  'POST /api/clinics/:id/protocols/:protocolId/draft/discard': OPS,
  'POST /api/clinics/:id/protocols/:protocolId/draft/sandbox': OPS,
  'POST /api/clinics/:id/protocols/:protocolId/draft/rehearsal': OPS,
  'POST /api/clinics/:id/protocols/:protocolId/publish': ADMIN,
  'PUT /api/clinics/:id/protocols/:protocolId/in-use': ADMIN,
  'GET /api/clinics/:id/protocols/:protocolId/versions/:version': CARE_TEAM,
  'GET /api/clinics/:id/protocols/:protocolId/diff': CARE_TEAM,
  // The audit log: who did or read what (admins, within their clinics)
  'GET /api/audit': ADMIN,

  // Clients and courses
  'GET /api/clients': CARE_TEAM,
  'POST /api/clients': OPS,
  'GET /api/clients/:id': CARE_TEAM,
  'GET /api/clients/:id/timeline': CARE_TEAM,
  'GET /api/clients/:id/scores': CARE_TEAM,
  'POST /api/clients/:id/courses': OPS,
  'GET /api/courses': CARE_TEAM,
  'GET /api/courses/:id': CARE_TEAM,
  ...actionRoutes,
  // What moving a course to another version would do (the move is the move-version action).
  'GET /api/courses/:id/move-preview': ACTION_ROLES['move-version'],

  // Assessments
  'GET /api/assessments': CARE_TEAM,
  'GET /api/courses/:id/assessments': CARE_TEAM,

  // Interoperability: FHIR R4 export (audited as a read of the client's record), REMS forms, webhooks
  'GET /api/clients/:id/fhir': CARE_TEAM,
  'GET /api/courses/:id/fhir': CARE_TEAM,
  // The read-only FHIR R4 API (src/fhir/api.ts): the CapabilityStatement is public, as FHIR servers
  // publish it; reads and searches as the Bundle exports; a bulk export (every client of the caller's
  // clinics) for the pathway roles; its status and files only for the principal that started it.
  'GET /fhir/metadata': 'public',
  'GET /fhir/:type': CARE_TEAM,
  'GET /fhir/:type/:id': CARE_TEAM,
  'POST /fhir/$export': PATHWAY,
  'POST /fhir/Patient/$export': PATHWAY,
  'GET /fhir/$export-status/:job': PATHWAY,
  'DELETE /fhir/$export-status/:job': PATHWAY,
  'GET /fhir/$export-file/:job/:file': PATHWAY,
  'GET /api/courses/:id/rems': CARE_TEAM,
  'POST /api/courses/:id/rems/:session': ACTION_ROLES['rems-form'],
  'GET /courses/:id/rems/:session/print': CARE_TEAM,
  'POST /courses/:id/rems/:session': ACTION_ROLES['rems-form'],
  'GET /api/webhooks': OPS,
  'POST /api/webhooks': OPS,
  'GET /api/webhooks/:id': OPS,
  'PATCH /api/webhooks/:id': OPS,
  'DELETE /api/webhooks/:id': OPS,
  'POST /api/webhooks/:id/rotate-secret': OPS,
  'GET /api/webhooks/:id/deliveries': OPS,
  'POST /api/webhooks/:id/redeliver': OPS,

  // The coordinator's queues
  'GET /api/stuck': CARE_TEAM,
  'GET /api/safety': CARE_TEAM,

  // Embedded SMTP sink (mail module's routes)
  'GET /api/outbox': OPS,
  'GET /api/outbox/:id': OPS,

  // Dashboard (HTML, session cookie)
  'GET /login': 'public',
  'POST /login': 'public',
  'POST /logout': 'any-staff',
  'GET /': CARE_TEAM,
  'GET /safety': CARE_TEAM,
  'GET /assessments': CARE_TEAM,
  // The courses worklist (the JSON twin is GET /api/courses).
  'GET /courses': CARE_TEAM,
  'GET /clients': CARE_TEAM,
  'POST /clients': OPS,
  'GET /clients/:id': CARE_TEAM,
  'POST /clients/:id/enroll': OPS,
  // Each action is checked again against ACTION_ROLES inside the handler.
  'POST /courses/:id/actions/:action': CARE_TEAM,
  // Moving a course to another version of its protocol: the preview and its confirm form (src/api/routes/dashboard-moves.ts).
  'GET /courses/:id/move': ACTION_ROLES['move-version'],
  'POST /courses/:id/move': ACTION_ROLES['move-version'],
  'GET /outcomes': PATHWAY,
  // A clinic's pathways (src/api/routes/dashboard-protocols.ts): read by all, drafted by coordinators and admins, published by admins.
  'GET /protocols': CARE_TEAM,
  'GET /protocols/:clinicId/:protocolId': CARE_TEAM,
  'POST /protocols/:clinicId/drafts': OPS,
  'POST /protocols/:clinicId/:protocolId/draft': OPS,
  'POST /protocols/:clinicId/:protocolId/draft/upload': OPS,
  'POST /protocols/:clinicId/:protocolId/rehearse': OPS,
  'POST /protocols/:clinicId/:protocolId/publish': ADMIN,
  'GET /outbox': OPS,
  'GET /outbox/:id': OPS,
  // The stuck board's Redeliver button (webhook deliveries given up on)
  'POST /webhooks/:id/redeliver': OPS,
  'GET /webhooks': OPS,
  'GET /staff': ADMIN,
  'GET /audit': ADMIN,
  'POST /staff': ADMIN,
  'POST /staff/:id': ADMIN,
  'POST /staff/:id/reset-password': ADMIN,
  // Everyone's own account page: change password.
  'GET /account': CARE_TEAM,
  'POST /account/password': CARE_TEAM,

  // The client's assessment page from the emailed link
  'GET /a/:token': 'client-link',
  'POST /a/:token': 'client-link',
};

/** Access for a route key (`METHOD /url/:pattern`): HEAD follows GET; unknown routes are admin-only. */
export function accessFor(method: string, url: string): { access: Access; listed: boolean } {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  const access = ROUTE_ACCESS[key];
  return access ? { access, listed: true } : { access: ADMIN, listed: false };
}

export function allows(access: Access, role: StaffRole): boolean {
  return Array.isArray(access) ? access.includes(role) : access === 'any-staff';
}
