// Failures in plain sight (issue #18 item 5): the outbox is built from the send records, with every
// status and its reason, paged, filtered and counted, scoped to the viewer's clinics; an escalation
// email that failed because the clinic has no active coordinator is a system item on the stuck board
// and a failed message in the outbox; a clinic missing a role is flagged on the staff page; an empty
// filtered board says how many items the filter hides.
import { startTestStack, eventually, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { createStaffMember, loggedInBrowser, seedTwoClinics, type TwoClinics } from './scope-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let s: TwoClinics;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  s = await seedTwoClinics(stack.app, stack.db);
});
afterAll(async () => {
  await stack?.stop();
});

const text = (body: string) => body.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ');

test('a clinic with no active coordinator: every escalation about its overdue screening fails, and the stuck board, the outbox and the staff page say so with the reason', async () => {
  // A clinic whose only staff are a prescriber and a therapist: no coordinator, no admin in the clinic.
  const clinicId = `quiet-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: s.root, body: { id: clinicId, name: 'Quiet Clinic', timezone: 'America/New_York' } })).status).toBe(201);
  await createStaffMember(stack.app, s.root, 'prescriber', [clinicId]);
  await createStaffMember(stack.app, s.root, 'therapist', [clinicId]);
  const cl = await call('POST', '/api/clients', { token: s.root, body: { clinicId, givenName: 'Noor', familyName: `Quiet${uid()}`, email: `noor-${uid()}@example.org` } });
  expect(cl.status).toBe(201);
  // Ten days a second: screening (owned by the coordinator, due in 7 days) is escalated at 0, 24 and 72 hours past its deadline.
  const course = await call('POST', `/api/clients/${cl.body.id}/courses`, { token: s.root, body: { protocolId: 'kap-office', timeScale: 864000 } });
  expect(course.status).toBe(201);
  const courseId: string = course.body.id;

  const failed = await eventually(async () => {
    const res = await call('GET', `/api/outbox?clinicId=${clinicId}&status=failed&template=step-escalation`, { token: s.root });
    return res.body.items.length >= 3 ? res.body : null;
  }, 25_000);
  expect(failed.total).toBe(failed.items.length);
  for (const item of failed.items) {
    expect(item).toMatchObject({ courseId, clientId: cl.body.id, status: 'failed', template: 'step-escalation', recipient: { kind: 'role' }, clinicTimezone: 'America/New_York', sinkMessageId: null });
    expect(item.reason).toMatch(/^no active staff with role (coordinator|admin) in clinic /);
  }
  expect(failed.counts.failed).toBeGreaterThanOrEqual(3);

  // The stuck board: a system item naming the failures, and the overdue step says its escalations reached nobody.
  const board = await eventually(async () => {
    const res = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: s.root });
    const sys = res.body.items.find((i: { type: string; courseId: string | null; escalationsFailed?: number }) => i.type === 'system' && i.courseId === courseId && (i.escalationsFailed ?? 0) >= 3);
    const step = res.body.items.find((i: { type: string; courseId: string | null; stepKey: string }) => i.type === 'deadline' && i.courseId === courseId && i.stepKey === 'screening');
    return sys && step && step.escalationLevel >= 3 ? { sys, step, items: res.body.items } : null;
  }, 25_000);
  expect(board.sys.problem).toMatch(/escalation emails about overdue screening .*reached nobody: no active staff with role/);
  expect(board.sys.owner.name).toBe('clinic admin');
  expect(board.step.escalationsFailed).toBe(board.step.escalationLevel);
  expect(board.step.problem).toContain('every escalation email reached nobody');
  // The clinic's missing coordinator is its own item.
  expect(board.items.some((i: { courseId: string | null; problem: string }) => i.courseId === null && /Quiet Clinic has no active coordinator/.test(i.problem))).toBe(true);

  // The dashboard, as an every-clinic admin: the board, the outbox page with the reason in the clinic's zone, the staff page flag.
  const admin = await loggedInBrowser(stack.app, await createStaffMember(stack.app, s.root, 'admin', []));
  const page = text((await admin.get(`/?clinicId=${clinicId}`)).body);
  expect(page).toMatch(/escalated ×3 3 escalations reached nobody/);
  expect(page).toMatch(/3 escalation emails about overdue screening \(to the [a-z, ]+\) reached nobody: no active staff with role/);
  const outbox = await admin.get(`/outbox?clinicId=${clinicId}&status=failed`);
  expect(outbox.statusCode).toBe(200);
  const ob = text(outbox.body);
  expect(ob).toMatch(/failed \(not rendered\) every active coordinator \(role\) Overdue-step escalation no active staff with role coordinator in clinic quiet-[0-9a-f]+ course/);
  expect(ob).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T/);
  const staffPage = text((await admin.get('/staff')).body);
  expect(staffPage).toContain('Roles nobody active holds:');
  expect(staffPage).toMatch(/clinic Quiet Clinic has no active coordinator: steps owned by that role would wait for nobody\./);

  // Filtering to an owner with nothing stuck in this clinic says what the filter hides.
  const all = (await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: s.root })).body.count as number;
  const filtered = text((await admin.get(`/?clinicId=${clinicId}&owner=therapist&step=integration`)).body);
  const everything = (await call('GET', '/api/stuck', { token: s.root })).body.count as number;
  expect(all).toBeGreaterThan(0);
  expect(filtered).not.toContain('Nothing is stuck');
  expect(filtered).toMatch(new RegExp(`Nothing matches this filter; (\\d+) items? hidden by the filter\\.`));
  const hidden = Number(/Nothing matches this filter; (\d+) item/.exec(filtered)![1]);
  expect(Math.abs(hidden - everything)).toBeLessThanOrEqual(2); // the board may move by a step between the two reads
  expect(hidden).toBeGreaterThanOrEqual(all);
  // The JSON board says the same (kap stuck prints it).
  const api = await call('GET', `/api/stuck?clinicId=${clinicId}&owner=therapist&step=integration`, { token: s.root });
  expect(api.body.count).toBe(0);
  expect(api.body.hidden).toBeGreaterThanOrEqual(all);
  expect((await call('GET', '/api/stuck', { token: s.root })).body.hidden).toBe(0);
}, 60_000);

test('the outbox across two clinics: each coordinator sees only their clinic, with counts per status, the reason, paging and a status filter', async () => {
  const rows: Array<{ clinic: 'a' | 'b'; status: string; error?: string; sink?: boolean }> = [
    { clinic: 'a', status: 'sent', sink: true },
    { clinic: 'a', status: 'sent', sink: true },
    { clinic: 'a', status: 'sent' },
    { clinic: 'a', status: 'failed', error: 'no active staff with role coordinator in clinic A (test)' },
    { clinic: 'a', status: 'blocked', error: 'clinical detail in a client email: dose' },
    { clinic: 'a', status: 'uncertain', error: 'connection lost after the message data: socket hang up' },
    { clinic: 'b', status: 'failed', error: 'clinic B secret reason' },
    { clinic: 'b', status: 'sent', sink: true },
  ];
  const made: Array<{ key: string; clinic: 'a' | 'b'; status: string; sinkId: number | null; subject: string }> = [];
  let t = Date.parse('2026-03-01T15:00:00Z');
  for (const r of rows) {
    const key = `outbox-test/${uid()}`;
    const messageId = `<${uid()}@kap.local>`;
    const subject = `Check-in ${r.clinic.toUpperCase()} ${r.status} ${uid()}`;
    t += 60_000;
    await stack.db
      .insertInto('email_outbox')
      .values({ key, template: 'assessment-invitation', clinic_id: s[r.clinic], recipient_kind: 'client', audience: 'client', message_id: messageId, status: r.status as 'sent', subject, last_error: r.error ?? null, created_at: new Date(t), attempts: 1 })
      .execute();
    let sinkId: number | null = null;
    if (r.sink) {
      const row = await stack.db
        .insertInto('smtp_sink_messages')
        .values({ message_id: messageId, envelope_from: 'no-reply@kap.local', envelope_to: JSON.stringify(['c@example.org']), subject, text_body: 'Answer here: http://127.0.0.1:3000/a/live-token', html_body: null, attachments: JSON.stringify([]), raw: 'x' })
        .returning('id')
        .executeTakeFirstOrThrow();
      sinkId = Number(row.id);
    }
    made.push({ key, clinic: r.clinic, status: r.status, sinkId, subject });
  }

  const a = await call('GET', '/api/outbox', { token: s.tokA.coordinator });
  expect(a.status).toBe(200);
  expect(a.body.counts).toEqual({ pending: 0, sending: 0, sent: 3, uncertain: 1, failed: 1, blocked: 1 });
  expect(a.body.total).toBe(6);
  expect(a.body.items.map((i: { key: string }) => i.key)).toEqual(made.filter((m) => m.clinic === 'a').map((m) => m.key).reverse());
  expect(a.text).not.toContain('clinic B secret reason');
  const failedA = await call('GET', '/api/outbox?status=failed', { token: s.tokA.coordinator });
  expect(failedA.body.items).toEqual([expect.objectContaining({ status: 'failed', reason: 'no active staff with role coordinator in clinic A (test)', clinicId: s.a, sinkMessageId: null })]);
  expect(failedA.body.total).toBe(1);
  // Paging: two at a time, newest first; the counts do not depend on the page.
  const p2 = await call('GET', '/api/outbox?limit=2&offset=2', { token: s.tokA.coordinator });
  expect(p2.body.items.map((i: { key: string }) => i.key)).toEqual(made.filter((m) => m.clinic === 'a').map((m) => m.key).reverse().slice(2, 4));
  expect(p2.body.total).toBe(6);
  // A clinic outside scope is refused; bad paging names the field.
  expect((await call('GET', `/api/outbox?clinicId=${s.b}`, { token: s.tokA.coordinator })).status).toBe(403);
  const bad = await call('GET', '/api/outbox?offset=-1', { token: s.tokA.coordinator });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('offset');
  const b = await call('GET', '/api/outbox', { token: s.tokB.coordinator });
  expect(b.body.counts).toMatchObject({ sent: 1, failed: 1 });
  expect(b.body.total).toBe(2);

  // The dashboard page, as clinic A's coordinator.
  const coordA = await loggedInBrowser(stack.app, s.staffA.coordinator);
  const res = await coordA.get('/outbox');
  expect(res.statusCode).toBe(200);
  const page = text(res.body);
  for (const m of made) {
    if (m.clinic === 'a') expect(res.body).toContain(m.subject);
    else expect(res.body).not.toContain(m.subject);
  }
  expect(page).toContain('no active staff with role coordinator in clinic A (test)');
  expect(page).toContain('clinical detail in a client email: dose');
  expect(page).toContain('uncertain (may not have arrived)');
  expect(page).not.toContain('clinic B secret reason');
  expect(page).toMatch(/all 6 pending 0 sending 0 sent 3 uncertain 1 failed 1 blocked 1/);
  // Bodies only for messages the sink received: a link for those, none for the rest, none to clinic B's.
  for (const m of made) {
    if (m.clinic === 'a' && m.sinkId !== null) expect(res.body).toContain(`href="/outbox/${m.sinkId}"`);
    if (m.clinic === 'b' && m.sinkId !== null) expect(res.body).not.toContain(`/outbox/${m.sinkId}"`);
  }
  const bSink = made.find((m) => m.clinic === 'b' && m.sinkId !== null)!;
  expect((await coordA.get(`/outbox/${bSink.sinkId}`)).statusCode).toBe(404);
  // The status filter, and a filter that hides everything says how much it hides.
  const failedPage = text((await coordA.get('/outbox?status=failed')).body);
  expect(failedPage).toContain('1 message(s) failed; showing 1–1; 5 hidden by the filter.');
  expect(failedPage).not.toContain('clinical detail in a client email');
  const none = text((await coordA.get('/outbox?status=pending')).body);
  expect(none).toContain('No pending messages on this page; 6 message(s) hidden by the filter.');
  // Clinic B's id typed into the URL shows nothing of B.
  const other = await coordA.get(`/outbox?clinicId=${s.b}`);
  expect(other.statusCode).toBe(200);
  expect(other.body).not.toContain('clinic B secret reason');
  expect(text(other.body)).toContain('No such clinic in your scope.');
}, 60_000);
