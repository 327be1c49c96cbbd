// Times on the dashboard are the clinic's (issue #18: "the dashboard is always in UTC although clinics
// have a time zone"): the audit log page shows each entry's time in its clinic's zone.
import { startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';
import { createStaffMember, loggedInBrowser } from './scope-helpers';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test("the audit log page shows an entry of a New York clinic in New York time, and one of a UTC clinic in UTC", async () => {
  const call = client(stack.app);
  const root = await tokenFor(stack.db, 'admin');
  const ny = `ny-${uid()}`;
  const utc = `utc-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: ny, name: 'Brooklyn KAP', timezone: 'America/New_York' } })).status).toBe(201);
  expect((await call('POST', '/api/clinics', { token: root, body: { id: utc, name: 'Reykjavik KAP', timezone: 'UTC' } })).status).toBe(201);
  const admin = await loggedInBrowser(stack.app, await createStaffMember(stack.app, root, 'admin', [ny, utc]));
  const timesOf = async (clinicId: string) => {
    const res = await admin.get(`/audit?clinicId=${clinicId}`);
    expect(res.statusCode).toBe(200);
    const times = [...res.body.matchAll(/<time datetime="([^"]+)">([^<]+)<\/time>/g)].map((m) => ({ iso: m[1]!, text: m[2]! }));
    expect(times.length).toBeGreaterThan(0);
    return times;
  };
  for (const t of await timesOf(ny)) {
    expect(t.text).toMatch(/ E[SD]T$/);
    const hourUtc = new Date(t.iso).getUTCHours();
    const hourNy = Number(t.text.slice(11, 13));
    expect((hourUtc - hourNy + 24) % 24).toBeGreaterThanOrEqual(4); // New York is 4 or 5 hours behind UTC
  }
  for (const t of await timesOf(utc)) expect(t.text).toMatch(/ UTC$/);
}, 60_000);
