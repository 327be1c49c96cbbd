// The client list and the assessments page as a coordinator pages through them (issue #18): numbers in
// names sort as numbers, every client is on exactly one page, each shows its course, the filters and
// their counts agree with the rows, 140 missed assessments are paged instead of one long page, and
// another clinic's clients and assessments never appear.
import { getProtocol } from '../../src/domain';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const run = uid();
const A = `pl-a-${run}`;
const B = `pl-b-${run}`;
let coordA: string;
let coordB: string;
const N = 130;
const now = Date.now();
// Client n: an open course when n % 3 === 0, an ended one when n % 3 === 1, never enrolled otherwise.
const state = (n: number) => (n % 3 === 0 ? 'open' : n % 3 === 1 ? 'ended' : 'never');

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  const db = stack.db;
  await db.insertInto('clinics').values([{ id: A, name: `Aspen ${run}` }, { id: B, name: `Beech ${run}` }]).execute();
  coordA = await tokenFor(db, 'coordinator', A);
  coordB = await tokenFor(db, 'coordinator', B);
  const snapshot = JSON.stringify(getProtocol('kap-office'));
  for (const [clinic, prefix, count] of [[A, 'a', N], [B, 'b', 5]] as const) {
    const ns = Array.from({ length: count }, (_, k) => k + 1);
    await db.insertInto('clients').values(ns.map((n) => ({ id: `pl-${prefix}-${run}-${n}`, clinic_id: clinic, given_name: 'Synthetic', family_name: `Client ${n}`, email: `pl-${prefix}-${n}-${run}@example.org`, created_at: new Date(now - n * 60_000) }))).execute();
    const enrolled = ns.filter((n) => state(n) !== 'never');
    await db
      .insertInto('courses')
      .values(
        enrolled.map((n) => ({
          id: `pl-${prefix}-course-${run}-${n}`,
          client_id: `pl-${prefix}-${run}-${n}`,
          clinic_id: clinic,
          workflow_id: `course-pl-${prefix}-course-${run}-${n}`,
          protocol_id: 'kap-office',
          protocol_version: 1,
          protocol_snapshot: snapshot,
          status: state(n) === 'open' ? 'active' : 'completed',
          current_step: state(n) === 'open' ? 'dose-2' : null,
          current_step_deadline: state(n) === 'open' ? new Date(now + 3 * 86_400_000) : null,
          ended_at: state(n) === 'open' ? null : new Date(now - 86_400_000),
        })),
      )
      .execute();
  }
  // 140 missed follow-ups in clinic A (several per open course, one per step), 3 in clinic B, and a
  // few sent recently and awaiting answers.
  const openA = Array.from({ length: N }, (_, k) => k + 1).filter((n) => state(n) === 'open');
  const missed = Array.from({ length: 140 }, (_, k) => ({ n: openA[k % openA.length]!, step: `followup-${Math.floor(k / openA.length)}` }));
  const row = (prefix: string, clinic: string, n: number, step: string, status: 'missed' | 'invited', invitedAgoH: number) => ({
    id: `pl-${prefix}-course-${run}-${n}/${step}/phq9`,
    course_id: `pl-${prefix}-course-${run}-${n}`,
    clinic_id: clinic,
    step_key: step,
    instrument_id: 'phq9',
    status,
    invited_at: new Date(now - invitedAgoH * 3_600_000),
    expires_at: new Date(now - invitedAgoH * 3_600_000 + 72 * 3_600_000),
  });
  await db
    .insertInto('assessments')
    .values([...missed.map((m) => row('a', A, m.n, m.step, 'missed', 120)), ...[3].map((n) => row('b', B, n, 'followup-0', 'missed', 120)), ...openA.slice(0, 4).map((n) => row('a', A, n, 'adhoc-1', 'invited', 2))])
    .execute();
}, 60_000);

afterAll(async () => {
  // The rows seeded here leave the shared database as they came (other files list every clinic's clients).
  if (stack) {
    await stack.db.deleteFrom('assessments').where('clinic_id', 'in', [A, B]).execute();
    await stack.db.deleteFrom('courses').where('clinic_id', 'in', [A, B]).execute();
    await stack.db.deleteFrom('clients').where('clinic_id', 'in', [A, B]).execute();
  }
  await stack?.stop();
});

const links = (text: string) => [...text.matchAll(/<a href="\/clients\/([^"]+)">([^<]+)<\/a>/g)].map((m) => ({ id: m[1]!, name: m[2]! }));

test('the client list pages every client once, in natural name order ("Client 2" before "Client 10"), with the course of each', async () => {
  const seen: string[] = [];
  for (let page = 1; page <= 3; page++) {
    const res = await call('GET', `/clients${page > 1 ? `?page=${page}` : ''}`, { token: coordA });
    expect(res.status).toBe(200);
    const rows = links(res.text);
    expect(rows).toHaveLength(page < 3 ? 50 : N - 100);
    seen.push(...rows.map((r) => r.name));
    expect(res.text).toContain(`Showing ${(page - 1) * 50 + 1}–${Math.min(page * 50, N)} of ${N} · page ${page} of 3`);
  }
  expect(seen).toEqual(Array.from({ length: N }, (_, k) => `Client ${k + 1}, Synthetic`));
  const first = await call('GET', '/clients', { token: coordA });
  // Client 3 has an open course at dose-2, Client 1's ended, Client 2 never enrolled.
  expect(first.text).toMatch(/Client 3, Synthetic<\/a><\/td><td>Aspen [^<]+<\/td><td><span class="badge ok">active<\/span> In-office[^<]* · dose-2, due <time[^>]*>in 2 d 23 h<\/time>/);
  expect(first.text).toMatch(/Client 1, Synthetic<\/a><\/td><td>Aspen [^<]+<\/td><td><span class="badge muted">completed<\/span>/);
  expect(first.text).toMatch(/Client 2, Synthetic<\/a><\/td><td>Aspen [^<]+<\/td><td><span class="muted">never enrolled<\/span>/);
  const newest = await call('GET', '/clients?sort=-name', { token: coordA });
  expect(links(newest.text)[0]!.name).toBe(`Client ${N}, Synthetic`);
});

test('client list filters: course status with counts, search, and empty states that say what they hide; never another clinic', async () => {
  const count = (s: string) => Array.from({ length: N }, (_, k) => k + 1).filter((n) => state(n) === s).length;
  const res = await call('GET', '/clients?course=open', { token: coordA });
  expect(res.text).toContain(`In an open course (${count('open')})`);
  expect(res.text).toContain(`Never enrolled (${count('never')})`);
  expect(res.text).toContain(`Course ended (${count('ended')})`);
  expect(res.text).toContain(`${count('open')} clients in an open course`);
  const rows = links(res.text);
  expect(rows).toHaveLength(count('open'));
  expect(rows.every((r) => Number(/Client (\d+)/.exec(r.name)![1]) % 3 === 0)).toBe(true);
  const search = await call('GET', '/clients?q=client%2012', { token: coordA });
  expect(links(search.text).map((r) => r.name)).toEqual(['Client 12, Synthetic', 'Client 120, Synthetic', 'Client 121, Synthetic', 'Client 122, Synthetic', 'Client 123, Synthetic', 'Client 124, Synthetic', 'Client 125, Synthetic', 'Client 126, Synthetic', 'Client 127, Synthetic', 'Client 128, Synthetic', 'Client 129, Synthetic']);
  const none = await call('GET', '/clients?q=client%2012&course=never', { token: coordA });
  const never12 = ['12', '120', '121', '122', '123', '124', '125', '126', '127', '128', '129'].filter((n) => state(Number(n)) === 'never').length;
  expect(links(none.text)).toHaveLength(never12);
  const empty = await call('GET', '/clients?q=zebra', { token: coordA });
  expect(empty.text).toContain('No clients matching “zebra”.');
  // Client 130's course ended: "never enrolled" hides it, and the page says so.
  const emptyFilter = await call('GET', '/clients?q=client%20130&course=never', { token: coordA });
  expect(emptyFilter.text).toContain('No clients matching “client 130”, never enrolled.');
  expect(emptyFilter.text).toContain('1 client matches the rest of the search: <a href="/clients?q=client+130">show every course status</a>');
  // Clinic B's coordinator sees its 5 clients only; naming clinic A is 403; bad input a 400 naming the field.
  const b = await call('GET', '/clients', { token: coordB });
  expect(links(b.text).map((r) => r.id)).toEqual([1, 2, 3, 4, 5].map((n) => `pl-b-${run}-${n}`));
  expect((await call('GET', `/clients?clinicId=${A}`, { token: coordB })).status).toBe(403);
  for (const [url, field] of [['/clients?page=0', 'page'], ['/clients?course=maybe', 'course'], ['/clients?sort=age', 'sort']]) {
    const bad = await call('GET', url!, { token: coordA });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain(field);
  }
});

test('the assessments page: 140 missed are counted, shown 10 on the overview and 50 a page when chosen; filter by name; scoped to the clinic', async () => {
  const overview = await call('GET', '/assessments', { token: coordA });
  expect(overview.status).toBe(200);
  expect(overview.text).toContain('Missed in the last 30 days (140)');
  expect(overview.text).toContain('Missed (30 days) (140)');
  expect(overview.text).toContain('Sent, awaiting answers (4)');
  expect(overview.text).toContain('Show all 140 missed (30 days)</a>, 50 a page');
  expect((overview.text.match(/action="\/courses\/[^"]+\/actions\/send-assessment"/g) ?? []).length).toBe(10 + 4);
  const pages: number[] = [];
  for (let page = 1; page <= 3; page++) {
    const res = await call('GET', `/assessments?status=missed${page > 1 ? `&page=${page}` : ''}`, { token: coordA });
    pages.push((res.text.match(/actions\/send-assessment/g) ?? []).length);
    expect(res.text).toContain(`Showing ${(page - 1) * 50 + 1}–${Math.min(page * 50, 140)} of 140 · page ${page} of 3`);
    expect(res.text).not.toContain('Sent, awaiting answers');
  }
  expect(pages).toEqual([50, 50, 40]);
  const named = await call('GET', '/assessments?status=missed&q=client%2012', { token: coordA });
  // Client 12 and Client 120..129 with an open course: 12, 120, 123, 126, 129; each has missed follow-ups.
  const names = [...named.text.matchAll(/<a href="\/clients\/[^"]+">(Synthetic Client \d+)<\/a>/g)].map((m) => m[1]);
  expect(new Set(names)).toEqual(new Set(['Synthetic Client 12', 'Synthetic Client 120', 'Synthetic Client 123', 'Synthetic Client 126', 'Synthetic Client 129']));
  const nobody = await call('GET', '/assessments?status=overdue&q=client%2012', { token: coordA });
  expect(nobody.text).toContain('Nothing overdue for clients named “client 12”.');
  const b = await call('GET', '/assessments', { token: coordB });
  expect(b.text).toContain('Missed in the last 30 days (1)');
  expect(b.text).not.toContain(`pl-a-${run}`);
  expect((await call('GET', `/assessments?clinicId=${A}`, { token: coordB })).status).toBe(403);
  // The flash a "Send now" redirect carries is not a filter.
  expect((await call('GET', '/assessments?ok=Recorded%3A%20invited', { token: coordA })).text).toContain('Recorded: invited');
  expect((await call('GET', '/assessments?status=soon', { token: coordA })).status).toBe(400);
});
