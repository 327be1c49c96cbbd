// Clinic outcomes by protocol and enrolment dates (issue #18 item 6): a medical director asks "how
// did our office KAP courses from spring do, and our IV courses?", and sees PHQ-9, GAD-7 and PCL-5
// response and remission with n, each beside a published figure for that route where one is known
// (the sublingual Mindbloom figures for office KAP), "no published comparator here" where not.
// The record is seeded through SQL: completed courses with their scores, as the projection holds them.
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { getProtocol } from '../../src/domain';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const clinicId = `oc-${uid()}`;
let prescriber: string;
let session: string;

type Scores = Partial<Record<'phq9' | 'gad7' | 'pcl5', number[]>>;
let n = 0;
async function course(protocolId: string, enrolledAt: string, status: string, scores: Scores) {
  const id = `oc-course-${++n}-${uid()}`;
  await stack.db.insertInto('clients').values({ id: `${id}-client`, clinic_id: clinicId, given_name: 'Outcome', family_name: `Client ${n}`, email: `${id}@example.org`, phone: null, external_ref: null }).execute();
  await stack.db
    .insertInto('courses')
    .values({ id, client_id: `${id}-client`, clinic_id: clinicId, workflow_id: `course-${id}`, protocol_id: protocolId, protocol_version: 1, protocol_snapshot: JSON.stringify(getProtocol(protocolId, 1) ?? {}), status, enrolled_at: new Date(enrolledAt), ended_at: status === 'active' ? null : new Date(), end_reason: null, primary_clinician_id: null, current_step: null, current_step_deadline: null })
    .execute();
  let t = Date.parse(enrolledAt);
  for (const [instrumentId, totals] of Object.entries(scores)) {
    for (const [k, total] of totals.entries()) {
      t += 86_400_000;
      await stack.db.insertInto('assessments').values({ id: `${id}/s${k}/${instrumentId}`, course_id: id, clinic_id: clinicId, step_key: `s${k}`, instrument_id: instrumentId, status: 'completed', invited_at: new Date(t - 3_600_000), expires_at: new Date(t + 3_600_000), completed_at: new Date(t), total, band: null }).execute();
    }
  }
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  const admin = await tokenFor(stack.db, 'admin');
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Outcomes Clinic' } })).status).toBe(201);
  const p = await personTokenFor(stack.db, 'prescriber', clinicId);
  prescriber = p.token;
  session = (await createSession(stack.db, p.staffId)).sessionId;
  // Office KAP, enrolled in March: three completed courses.
  await course('kap-office', '2026-03-02T10:00:00Z', 'completed', { phq9: [20, 12, 4], gad7: [14, 6], pcl5: [50, 35] }); // PHQ-9 responds + remits; GAD-7 responds; PCL-5 -15 responds, 35 not remitted
  await course('kap-office', '2026-03-20T10:00:00Z', 'completed', { phq9: [16, 14], gad7: [10, 4], pcl5: [40, 30] }); // PHQ-9 no; GAD-7 responds + remits; PCL-5 -10 responds, remits (< 33)
  await course('kap-office', '2026-03-31T22:00:00Z', 'maintenance', { phq9: [18, 8], gad7: [12] }); // PHQ-9 responds, not remitted; GAD-7 one score: not in n
  // Office KAP in June, an unfinished one in March (not counted), IV in March.
  await course('kap-office', '2026-06-10T10:00:00Z', 'completed', { phq9: [22, 22] });
  await course('kap-office', '2026-03-10T10:00:00Z', 'active', { phq9: [20, 2] });
  await course('iv-series', '2026-03-05T10:00:00Z', 'completed', { phq9: [19, 3], gad7: [15, 9], pcl5: [60, 58] });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const rate = (body: any, protocolId: string, instrumentId: string) => body.protocols.find((p: any) => p.protocolId === protocolId)?.rates.find((r: any) => r.instrumentId === instrumentId);

test('office KAP courses enrolled in March: n, response and remission per instrument, beside the sublingual figure with its source', async () => {
  const res = await call('GET', `/api/clinics/${clinicId}/outcomes?protocolId=kap-office&from=2026-03-01&to=2026-03-31`, { token: prescriber });
  expect(res.status).toBe(200);
  expect(res.body.filter).toEqual({ protocolId: 'kap-office', from: '2026-03-01', to: '2026-03-31' });
  expect(res.body.protocols.map((p: any) => [p.protocolId, p.completedCourses, p.routes])).toEqual([['kap-office', 3, ['sublingual', 'intramuscular']]]);
  expect(rate(res.body, 'kap-office', 'phq9')).toMatchObject({ courses: 3, responders: 2, remitters: 1, responseRate: 66.7, remissionRate: 33.3, published: { route: 'sublingual', response: 62.8, remission: 32.6 } });
  expect(rate(res.body, 'kap-office', 'phq9').published.source).toMatch(/Mindbloom.*n=1,247/);
  expect(rate(res.body, 'kap-office', 'gad7')).toMatchObject({ courses: 2, responders: 2, remitters: 1, responseRate: 100, remissionRate: 50, published: { response: 62.9, remission: 31.3 } });
  // PCL-5: response = a 10-point drop, remission = below the provisional-PTSD cut-off; nothing published for it.
  expect(rate(res.body, 'kap-office', 'pcl5')).toMatchObject({ courses: 2, responders: 2, remitters: 1, published: null });
  expect(rate(res.body, 'kap-office', 'pcl5').comparatorNote).toMatch(/^no published comparator here/);
});

test('every protocol, March only: the IV courses stand apart, with no borrowed at-home sublingual figure', async () => {
  const res = await call('GET', `/api/clinics/${clinicId}/outcomes?from=2026-03-01&to=2026-03-31`, { token: prescriber });
  expect(res.status).toBe(200);
  expect(res.body.protocols.map((p: any) => [p.protocolId, p.completedCourses])).toEqual([['iv-series', 1], ['kap-office', 3]]);
  expect(rate(res.body, 'iv-series', 'phq9')).toMatchObject({ courses: 1, responders: 1, remitters: 1, published: null });
  expect(rate(res.body, 'iv-series', 'phq9').comparatorNote).toBe('no published comparator here (intravenous, PHQ-9)');
  // No date range: June's course counts too.
  const all = await call('GET', `/api/clinics/${clinicId}/outcomes?protocolId=kap-office`, { token: prescriber });
  expect(rate(all.body, 'kap-office', 'phq9')).toMatchObject({ courses: 4, responders: 2 });
  // A protocol with no courses in range is listed with n = 0, not left out.
  const none = await call('GET', `/api/clinics/${clinicId}/outcomes?protocolId=spravato-rems&from=2026-03-01`, { token: prescriber });
  expect(none.body.protocols.map((p: any) => [p.protocolId, p.completedCourses])).toEqual([['spravato-rems', 0]]);
  expect(rate(none.body, 'spravato-rems', 'phq9')).toMatchObject({ courses: 0, responseRate: null, published: null });
});

test('a bad date, a reversed range or an unknown filter is a 400 naming the field; another clinic is not found', async () => {
  const bad = await call('GET', `/api/clinics/${clinicId}/outcomes?from=2026-13-01`, { token: prescriber });
  expect(bad.status).toBe(400);
  expect(bad.body.problems).toEqual([{ field: 'from', message: 'must be a date, YYYY-MM-DD' }]);
  const reversed = await call('GET', `/api/clinics/${clinicId}/outcomes?from=2026-04-01&to=2026-03-01`, { token: prescriber });
  expect(reversed.status).toBe(400);
  expect(reversed.body.problems).toEqual([{ field: 'to', message: 'must be on or after from' }]);
  const unknown = await call('GET', `/api/clinics/${clinicId}/outcomes?since=2026-01-01`, { token: prescriber });
  expect(unknown.status).toBe(400);
  expect(unknown.body.problems.map((p: { field: string }) => p.field)).toEqual(['since']);
  const other = `oc-other-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: await tokenFor(stack.db, 'admin'), body: { id: other, name: 'Elsewhere' } })).status).toBe(201);
  const elsewhere = await personTokenFor(stack.db, 'prescriber', other);
  // Another clinic's outcomes are "not found", exactly as a clinic that does not exist.
  expect((await call('GET', `/api/clinics/${clinicId}/outcomes`, { token: elsewhere.token })).status).toBe(404);
});

test('the outcomes page: per protocol with its published source or "no published comparator here"; a bad date comes back marked, with what was typed', async () => {
  const get = (url: string) => stack.app.inject({ method: 'GET', url, headers: { cookie: `${SESSION_COOKIE}=${session}` } });
  const ok = await get('/outcomes?from=2026-03-01&to=2026-03-31');
  expect(ok.statusCode).toBe(200);
  expect(ok.body).toContain('Outcomes Clinic: In-office ketamine-assisted psychotherapy (sublingual, intramuscular), 3 completed courses');
  expect(ok.body).toMatch(/PHQ-9 \(depression\)<\/th><td>3 of 3<\/td><td>66\.7% \(2\)<\/td><td>62\.8%<\/td>/);
  expect(ok.body).toContain('no published comparator here (intravenous, PHQ-9)');
  expect(ok.body).toContain('value="2026-03-31"');
  const bad = await get('/outcomes?from=2026-02-30x&protocolId=kap-office');
  expect(bad.statusCode).toBe(400);
  expect(bad.body).toMatch(/id="oc-from" name="from" value="2026-02-30x" aria-invalid="true" aria-describedby="oc-from-error">/);
  expect(bad.body).toContain('<p class="field-error" id="oc-from-error">must be a date, YYYY-MM-DD</p>');
  expect(bad.body).toContain('<option value="kap-office" selected>');
  expect(bad.body).not.toContain('Outcomes Clinic:');
});
