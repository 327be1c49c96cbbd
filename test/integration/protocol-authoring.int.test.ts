// A clinic's operations staff author their own pathway (issue #21), through the API as they would:
// the coordinator copies the office KAP template, shortens the integration window to 24 h, adds a
// fourth preparation session and an intake call, and checks the draft (every problem with its path,
// the changes against the template in plain words); the clinic's admin publishes it; a client enrolled
// next gets a course whose snapshot has the new window, while another clinic stays on the shipped
// template. A later draft that drops the pre-dose check is refused at publish with the rule and its
// source, and a published version never changes (the database refuses it too).
import type { Protocol } from '../../src/domain';
import { startTestStack, eventually, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const clinic = `north-${uid()}`;
const other = `south-${uid()}`;
let root: string;
let admin: string;
let coordinator: { token: string; staffId: string };
let therapist: string;
let otherAdmin: string;
const base = `/api/clinics/${clinic}/protocols`;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  root = await tokenFor(stack.db, 'admin');
  for (const id of [clinic, other]) expect((await call('POST', '/api/clinics', { token: root, body: { id, name: `Clinic ${id}` } })).status).toBe(201);
  admin = (await personTokenFor(stack.db, 'admin', clinic)).token;
  coordinator = await personTokenFor(stack.db, 'coordinator', clinic);
  therapist = await tokenFor(stack.db, 'therapist', clinic);
  otherAdmin = await tokenFor(stack.db, 'admin', other);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/**
 * Marks the draft's current version as rehearsed and passed, as `kap protocol rehearse` leaves it (the
 * rehearsal itself, on the simulator through the real engine, has its own scenario:
 * protocol-rehearsal.int.test.ts; a full office KAP course takes minutes to simulate).
 */
async function rehearsed(clinicId: string, protocolId: string) {
  const draft = await stack.db.selectFrom('protocol_versions').select(['hash']).where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'draft').executeTakeFirstOrThrow();
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash: draft.hash, clients: 50, reasons: [] }) }).where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'draft').execute();
}

async function enroll(clinicId: string, token: string) {
  const c = await call('POST', '/api/clients', { token, body: { clinicId, givenName: 'Ann', familyName: `Lee${uid()}`, email: `ann-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const row = await stack.db.selectFrom('courses').select(['protocol_id', 'protocol_version', 'protocol_snapshot']).where('id', '=', course.body.id).executeTakeFirstOrThrow();
  return { course: course.body, snapshot: row.protocol_snapshot as unknown as Protocol, row };
}

test('a protocol from a file with problems is refused with every path, and nothing is saved', async () => {
  const template = (await call('POST', '/api/protocols/check', { token: coordinator.token, body: { protocol: { id: 'x' } } })).body;
  expect(template.ok).toBe(false);
  expect(template.problems.map((p: { path: string }) => p.path)).toContain('course');

  const show = await import('../../src/domain');
  const bad = JSON.parse(JSON.stringify(show.kapOfficeV1));
  bad.course.dosingSessions = 0;
  bad.phases[2].steps[1].owner = 'janitor';
  const res = await call('POST', base, { token: coordinator.token, body: { protocol: bad, protocolId: 'north-kap', reason: 'our own file' } });
  expect(res.status).toBe(400);
  const fields = res.body.problems.map((p: { field: string }) => p.field);
  expect(fields).toEqual(expect.arrayContaining(['protocol.course.dosingSessions', 'protocol.phases[2].steps[1].owner']));
  expect(res.body.problems.find((p: { field: string }) => p.field === 'protocol.phases[2].steps[1].owner').message).toMatch(/must be one of/);
  expect((await call('GET', `${base}/north-kap/draft`, { token: coordinator.token })).status).toBe(404);
});

test('copy the office KAP template, shorten the integration window, check, publish, enroll on it', async () => {
  // Who may draft: coordinators and admins of the clinic; not a therapist, not another clinic's admin.
  expect((await call('POST', base, { token: therapist, body: { template: 'kap-office', reason: 'x' } })).status).toBe(403);
  expect((await call('POST', base, { token: otherAdmin, body: { template: 'kap-office', reason: 'x' } })).status).toBe(404);
  expect((await call('POST', base, { token: coordinator.token, body: { template: 'kap-office' } })).body.problems).toEqual([{ field: 'reason', message: expect.any(String) }]);

  const draft = await call('POST', base, { token: coordinator.token, body: { template: 'kap-office', reason: 'our pathway: integration the next day' } });
  expect(draft.status).toBe(201);
  expect(draft.body).toMatchObject({ clinicId: clinic, protocolId: 'kap-office', version: 2, status: 'draft', basedOn: 'template:kap-office@1', problems: [], guardRails: [] });
  // A second draft of the same protocol is refused: at most one draft.
  expect((await call('POST', base, { token: coordinator.token, body: { template: 'kap-office', reason: 'again' } })).status).toBe(409);

  // Edit: the window shortened without the step's own deadline is a problem, named by its path.
  const def = draft.body.definition;
  def.course.integrationWindowHours = 24;
  const half = await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: def, reason: 'shorter window' } });
  expect(half.status).toBe(400);
  expect(half.body.problems).toEqual([{ field: 'protocol.phases[2].steps[1].deadlineHours', message: 'must be <= course.integrationWindowHours (24)' }]);
  expect((await call('GET', `${base}/kap-office/draft`, { token: therapist })).body.definition.course.integrationWindowHours).toBe(48); // unchanged

  def.phases[2].steps[1].deadlineHours = 24;
  def.course.preparationSessions = 4;
  def.phases[0].steps.push({ id: 'intake-call', name: 'Intake call', kind: 'task', owner: 'coordinator', deadlineHours: 48 });
  const edited = await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: def, reason: 'integration within 24 h, four preparation sessions, an intake call' } });
  expect(edited.status).toBe(200);
  expect(edited.body.hash).not.toBe(draft.body.hash);

  // Check: no problems, every guard rail kept, and the changes in plain words.
  const checked = await call('GET', `${base}/kap-office/draft`, { token: therapist });
  expect(checked.status).toBe(200);
  expect(checked.body).toMatchObject({ problems: [], guardRails: [], comparedWith: 'template kap-office@1' });
  expect(checked.body.changes.map((c: { text: string }) => c.text)).toEqual([
    'Preparation sessions raised from 3 to 4',
    'Integration window after each dose shortened from 48 h to 24 h',
    'Step added: "Intake call" (task) in Screening, clearance and consent: owner coordinator, due within 48 h',
    '"Integration session": deadline shortened from 48 h to 24 h',
  ]);
  const diff = await call('GET', `${base}/kap-office/diff?from=template&to=draft`, { token: therapist });
  expect(diff.body.changes).toEqual(checked.body.changes);

  // Publish: the clinic's admins only, with a reason; a stale hash is refused.
  expect((await call('POST', `${base}/kap-office/publish`, { token: coordinator.token, body: { reason: 'go' } })).status).toBe(403);
  expect((await call('POST', `${base}/kap-office/publish`, { token: otherAdmin, body: { reason: 'go' } })).status).toBe(404);
  expect((await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'go', hash: draft.body.hash } })).status).toBe(409);
  // No rehearsal of this exact draft yet: refused, naming it.
  const unrehearsed = await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'go' } });
  expect(unrehearsed.status).toBe(422);
  expect(unrehearsed.body.problems).toEqual([{ field: 'rehearsal', message: 'no rehearsal of this exact draft' }]);
  // A rehearsal is of one exact draft: an edit after it clears it.
  await rehearsed(clinic, 'kap-office');
  const again = await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: def, reason: 'same content, saved again' } });
  expect(again.body.rehearsal).toBeNull();
  expect((await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'go' } })).status).toBe(422);
  // A failed rehearsal is refused with its reasons.
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: false, hash: checked.body.hash, reasons: ['2 course(s) had not ended'] }) }).where('clinic_id', '=', clinic).where('status', '=', 'draft').execute();
  expect((await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'go' } })).body.problems).toEqual([{ field: 'rehearsal', message: 'did not pass: 2 course(s) had not ended' }]);
  await rehearsed(clinic, 'kap-office');
  const published = await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'approved at the clinical meeting', hash: checked.body.hash } });
  expect(published.status).toBe(200);
  expect(published.body).toMatchObject({ version: 2, status: 'published', publishReason: 'approved at the clinical meeting', hash: checked.body.hash });
  const list = await call('GET', `/api/protocols?clinicId=${clinic}`, { token: therapist });
  expect(list.body.protocols.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['kap-office', 'iv-series', 'spravato-rems']));
  expect(list.body.clinicProtocols).toEqual([expect.objectContaining({ clinicId: clinic, protocolId: 'kap-office', inUse: 2, draft: null, versions: [expect.objectContaining({ version: 2 })] })]);
  // Another clinic's staff see nothing of it.
  expect((await call('GET', '/api/protocols', { token: otherAdmin })).body.clinicProtocols).toEqual([]);

  // The dashboard shows the protocol as a timeline (who, when, what if late), not as JSON.
  const pageHtml = await call('GET', `/protocols/${clinic}/kap-office`, { token: therapist, headers: { accept: 'text/html' } });
  expect(pageHtml.status).toBe(200);
  expect(pageHtml.text).toContain('showing v2 (in use)');
  expect(pageHtml.text).toMatch(/Integration session<\/strong>.*?<td>the therapist<\/td><td>after each dose, within 24 h<\/td><td>24 h<\/td><td>at the deadline the step owner is told, then 24 h after it the coordinator is told/s);
  expect(pageHtml.text).toContain('Intake call');
  expect(pageHtml.text).not.toContain('"integrationWindowHours"');
  const listHtml = await call('GET', '/protocols', { token: therapist, headers: { accept: 'text/html' } });
  expect(listHtml.text).toContain(`href="/protocols/${clinic}/kap-office"`);

  // A client enrolled now follows version 2: its course's snapshot has the 24 h window.
  const north = await enroll(clinic, coordinator.token);
  expect(north.course.protocol).toEqual({ id: 'kap-office', version: 2 });
  expect(north.snapshot.course.integrationWindowHours).toBe(24);
  expect(north.snapshot.course.preparationSessions).toBe(4);
  expect(north.snapshot.phases[0]!.steps.map((s) => s.id)).toContain('intake-call');
  // The workflow runs that snapshot: the course opens its first step.
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', north.course.id).executeTakeFirst())?.current_step === 'screening');
  // A clinic without protocols of its own still enrolls on the shipped template.
  const south = await enroll(other, otherAdmin);
  expect(south.course.protocol).toEqual({ id: 'kap-office', version: 1 });
  expect(south.snapshot.course.integrationWindowHours).toBe(48);
  // The enrollment's audit entry names the version the statement picked.
  const enrolled = await stack.db.selectFrom('audit_log').select('detail').where('action', '=', 'course.enroll').where('course_id', 'in', [north.course.id, south.course.id]).orderBy('id').execute();
  expect(enrolled.map((a) => (a.detail as { protocol: string }).protocol)).toEqual(['kap-office@2', 'kap-office@1']);
  // A version asked for by number: the clinic's own when it has one, else the shipped one; neither, or
  // an unknown protocol: 400 naming the field, and no course (the client's open course does not answer for it).
  const bo = await call('POST', '/api/clients', { token: coordinator.token, body: { clinicId: clinic, givenName: 'Bo', familyName: `Lee${uid()}`, email: `bo-${uid()}@example.org` } });
  const asked = await call('POST', `/api/clients/${bo.body.id}/courses`, { token: coordinator.token, body: { protocolId: 'kap-office', protocolVersion: 1 } });
  expect(asked.status).toBe(201);
  expect(asked.body.protocol).toEqual({ id: 'kap-office', version: 1 });
  const noSuchVersion = await call('POST', `/api/clients/${bo.body.id}/courses`, { token: coordinator.token, body: { protocolId: 'kap-office', protocolVersion: 7 } });
  expect(noSuchVersion.status).toBe(400);
  expect(noSuchVersion.body.problems[0].field).toBe('protocolVersion');
  const noSuchProtocol = await call('POST', `/api/clients/${bo.body.id}/courses`, { token: coordinator.token, body: { protocolId: 'no-such-pathway' } });
  expect(noSuchProtocol.status).toBe(400);
  expect(noSuchProtocol.body.problems[0].field).toBe('protocolId');
  expect(await stack.db.selectFrom('courses').select('id').where('client_id', '=', bo.body.id).execute()).toHaveLength(1);

  // Every draft, edit and publish is in the audit log with who and why.
  const audit = await stack.db.selectFrom('audit_log').select(['action', 'actor_type', 'actor_id', 'detail']).where('clinic_id', '=', clinic).where('action', 'like', 'protocol.%').orderBy('id').execute();
  expect(audit.map((a) => [a.action, (a.detail as { reason?: string }).reason])).toEqual([
    ['protocol.draft', 'our pathway: integration the next day'],
    ['protocol.draft.edit', 'integration within 24 h, four preparation sessions, an intake call'],
    ['protocol.draft.edit', 'same content, saved again'],
    ['protocol.publish', 'approved at the clinical meeting'],
  ]);
  expect(audit[0]).toMatchObject({ actor_type: 'staff', actor_id: coordinator.staffId });
  expect(audit[2]!.actor_type).toBe('staff');
});

test('a published version never changes: the API has no way, and the database refuses it', async () => {
  const v2 = await call('GET', `${base}/kap-office/versions/2`, { token: therapist });
  expect(v2.status).toBe(200);
  await expect(stack.db.updateTable('protocol_versions').set({ reason: 'tampered' }).where('clinic_id', '=', clinic).where('status', '=', 'published').execute()).rejects.toThrow(/published and cannot change/);
  await expect(stack.db.deleteFrom('protocol_versions').where('clinic_id', '=', clinic).where('status', '=', 'published').execute()).rejects.toThrow(/published and cannot change/);
  expect((await call('GET', `${base}/kap-office/versions/2`, { token: therapist })).body).toEqual(v2.body);
  expect((await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: v2.body.definition, reason: 'edit the published one' } })).status).toBe(404);
});

test('a draft that drops the pre-dose check is refused at publish with the rule and its source', async () => {
  const d = await call('POST', base, { token: coordinator.token, body: { copyOf: 'kap-office', reason: 'quicker dosing days' } });
  expect(d.status).toBe(201);
  expect(d.body).toMatchObject({ version: 3, basedOn: 'clinic:kap-office@2' });
  const def = d.body.definition;
  def.phases[2].steps[0].waitsOn = 'system'; // nobody records a pre-dose check before the dose
  def.assessments.beforeEachDose = ['phq9']; // and no C-SSRS before each dose
  const saved = await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: def, reason: 'no check-in' } });
  expect(saved.status).toBe(200); // a draft may be saved: it shows what it breaks
  expect(saved.body.guardRails.map((g: { rule: string; path: string }) => `${g.rule} @ ${g.path}`)).toEqual(['pre-dose-check @ phases[2].steps[0].waitsOn', 'suicide-risk-screen @ assessments.beforeEachDose']);

  // Neither rehearsed (a sandbox is refused like a publish) nor published.
  const sandbox = await call('POST', `${base}/kap-office/draft/sandbox`, { token: coordinator.token, body: {} });
  expect(sandbox.status).toBe(422);
  expect(sandbox.body.problems[0]).toMatchObject({ field: 'phases[2].steps[0].waitsOn' });
  await rehearsed(clinic, 'kap-office'); // even a passing rehearsal does not let it through
  const refused = await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'try' } });
  expect(refused.status).toBe(422);
  expect(refused.body.problems[0]).toMatchObject({ field: 'phases[2].steps[0].waitsOn', rule: 'pre-dose-check', source: expect.stringContaining('clinical.md') });
  expect(refused.body.problems[0].message).toMatch(/a clinician records the pre-dose check.*rule pre-dose-check; source: Spravato label/);
  expect(refused.body.problems[1]).toMatchObject({ field: 'assessments.beforeEachDose', rule: 'suicide-risk-screen' });
  // The dashboard shows the same refusal: the rules with their sources, the changes, and its publish form says why.
  const draftPage = await call('GET', `/protocols/${clinic}/kap-office?version=draft`, { token: admin, headers: { accept: 'text/html' } });
  expect(draftPage.text).toContain('Breaks the clinical floor');
  expect(draftPage.text).toMatch(/<strong>pre-dose-check<\/strong> at <code>phases\[2\]\.steps\[0\]\.waitsOn<\/code>.*?Source: Spravato label/s);
  expect(draftPage.text).toContain('Assessments before each dose: removed cssrs');
  expect(draftPage.text).not.toContain(`action="/protocols/${clinic}/kap-office/publish"`); // no publish form for a draft that breaks a rule: it says why
  expect(draftPage.text).toMatch(/id="publish-refused">Cannot be published: it breaks the clinical floor \(pre-dose-check at phases\[2\]\.steps\[0\]\.waitsOn: .*?source: Spravato label/s);
  // Posted anyway: the page again with the refusal (422), each rule with its source; nothing published.
  const formPost = await stack.app.inject({ method: 'POST', url: `/protocols/${clinic}/kap-office/publish`, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'reason=try' });
  expect(formPost.statusCode).toBe(422);
  expect(formPost.body).toMatch(/id="error-summary"[\s\S]*phases\[2\]\.steps\[0\]\.waitsOn: the dosing step must wait on a person[^<]*\(rule pre-dose-check; source: Spravato label/);
  // Nothing changed: version 2 is still the one in use, the draft is still a draft.
  const list = await call('GET', `/api/protocols?clinicId=${clinic}`, { token: admin });
  expect(list.body.clinicProtocols[0]).toMatchObject({ inUse: 2, draft: { version: 3 } });
  expect(list.body.clinicProtocols[0].versions).toHaveLength(1);
  const diff = await call('GET', `${base}/kap-office/diff`, { token: admin });
  expect(diff.body).toMatchObject({ from: 'v2', to: 'draft v3' });
  expect(diff.body.changes.map((c: { text: string }) => c.text)).toEqual(['"Dosing session" now runs by the system', 'Assessments before each dose: removed cssrs']);

  // Discarded, with its reason in the audit log.
  expect((await call('POST', `${base}/kap-office/draft/discard`, { token: coordinator.token, body: { reason: 'not safe' } })).status).toBe(200);
  expect((await call('GET', `${base}/kap-office/draft`, { token: admin })).status).toBe(404);
  const last = await stack.db.selectFrom('audit_log').select(['action', 'detail']).where('clinic_id', '=', clinic).where('action', 'like', 'protocol.%').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
  expect(last).toMatchObject({ action: 'protocol.draft.discard', detail: expect.objectContaining({ reason: 'not safe', protocol: 'kap-office@3' }) });
});

test('the clinic chooses which published version new enrolments use', async () => {
  expect((await call('PUT', `${base}/kap-office/in-use`, { token: coordinator.token, body: { version: 2, reason: 'x' } })).status).toBe(403);
  const bad = await call('PUT', `${base}/kap-office/in-use`, { token: admin, body: { version: 9, reason: 'x' } });
  expect(bad.status).toBe(400);
  expect(bad.body.problems[0].field).toBe('version');
  expect((await call('PUT', `${base}/kap-office/in-use`, { token: admin, body: { version: 2, reason: 'confirm' } })).body).toEqual({ protocolId: 'kap-office', inUse: 2 });
});

test('the dashboard copies a template into a draft, for coordinators and admins of the clinic', async () => {
  const form = (token: string, body: string) => stack.app.inject({ method: 'POST', url: `/protocols/${clinic}/drafts`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
  expect((await form(therapist, 'template=iv-series&reason=x')).statusCode).toBe(403);
  const missing = await form(coordinator.token, 'template=iv-series&reason=');
  expect(decodeURIComponent(String(missing.headers.location))).toContain('error=reason:');
  const made = await form(coordinator.token, 'template=iv-series&reason=our+infusion+pathway');
  expect(made.statusCode).toBe(303);
  expect(String(made.headers.location)).toMatch(new RegExp(`^/protocols/${clinic}/iv-series\\?ok=`));
  const d = await call('GET', `${base}/iv-series/draft`, { token: therapist });
  expect(d.body).toMatchObject({ version: 2, basedOn: 'template:iv-series@1', reason: 'our infusion pathway', problems: [], guardRails: [] });
  // The draft's page: coordinators edit and rehearse it, only admins get the publish form, the rest of the care team reads it.
  const draftPage = async (token: string) => (await call('GET', `/protocols/${clinic}/iv-series?version=draft`, { token, headers: { accept: 'text/html' } })).text as string;
  const asTherapist = await draftPage(therapist);
  for (const id of ['id="edit"', 'id="rehearse"', 'id="upload"', `action="/protocols/${clinic}/iv-series/publish"`]) expect(asTherapist).not.toContain(id);
  expect(asTherapist).toContain('id="changes"');
  const asCoordinator = await draftPage(coordinator.token);
  for (const id of ['id="edit"', 'id="rehearse"', 'id="upload"', 'Rehearse on 50 clients']) expect(asCoordinator).toContain(id);
  expect(asCoordinator).not.toContain(`action="/protocols/${clinic}/iv-series/publish"`);
  expect(await draftPage(admin)).toContain(`action="/protocols/${clinic}/iv-series/publish"`);
  const edit = (token: string) => stack.app.inject({ method: 'POST', url: `/protocols/${clinic}/iv-series/draft`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'course.preparationSessions=2&reason=x' });
  expect((await edit(therapist)).statusCode).toBe(403);
  const saved = await edit(coordinator.token);
  expect(saved.statusCode).toBe(303);
  expect((await call('GET', `${base}/iv-series/draft`, { token: therapist })).body.definition.course.preparationSessions).toBe(2);
});
