// End-to-end flows that need the real workflow, on the time-skipping server: a screening ending a
// course, an escalation reaching the mailer, a dose day with real monitoring waits, a critical answer
// on a form opening a hold, a form's reminders and expiry, a no-show notice and a withdrawal
// cancelling the open forms. Every rule and branch is tested on the machine
// alone in test/unit/workflows/machine (milliseconds).
import { CHECKLIST, CourseDriver, GOOD_CHECK, HOUR, NO_HARD_STOPS, NO_REVIEW_ITEMS, startHarness, type Harness } from './helpers';

// A fresh test server per test: after a rejected Update the Java test server can leave time
// skipping locked, which would make a later test's sleeps take real time.
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
}, 60_000);
afterEach(async () => h?.stop());
const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const course = (protocol = 'kap-office', extra = {}) => new CourseDriver(h, protocol, { maxEventsPerRun: 50_000, ...extra }).start();

/** Intake and preparation done: dose-1 is open. */
async function readyToDose(c: CourseDriver): Promise<void> {
  await c.intake();
  for (const n of [1, 2, 3]) await c.act('session-complete', { stepKey: `prep-${n}` });
  await c.act('schedule', { stepKey: 'dose-1', startsInHours: 72 });
}


/** Waits (real time, bounded) until the fake mailer has what the predicate wants. */
async function sentNotes(courseId: string, template: string, enough: (ns: ReturnType<Harness['fakes']['notes']>) => boolean): Promise<void> {
  const until = Date.now() + 15_000;
  while (!enough(h.fakes.notes(courseId, template))) {
    if (Date.now() > until) throw new Error(`no ${template} message for ${courseId} within 15 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('ineligible: a hard stop at screening ends the course as ineligible', async () => {
  const c = await course();
  await c.answerAll('screening');
  const r = await c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'psychotic-disorder': true }, reviewItems: NO_REVIEW_ITEMS });
  expect(r.outcome).toBe('ineligible');
  const result = await c.handle.result();
  expect(result.status).toBe('ineligible');
  expect(result.endReason).toBe('ineligible: hard-stop:psychotic-disorder');
  expect(h.fakes.course.get(c.courseId)).toMatchObject({ status: 'ineligible', endReason: 'ineligible: hard-stop:psychotic-disorder' });
});

// The ladder itself (prescriber, coordinator a day later, admin at 72 h; keys, levels, wakes) is
// tested on the machine (test/unit/workflows/machine/progression.test.ts); here one escalation goes
// through the workflow's timer and the notify activity to the mailer.
test('clearance past its deadline: overdue, and the escalation reaches the mailer; a late decision still counts', async () => {
  const c = await course();
  await c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await c.sleep(71 * HOUR);
  expect((await c.step('clearance')).overdue).toBe(false);
  await c.sleep(2 * HOUR);
  const st = await c.step('clearance');
  expect(st.overdue).toBe(true);
  expect(h.fakes.steps.get(`${c.courseId}/clearance`)).toMatchObject({ state: 'overdue', escalationLevel: 1 });
  await sentNotes(c.courseId, 'step-escalation', (ns) => ns.length >= 1);
  const esc = h.fakes.notes(c.courseId, 'step-escalation');
  expect(esc.map((n) => [n.key, n.recipient])).toEqual([[`${c.courseId}/clearance/d0/escalation-0`, { kind: 'role', role: 'prescriber' }]]);
  // The Update validator refuses malformed input (InvalidInput) before anything is written. (After the
  // sleeps: a rejected Update can leave the test server's time skipping locked, see README.md.)
  expect((await c.reject('clearance', { decision: 'denied' })).type).toBe('InvalidInput');
  // The late decision still counts, and the step is done.
  await c.act('clearance', { decision: 'approved' });
  expect((await c.step('clearance')).status).toBe('done');
  expect(h.fakes.steps.get(`${c.courseId}/clearance`)!.state).toBe('done');
  await c.act('withdraw', { reason: 'test over' });
});

test('a dose day: timed readings and discharge wait for real monitoring time', async () => {
  // 1 protocol hour = 1 s, waited in real time (time skipping may be locked after a rejection).
  const c = await course('kap-office', { timeScale: 3600 });
  await readyToDose(c);
  expect((await c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' })).message).toMatch(/dose refused: no passing pre-dose check recorded/);
  await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  await c.act('dose', { stepKey: 'dose-1', route: 'sublingual' });
  // The 30-minute reading is refused before its time, with the time left.
  const tooSoon = await c.reject('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 }, spo2: 97 });
  expect(tooSoon.type).toBe('ClinicallyRefused');
  expect(tooSoon.message).toMatch(/the 30-minute reading .* \d+ min left/);
  await realSleep(550);
  await c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 }, spo2: 97 });
  await realSleep(750);
  const early2 = await c.reject('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
  expect(early2.type).toBe('ClinicallyRefused');
  expect(early2.message).toMatch(/Monitored \d+ min; at least 120 min required \(\d+ min left\)/);
  await realSleep(1500);
  expect((await c.act('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true })).outcome).toBe('discharged');
  expect((await c.step('integration-1')).status).toBe('open');
  await c.act('withdraw', { reason: 'test over' });
});

test('safety escalation: PHQ-9 item 9 > 0 alerts at once, holds dosing, and a clinician review releases it', async () => {
  const c = await course();
  await readyToDose(c);
  const reply = await c.answer('dose-1', 'phq9', [2, 2, 2, 2, 2, 2, 2, 2, 2]);
  expect(reply.showCrisisResources).toBe(true);
  const v = await c.until((s) => s.safetyHolds.length > 0, 1000, 50);
  expect(v.riskLevel).toBe('moderate');
  await sentNotes(c.courseId, 'safety-alert', (ns) => ns.length >= 2);
  expect(h.fakes.notes(c.courseId, 'safety-alert').map((n) => n.key).sort()).toEqual([`${c.courseId}/dose-1/safety-alert-prescriber`, `${c.courseId}/dose-1/safety-alert-therapist`]);
  expect(JSON.stringify(h.fakes.notes(c.courseId, 'safety-alert'))).not.toMatch(/"answers"|item9/);
  const check = await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, phq9Item9: undefined, cssrsRisk: undefined });
  expect(check.outcome).toBe('hold');
  expect(check.reasons!.map((r) => r.code)).toContain('safety-hold-open');
  expect(check.ids).toBeUndefined(); // held by the open hold: no hold of its own
  expect((await c.reject('safety-review', { outcome: 'release', riskLevel: 'high' })).type).toBe('ClinicallyRefused');
  await c.act('safety-review', { outcome: 'release', riskLevel: 'low' });
  expect((await c.state()).safetyHolds).toEqual([]);
  // A check held for its own reason (blood pressure) opens this session's pre-dose hold: the ack names it.
  const bp = await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 175, diastolic: 105 } });
  expect(bp.outcome).toBe('hold');
  expect(bp.ids?.holdId).toMatch(new RegExp(`^${c.courseId}/dose-1/pre-dose-hold-\\d+$`));
  expect((await c.state()).safetyHolds.map((x) => x.id)).toEqual([bp.ids!.holdId]);
  await c.act('withdraw', { reason: 'test over' });
});

test('emails that have not gone out hold nothing up: with the invitation and the safety alerts unsent, a critical answer is taken, answered and holds the course', async () => {
  const c = await course();
  await readyToDose(c);
  h.fakes.holdEmails('assessment-invitation', 'safety-alert', 'assessment-reminder');
  const form = await c.act('send-assessment', { instruments: ['phq9'] });
  const formStep = form.ids!.assessmentId!.slice(c.courseId.length + 1);
  try {
    // On code that waits for the emails, this Update never answers while they are held (no wall-clock
    // bound here: a loaded CI machine is slow, not wrong; the hang fails the test at its timeout).
    // A staff member's 'send-assessment' sends its invitation as a regular activity, which holds
    // nothing (only a task no Update waits on runs a first attempt inside it: FIRST_ATTEMPT_MS at most).
    const reply = await c.answer(formStep, 'phq9', [2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(reply.showCrisisResources).toBe(true);
    const v = await c.until((s) => s.safetyHolds.length > 0, 1000, 50);
    expect(v.safetyHolds[0]!.kind).toBe('critical-answer');
    expect(h.fakes.notes(c.courseId, 'safety-alert')).toEqual([]);
    expect(h.fakes.notes(c.courseId, 'assessment-invitation').filter((n) => n.key === `${form.ids!.assessmentId}/invitation`)).toEqual([]);
  } finally {
    h.fakes.releaseEmails();
  }
  // Released, every email the assessment asked for goes out once, and the assessment (its one form
  // answered, its emails seen through) ends and tells the course. The withdrawal comes after that: one
  // crossing the assessment's end would ask to cancel a closed workflow (see CourseDriver.heard).
  await sentNotes(c.courseId, 'safety-alert', (ns) => ns.length >= 2);
  expect(h.fakes.notes(c.courseId, 'assessment-invitation').filter((n) => n.key === `${form.ids!.assessmentId}/invitation`)).toHaveLength(1);
  expect(await c.heard(form.ids!.assessmentId!)).toBe('completed');
  await c.act('withdraw', { reason: 'test over' });
}, 120_000);

test('missed assessment: reminders on cadence, expiry as missed, surfaced to the coordinator', async () => {
  const c = await course();
  await c.sleep(97 * HOUR);
  const v = await c.state();
  const a = v.assessments.find((x) => x.stepKey === 'screening')!;
  expect(a.status).toBe('missed');
  const id = `${c.courseId}/screening`;
  expect(h.fakes.notes(c.courseId, 'assessment-reminder').map((n) => n.key)).toEqual([`${id}/reminder-1`, `${id}/reminder-2`, `${id}/reminder-3`]);
  await sentNotes(c.courseId, 'course-notice', (ns) => ns.some((n) => n.data.subjectKey === 'assessment-missed'));
  expect(h.fakes.notes(c.courseId, 'course-notice').map((n) => n.data.subjectKey)).toContain('assessment-missed');
  const rows = h.fakes.assessments.flatMap((x) => x.assessments).filter((x) => x.stepKey === 'screening' && x.courseId === c.courseId);
  expect(rows.filter((r) => r.status === 'missed').map((r) => r.instrumentId).sort()).toEqual(['cssrs', 'gad7', 'pcl5', 'phq9']);
  // An expired form refuses answers.
  await expect(c.answer('screening', 'phq9')).rejects.toThrow();
  await c.act('withdraw', { reason: 'test over' });
});

test('a no-show notice reaches the mailer; withdraw mid-course cancels open steps and open assessments', async () => {
  const c = await course();
  await readyToDose(c);
  await c.act('no-show', { stepKey: 'dose-1' });
  // Messages go out after the staff action has answered (they no longer hold it up).
  await sentNotes(c.courseId, 'course-notice', (ns) => ns.some((n) => n.data.subjectKey === 'no-show'));
  expect(h.fakes.notes(c.courseId, 'course-notice').map((n) => n.key)).toEqual([`${c.courseId}/dose-1/no-show-1`]);
  await c.act('withdraw', { reason: 'moved away' });
  const result = await c.handle.result();
  expect(result.status).toBe('withdrawn');
  expect((await c.step('dose-1')).status).toBe('cancelled');
  // The open before-dose form is cancelled with the course: its rows say so, and it takes no answers.
  const form = (await c.state()).assessments.find((a) => a.id === `${c.courseId}/dose-1`)!;
  expect(form.results.length).toBeGreaterThan(0);
  expect(new Set(form.results.map((r) => r.status))).toEqual(new Set(['cancelled']));
  // A closed course takes no more Updates (the client maps this to 409).
  await expect(c.act('consent', { documentVersion: 'v1', signedByClient: true })).rejects.toThrow();
});

test('the workflow sandbox keeps short stack traces: the stack-trace query still says where the course waits, each stack at most three frames deep', async () => {
  // src/workflows/stack-trace-limit.ts bounds what the SDK's promise hook formats for every promise a
  // workflow creates; the query built from those stacks still names where the course waits.
  const c = await course();
  await c.intake();
  const trace = await c.handle.query<string>('__stack_trace');
  const stacks = trace.split('\n\n').filter((s) => s.trim() !== '');
  expect(stacks.length).toBeGreaterThan(0);
  expect(trace).toMatch(/at courseWorkflow \(.*src\/workflows\/course\.ts:\d+/);
  // A depth of four, less the hook's own frame (the SDK cuts it): three (five and more at V8's default depth).
  for (const s of stacks) expect(s.split('\n').filter((l) => /^\s+at /.test(l)).length).toBeLessThanOrEqual(3);
  await c.act('withdraw', { reason: 'test over' });
});
