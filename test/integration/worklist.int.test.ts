// The courses worklist as a coordinator uses it (issue #18): a clinic of 1,000 courses (seeded in SQL,
// as the projection writes them) plus real courses started through the engine, and another clinic next
// door. Every course is found in two clicks (search by name -> the client's page), pages and sorts are
// exact, every filter and its count agree with the rows, and nobody sees another clinic's courses.
import { getProtocol, planCourse } from '../../src/domain';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const run = uid();
const A = `wl-a-${run}`;
const B = `wl-b-${run}`;
let coordA: string;
let coordB: string;
let admin: string;
const prescriberId = `wl-pat-${run}`;
const N = 1000;
const now = Date.now();
const GIVEN = ['Maya', 'Noah', 'Iris', 'Omar', 'Lena', 'Theo', 'Ruth', 'Amir', 'Cleo', 'Jude'];
const FAMILY = ['Nguyen', 'Okafor', 'Lindqvist', 'Haddad', 'Moreau', 'Castillo', 'Brennan', 'Sato', 'Kowalski', 'Adeyemi', 'Fischer'];
const PROTOCOLS = ['kap-office', 'iv-series', 'spravato-rems'] as const;
const PLANS = Object.fromEntries(PROTOCOLS.map((p) => [p, planCourse(getProtocol(p)!)]));

interface Seeded {
  i: number;
  courseId: string;
  clientId: string;
  given: string;
  family: string;
  protocol: string;
  step: string;
  kind: string;
  ownerRole: string;
  deadline: Date | null;
  state: 'open' | 'overdue';
  ended: boolean;
  held: boolean;
  risk: string;
  person: boolean;
}
const seeded: Seeded[] = [];
const realCourses: Array<{ courseId: string; clientId: string; given: string; family: string }> = [];

function seedRow(i: number): Seeded {
  const protocol = PROTOCOLS[i % 3]!;
  const plan = PLANS[protocol]!;
  const s = plan[(i * 7) % plan.length]!;
  const deadline = i % 10 === 0 ? null : new Date(now + (((i * 37) % 400) - 60) * 3_600_000);
  return {
    i,
    courseId: `wl-course-${run}-${i}`,
    clientId: `wl-client-${run}-${i}`,
    given: `${GIVEN[i % GIVEN.length]}${i}`,
    family: FAMILY[i % FAMILY.length]!,
    protocol,
    step: s.id,
    kind: s.kind,
    ownerRole: s.owner ?? "nobody",
    deadline,
    state: deadline && deadline.getTime() < now && i % 7 === 0 ? 'overdue' : 'open',
    ended: i % 9 === 4,
    held: i % 33 === 0,
    risk: i % 50 === 0 ? 'high' : i % 25 === 0 ? 'moderate' : 'none',
    person: i % 5 === 0,
  };
}

async function seedClinic(clinicId: string, rows: Seeded[]) {
  const db = stack.db;
  for (let k = 0; k < rows.length; k += 250) {
    const chunk = rows.slice(k, k + 250);
    await db.insertInto('clients').values(chunk.map((r) => ({ id: r.clientId, clinic_id: clinicId, given_name: r.given, family_name: r.family, email: `${r.clientId}@example.org` }))).execute();
    await db
      .insertInto('courses')
      .values(
        chunk.map((r) => ({
          id: r.courseId,
          client_id: r.clientId,
          clinic_id: clinicId,
          workflow_id: `course-${r.courseId}`,
          protocol_id: r.protocol,
          protocol_version: 1,
          protocol_snapshot: JSON.stringify(getProtocol(r.protocol)),
          status: r.ended ? 'completed' : r.i % 40 === 3 ? 'paused' : 'active',
          current_step: r.ended ? null : r.step,
          current_step_deadline: r.ended ? null : r.deadline,
          risk_level: r.risk,
          enrolled_at: new Date(now - (r.i + 1) * 3_600_000),
          ended_at: r.ended ? new Date(now - 3_600_000) : null,
          end_reason: r.ended ? 'completed' : null,
        })),
      )
      .execute();
    await db
      .insertInto('course_steps')
      .values(
        chunk.map((r) => ({
          id: `${r.courseId}/${r.step}`,
          course_id: r.courseId,
          clinic_id: clinicId,
          step_key: r.step,
          kind: r.kind,
          state: r.ended ? ('done' as const) : r.state,
          owner_role: r.ownerRole,
          owner_staff_id: r.person && clinicId === A ? prescriberId : null,
          entered_at: new Date(now - 86_400_000),
          deadline_at: r.deadline,
        })),
      )
      .execute();
    const held = chunk.filter((r) => r.held || r.i % 33 === 1);
    if (held.length) {
      await db
        .insertInto('safety_events')
        .values(held.map((r) => ({ id: `${r.courseId}/hold`, course_id: r.courseId, clinic_id: clinicId, kind: 'critical-answer', level: 'high', at: new Date(now - 7_200_000), resolved_at: r.held ? null : new Date(now - 3_600_000) })))
        .execute();
    }
  }
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  await stack.db.insertInto('clinics').values([{ id: A, name: `Alder Clinic ${run}`, timezone: 'America/New_York' }, { id: B, name: `Birch Clinic ${run}`, timezone: 'Europe/Berlin' }]).execute();
  await stack.db.insertInto('staff').values({ id: prescriberId, email: `${prescriberId}@example.org`, display_name: 'Pat Prescriber', role: 'prescriber', password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: prescriberId, clinic_id: A }).execute();
  coordA = await tokenFor(stack.db, 'coordinator', A);
  coordB = await tokenFor(stack.db, 'coordinator', B);
  admin = await tokenFor(stack.db, 'admin');
  for (let i = 0; i < N; i++) seeded.push(seedRow(i));
  await seedClinic(A, seeded);
  // The clinic next door: names that would match A's searches too.
  await seedClinic(B, Array.from({ length: 30 }, (_, i) => ({ ...seedRow(i), courseId: `wl-b-course-${run}-${i}`, clientId: `wl-b-client-${run}-${i}`, given: `${GIVEN[i % GIVEN.length]}${i}`, family: FAMILY[i % FAMILY.length]! })));
  // Two real courses through the engine, as a coordinator enrolls them.
  for (const k of [1, 2]) {
    const c = await call('POST', '/api/clients', { token: coordA, body: { clinicId: A, givenName: `Real${k}`, familyName: `Engine${run}`, email: `real${k}-${run}@example.org` } });
    expect(c.status).toBe(201);
    const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: coordA, body: { protocolId: 'kap-office' } });
    expect(course.status).toBe(201);
    realCourses.push({ courseId: course.body.id, clientId: c.body.id, given: `Real${k}`, family: `Engine${run}` });
  }
  for (const r of realCourses) await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', r.courseId).executeTakeFirst())?.current_step === 'screening');
}, 120_000);

afterAll(async () => {
  for (const r of realCourses) await stack.temporal.workflow.getHandle(`course-${r.courseId}`).terminate('cleanup').catch(() => undefined);
  // The seeded rows leave the shared database (other files list every clinic's courses and clients);
  // the engine's two courses stay, as every other file's do.
  if (stack) {
    await stack.db.deleteFrom('courses').where('id', 'like', `wl-%course-${run}-%`).execute();
    await stack.db.deleteFrom('clients').where('id', 'like', `wl-%client-${run}-%`).execute();
  }
  await stack?.stop();
});

const openA = () => seeded.filter((r) => !r.ended);
const isOverdue = (r: Seeded) => r.state === 'overdue' || (r.deadline !== null && r.deadline.getTime() < Date.now());

async function allPages(query: string, token = coordA, limit = 200): Promise<any[]> {
  const out: any[] = [];
  for (let page = 1; ; page++) {
    const res = await call('GET', `/api/courses?${query}&limit=${limit}&page=${page}`, { token });
    expect(res.status).toBe(200);
    out.push(...res.body.courses);
    if (!res.body.hasMore) return out;
    expect(res.body.courses).toHaveLength(limit);
  }
}

test('every open course is on the worklist once, in name order across pages, and found in two clicks: search by name, then the client page', async () => {
  const rows = await allPages('open=true&clinicId=' + A + '&sort=name');
  const expected = [...openA().map((r) => ({ id: r.courseId, family: r.family, given: r.given })), ...realCourses.map((r) => ({ id: r.courseId, family: r.family, given: r.given }))];
  expect(rows.map((r) => r.id).sort()).toEqual(expected.map((e) => e.id).sort());
  const byName = [...expected].sort((a, b) => (a.family < b.family ? -1 : a.family > b.family ? 1 : a.given < b.given ? -1 : a.given > b.given ? 1 : a.id < b.id ? -1 : 1));
  expect(rows.map((r) => r.id)).toEqual(byName.map((e) => e.id));

  // Two clicks, in the browser's HTML: the worklist searched by full name shows one row linking to the
  // client's page, and that page shows the course's current step. A sample spread over the clinic, and
  // the engine's courses.
  const sample = [...openA().filter((_, k) => k % 97 === 0), ...realCourses.map((r) => ({ ...r, step: 'screening' }))];
  for (const r of sample) {
    const list = await call('GET', `/courses?q=${encodeURIComponent(`${r.given} ${r.family}`)}`, { token: coordA });
    expect(list.status).toBe(200);
    const links = [...list.text.matchAll(/<a href="\/clients\/([^"]+)">/g)].map((m) => m[1]);
    expect(links).toEqual([r.clientId]);
    expect(list.text).toContain(`${r.family}, ${r.given}`);
    const pageOfClient = await call('GET', `/clients/${links[0]}`, { token: coordA });
    expect(pageOfClient.status).toBe(200);
    expect(pageOfClient.text).toContain(`<dt>Current step</dt><dd data-step="${r.step}">`);
  }
}, 60_000);

test('the engine started courses show their real current step, owner and deadline; search by name prefix, full name and "Family, Given"', async () => {
  const res = await call('GET', `/api/courses?open=true&q=${encodeURIComponent(`engine${run}`)}&sort=name&counts=true`, { token: coordA });
  expect(res.status).toBe(200);
  expect(res.body.courses.map((c: any) => c.clientName)).toEqual([`Real1 Engine${run}`, `Real2 Engine${run}`]);
  for (const c of res.body.courses) {
    expect(c).toMatchObject({ currentStep: 'screening', stepKind: 'screening', owner: { role: 'coordinator' }, overdue: false, openSafetyHolds: 0, clinicTimeZone: 'America/New_York' });
    expect(new Date(c.currentStepDeadline).getTime()).toBeGreaterThan(Date.now());
  }
  expect(res.body.counts.total).toBe(2);
  const comma = await call('GET', `/api/courses?open=true&q=${encodeURIComponent(`Engine${run}, real2`)}`, { token: coordA });
  expect(comma.body.courses.map((c: any) => c.clientName)).toEqual([`Real2 Engine${run}`]);
  // A prefix of a given name: Maya1 matches Maya1, Maya10.., Maya100.. of clinic A only (open ones).
  const prefix = await allPages(`open=true&q=maya1`);
  const want = openA().filter((r) => r.given.toLowerCase().startsWith('maya1'));
  expect(prefix.map((c) => c.id).sort()).toEqual(want.map((r) => r.courseId).sort());
  // Characters LIKE would read as wildcards are taken literally.
  expect((await call('GET', '/api/courses?open=true&q=%25', { token: coordA })).body.courses).toEqual([]);
  expect((await call('GET', '/api/courses?open=true&q=_', { token: coordA })).body.courses).toEqual([]);
});

test('each filter shows exactly its courses, and its count says how many before it is chosen', async () => {
  const all = await call('GET', `/api/courses?open=true&counts=true&limit=1`, { token: coordA });
  const c = all.body.counts;
  const open = openA();
  expect(c.total).toBe(open.length + realCourses.length);
  expect(c.overdue).toBe(open.filter(isOverdue).length);
  expect(c.onHold).toBe(open.filter((r) => r.held).length);
  expect(c.onHold).toBeGreaterThan(10);
  for (const p of PROTOCOLS) expect(c.protocol[p]).toBe(open.filter((r) => r.protocol === p).length + (p === 'kap-office' ? realCourses.length : 0));
  expect(c.stepKind.dosing).toBe(open.filter((r) => r.kind === 'dosing').length);
  expect(c.ownerRole.prescriber).toBe(open.filter((r) => r.ownerRole === 'prescriber').length);

  const overdue = await allPages('open=true&overdue=true&sort=due');
  expect(overdue.map((x) => x.id).sort()).toEqual(open.filter(isOverdue).map((r) => r.courseId).sort());
  expect(overdue.every((x) => x.overdue)).toBe(true);
  const held = await allPages('open=true&onHold=true');
  expect(held.map((x) => x.id).sort()).toEqual(open.filter((r) => r.held).map((r) => r.courseId).sort());
  expect(held.every((x) => x.openSafetyHolds === 1)).toBe(true);

  // Filters combine, and the counts of one filter keep the others: dosing steps of spravato-rems
  // waiting on a prescriber, overdue.
  const combo = await call('GET', `/api/courses?open=true&protocol=spravato-rems&stepKind=dosing&ownerRole=prescriber&counts=true&limit=500`, { token: coordA });
  const want = open.filter((r) => r.protocol === 'spravato-rems' && r.kind === 'dosing');
  expect(combo.body.courses.map((x: any) => x.id).sort()).toEqual(want.map((r) => r.courseId).sort());
  expect(combo.body.counts.total).toBe(want.length);
  expect(combo.body.counts.overdue).toBe(want.filter(isOverdue).length);
  expect(combo.body.counts.protocol['kap-office']).toBe(open.filter((r) => r.protocol === 'kap-office' && r.kind === 'dosing').length);
  expect(combo.body.courses.every((x: any) => x.stepKind === 'dosing' && x.protocol.id === 'spravato-rems')).toBe(true);

  // The owner is the person when one is assigned, else the role.
  const person = combo.body.courses.find((x: any) => x.owner.staffId);
  expect(person.owner).toEqual({ role: 'prescriber', staffId: prescriberId, name: 'Pat Prescriber' });
});

test('sorting: soonest due first (no deadline last), latest first, highest risk first; pages never overlap', async () => {
  const due = await allPages('open=true&sort=due', coordA, 150);
  const times = due.map((x) => (x.currentStepDeadline ? Date.parse(x.currentStepDeadline) : Infinity));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(new Set(due.map((x) => x.id)).size).toBe(due.length);
  const late = await call('GET', '/api/courses?open=true&sort=-due&limit=5', { token: coordA });
  const latest = (await stack.db.selectFrom('courses').select((eb) => eb.fn.max('current_step_deadline').as('m')).where('clinic_id', '=', A).where('ended_at', 'is', null).executeTakeFirstOrThrow()).m as Date;
  expect(Date.parse(late.body.courses[0].currentStepDeadline)).toBe(new Date(latest).getTime());
  const risk = await call('GET', '/api/courses?open=true&sort=risk&limit=40', { token: coordA });
  const highs = openA().filter((r) => r.risk === 'high').length;
  expect(risk.body.courses.slice(0, highs).every((x: any) => x.riskLevel === 'high')).toBe(true);
  expect(risk.body.courses[highs].riskLevel).toBe('moderate');
  // The default (no sort given) stays what GET /api/courses always answered: newest first, ended included.
  const dflt = await call('GET', `/api/courses?clinicId=${A}&limit=3`, { token: coordA });
  expect(dflt.body.sort).toBe('-enrolled');
  expect(dflt.body.courses.map((x: any) => x.id)).toEqual([...realCourses].reverse().map((r) => r.courseId).concat(seeded[0]!.courseId));
});

test('the page: counts beside each filter, relative due time with the clinic-local time, badges, pages of 50, empty states that say what is hidden', async () => {
  const res = await call('GET', '/courses?overdue=true&sort=due', { token: coordA });
  expect(res.status).toBe(200);
  const overdueCount = openA().filter(isOverdue).length;
  expect(res.text).toContain(`Overdue only (${overdueCount})`);
  expect(res.text).toContain(`${overdueCount} open courses overdue`);
  expect(res.text).toMatch(/<time datetime="[^"]+" title="[^"]+ (EST|EDT)">[^<]+ ago<\/time> <span class="badge bad">overdue<\/span>/);
  expect(res.text).toContain(`Showing 1–50 of ${overdueCount}`);
  expect(res.text).toContain('aria-sort="ascending"');
  const second = await call('GET', '/courses?overdue=true&sort=due&page=2', { token: coordA });
  expect(second.text).toContain(`Showing 51–${Math.min(100, overdueCount)} of ${overdueCount}`);
  expect(second.text).toContain('rel="prev" href="/courses?overdue=true&#38;sort=due"');

  const none = await call('GET', `/courses?q=zzzz&onHold=true`, { token: coordA });
  expect(none.text).toContain('No open course named “zzzz…”, on a safety hold.');
  expect(none.text).toContain(`The filters hide all ${(openA().length + realCourses.length).toLocaleString('en')} open courses in your clinics`);
  expect(none.text).not.toContain('id="worklist"');
  const held = await call('GET', '/courses?onHold=true', { token: coordA });
  expect(held.text).toContain('<span class="badge bad">safety hold</span>');
  expect(held.text).toContain('Pat Prescriber');
});

test("clinic scope: a coordinator of one clinic never sees the other's courses, in the page or the API; naming it is 403; bad input is a 400 naming the field", async () => {
  const mine = await allPages('open=true', coordB, 500);
  expect(mine.length).toBe(30 - seedBEnded());
  expect(mine.every((x) => x.clinicId === B)).toBe(true);
  const page = await call('GET', '/courses?q=maya', { token: coordB });
  expect(page.text).not.toContain(A);
  expect(page.text).not.toContain(`wl-client-${run}-`);
  expect([...page.text.matchAll(/<a href="\/clients\/([^"]+)">/g)].every((m) => m[1]!.startsWith(`wl-b-client-${run}`))).toBe(true);
  expect((await call('GET', `/api/courses?clinicId=${A}`, { token: coordB })).status).toBe(403);
  expect((await call('GET', `/courses?clinicId=${A}`, { token: coordB })).status).toBe(403);
  const counts = await call('GET', '/api/courses?open=true&counts=true&limit=1', { token: coordB });
  expect(counts.body.counts.total).toBe(30 - seedBEnded());
  // An every-clinic admin sees both.
  const both = await call('GET', `/api/courses?open=true&q=maya0&counts=true`, { token: admin });
  expect(new Set(both.body.courses.map((x: any) => x.clinicId))).toEqual(new Set([A, B]));

  for (const [url, field] of [['/api/courses?sort=soonest', 'sort'], ['/api/courses?page=0', 'page'], ['/api/courses?overdue=maybe', 'overdue'], ['/courses?sort=soonest', 'sort'], ['/courses?bogus=1', 'bogus']] as const) {
    const bad = await call('GET', url, { token: coordA });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(field);
  }
});

function seedBEnded() {
  return Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 9 === 4).length;
}
