// A note to the care team over the API (the catalogue's `care-team-note`): a therapist writes it, it is
// on the client's timeline with its author; a client's link and another clinic's staff are refused.
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, uid } from './api-helpers';

const U = uid();
const A = `note-a-${U}`;
const B = `note-b-${U}`;
let stack: TestStack;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  await stack.db.insertInto('clinics').values([{ id: A, name: `Notes A ${U}` }, { id: B, name: `Notes B ${U}` }]).execute();
}, 120_000);
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', 'in', [A, B]).execute()) await stack.temporal.workflow.getHandle(c.workflow_id).terminate('cleanup').catch(() => undefined);
  await stack?.stop();
});

test('a therapist posts a note to the care team: it is on the course timeline with its author; a client link and another clinic are refused', async () => {
  const coordinator = await personTokenFor(stack.db, 'coordinator', A);
  const therapist = await personTokenFor(stack.db, 'therapist', A);
  const otherClinic = await personTokenFor(stack.db, 'therapist', B);
  const c = await call('POST', '/api/clients', { token: coordinator.token, body: { clinicId: A, givenName: 'Noa', familyName: `Note-${U}`, email: `noa-${U}@example.org` } });
  expect(c.status).toBe(201);
  const e = await call('POST', `/api/clients/${c.body.id}/courses`, { token: coordinator.token, body: { protocolId: 'kap-office' } });
  expect(e.status).toBe(201);
  const courseId: string = e.body.id;
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', courseId).executeTakeFirst())?.current_step === 'screening');
  const url = `/api/courses/${courseId}/care-team-note`;
  const note = `Client asked to move sessions to mornings (${U}).`;

  // Bad input: 400 naming the field.
  const empty = await call('POST', url, { token: therapist.token, body: { note: '  ' } });
  expect(empty.status).toBe(400);
  expect(empty.body.problems.map((p: { field: string }) => p.field)).toEqual(['note']);

  // A client's link is no staff credential; another clinic's therapist does not see the course.
  const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
  const link = links.createClientLink({ assessmentId: `${courseId}/screening`, expiresAt: new Date(Date.now() + 3_600_000) }).token;
  expect((await call('POST', url, { token: link, body: { note } })).status).toBe(401);
  expect((await call('POST', url, { body: { note } })).status).toBe(401);
  const foreign = await call('POST', url, { token: otherClinic.token, body: { note } });
  expect(foreign.status).toBe(404);
  expect(foreign.text).not.toContain(A);

  const posted = await call('POST', url, { token: therapist.token, body: { note: `  ${note}  ` } });
  expect(posted.status).toBe(200);
  expect(posted.body.outcome).toBe('recorded');

  const timeline = await eventually(async () => {
    const r = await call('GET', `/api/clients/${c.body.id}/timeline`, { token: therapist.token });
    expect(r.status).toBe(200);
    const notes = r.body.entries.filter((x: { type: string }) => x.type === 'care-team.note');
    return notes.length ? notes : undefined;
  });
  expect(timeline).toEqual([expect.objectContaining({ courseId, type: 'care-team.note', actor: `staff:${therapist.staffId}`, summary: `Note to the care team: ${note}`, detail: { summary: `Note to the care team: ${note}`, notesSummary: note } })]);
  // In words: the author by name and role, steps by their names, one line per happening, no raw
  // timestamps inside sentences (the page shows times in the clinic's zone beside them).
  const all = (await call('GET', `/api/clients/${c.body.id}/timeline`, { token: therapist.token })).body.entries as Array<{ type: string; stepKey: string | null; stepName: string | null; actorName: string | null; summary: string }>;
  const author = await stack.db.selectFrom('staff').select('display_name').where('id', '=', therapist.staffId).executeTakeFirstOrThrow();
  expect(all.find((x) => x.type === 'care-team.note')!.actorName).toBe(`${author.display_name} (therapist)`);
  expect(all.find((x) => x.type === 'step.opened' && x.stepKey === 'screening')).toMatchObject({ stepName: 'Screening and intake', summary: 'Screening and intake opened for the coordinator' });
  expect(all.filter((x) => x.type === 'course.started' || x.type === 'course.enrolled')).toHaveLength(1);
  for (const x of all) expect(x.summary).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
  // Only the therapist's note: the refused calls recorded nothing.
  const events = await stack.db.selectFrom('course_events').select(['type', 'actor_id']).where('course_id', '=', courseId).where('type', '=', 'care-team.note').execute();
  expect(events).toEqual([{ type: 'care-team.note', actor_id: therapist.staffId }]);
}, 120_000);
