// Every branch of issue 4 item 10, each on its own course, on the time-skipping server.
import { CHECKLIST, CourseDriver, DAY, GOOD_CHECK, HOUR, NO_HARD_STOPS, NO_REVIEW_ITEMS, startHarness, type Harness } from './helpers';

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

test('an incomplete screening is refused with every unanswered hard stop', async () => {
  const c = await course();
  const r = await c.reject('screening', { hardStops: { pregnancy: false }, reviewItems: NO_REVIEW_ITEMS });
  expect(r.type).toBe('ClinicallyRefused');
  expect(r.message).toContain('Not answered: History of a primary psychotic disorder');
  await c.act('withdraw', { reason: 'test over' });
});

test('clearance denied ends the course; a denial needs a reason', async () => {
  const c = await course();
  await c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  expect((await c.reject('clearance', { decision: 'denied' })).type).toBe('InvalidInput');
  await c.act('clearance', { decision: 'denied', reason: 'cardiology advises against' });
  const result = await c.handle.result();
  expect(result.status).toBe('ineligible');
  expect(result.endReason).toBe('clearance-denied: cardiology advises against');
});

test('clearance past its deadline: overdue, escalated to the prescriber, then the coordinator, then admin', async () => {
  const c = await course();
  await c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await c.sleep(71 * HOUR);
  expect((await c.step('clearance')).overdue).toBe(false);
  await c.sleep(2 * HOUR);
  const st = await c.step('clearance');
  expect(st.overdue).toBe(true);
  expect(h.fakes.steps.get(`${c.courseId}/clearance`)).toMatchObject({ state: 'overdue', escalationLevel: 1 });
  await sentNotes(c.courseId, 'step-escalation', (ns) => ns.length >= 1);
  let esc = h.fakes.notes(c.courseId, 'step-escalation');
  expect(esc.map((n) => n.recipient)).toEqual([{ kind: 'role', role: 'prescriber' }]);
  await c.sleep(24 * HOUR);
  await sentNotes(c.courseId, 'step-escalation', (ns) => ns.length >= 2);
  esc = h.fakes.notes(c.courseId, 'step-escalation');
  expect(esc.map((n) => n.recipient)).toEqual([
    { kind: 'role', role: 'prescriber' },
    { kind: 'role', role: 'coordinator' },
  ]);
  await c.sleep(48 * HOUR);
  await sentNotes(c.courseId, 'step-escalation', (ns) => ns.length >= 3);
  expect(h.fakes.notes(c.courseId, 'step-escalation')).toHaveLength(3);
  // The late decision still counts, and the step is done.
  await c.act('clearance', { decision: 'approved' });
  expect((await c.step('clearance')).status).toBe('done');
  expect(h.fakes.steps.get(`${c.courseId}/clearance`)!.state).toBe('done');
  await c.act('withdraw', { reason: 'test over' });
});

test('no dose before clearance; no discharge before the minimum monitoring time', async () => {
  // 1 protocol hour = 1 s, waited in real time (time skipping may be locked after a rejection).
  const c = await course('kap-office', { timeScale: 3600 });
  const early = await c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' });
  expect(early.type).toBe('InvalidTransition');
  expect(early.message).toMatch(/no dosing before medical clearance/);
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

test('blood-pressure hold, then a re-check after rest proceeds', async () => {
  const c = await course();
  await readyToDose(c);
  const held = await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 152, diastolic: 94 } });
  expect(held.outcome).toBe('hold');
  expect(held.reasons!.filter((r) => r.blocking).map((r) => r.code)).toEqual(['bp-systolic-high', 'bp-diastolic-high']);
  const refused = await c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' });
  expect(refused.type).toBe('ClinicallyRefused');
  expect(refused.message).toMatch(/Systolic 152 mmHg is above the limit of 140/);
  const again = await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 134, diastolic: 84 } });
  expect(again.outcome).toBe('proceed');
  expect((await c.act('dose', { stepKey: 'dose-1', route: 'sublingual' })).outcome).toBe('dosed');
  await c.act('withdraw', { reason: 'test over' });
});

test('blood-pressure hold, then reschedule to another day', async () => {
  const c = await course();
  await readyToDose(c);
  await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 160, diastolic: 100 } });
  expect((await c.act('schedule', { stepKey: 'dose-1', startsInHours: 48 })).outcome).toBe('rescheduled');
  const st = await c.step('dose-1');
  expect(st.session).toMatchObject({ status: 'scheduled', scheduleCount: 2, preDose: null });
  await c.act('withdraw', { reason: 'test over' });
});

test('no-show: the coordinator is told, the session is rescheduled and attended; a second no-show can end in withdrawal', async () => {
  const c = await course();
  await c.intake();
  await c.act('schedule', { stepKey: 'prep-1', startsInHours: 72 });
  await c.sleep(73 * HOUR);
  await c.act('no-show', { stepKey: 'prep-1' });
  // Messages go out after the staff action has answered (they no longer hold it up).
  await sentNotes(c.courseId, 'course-notice', (ns) => ns.some((n) => n.data.subjectKey === 'no-show'));
  expect(h.fakes.notes(c.courseId, 'course-notice').map((n) => n.data.subjectKey)).toContain('no-show');
  await c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
  await c.act('session-complete', { stepKey: 'prep-1' });
  await c.act('schedule', { stepKey: 'prep-2', startsInHours: 24 });
  await c.act('no-show', { stepKey: 'prep-2' });
  // The reschedule itself has a deadline: breached, it escalates.
  await c.sleep(337 * HOUR);
  expect((await c.step('prep-2')).overdue).toBe(true);
  expect((await c.reject('session-complete', { stepKey: 'prep-2' })).message).toMatch(/no-show: reschedule it first/);
  await c.act('withdraw', { reason: 'did not return after two no-shows' });
  const result = await c.handle.result();
  expect(result.status).toBe('withdrawn');
  expect(result.endReason).toBe('withdrawn: did not return after two no-shows');
  expect(h.fakes.course.get(c.courseId)).toMatchObject({ status: 'withdrawn' });
});

test('a serious adverse event alerts clinicians and holds dosing until a safety review', async () => {
  const c = await course();
  await readyToDose(c);
  const r = await c.act('adverse-event', { stepKey: 'dose-1', category: 'hypertension', severity: 'severe', serious: true, description: 'BP 190/110 at 30 min' });
  expect(r.outcome).toBe('serious-escalated');
  await sentNotes(c.courseId, 'safety-alert', (ns) => ns.length >= 2);
  // Both clinician roles, once each (the two activities finish in either order).
  const alerted = h.fakes.notes(c.courseId, 'safety-alert').map((n) => n.recipient);
  expect(alerted).toHaveLength(2);
  expect(alerted).toEqual(expect.arrayContaining([
    { kind: 'role', role: 'prescriber' },
    { kind: 'role', role: 'therapist' },
  ]));
  await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  expect((await c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' })).message).toMatch(/safety hold open/);
  await c.act('safety-review', { outcome: 'release', riskLevel: 'low', notes: 'resolved' });
  await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  expect((await c.act('dose', { stepKey: 'dose-1', route: 'sublingual' })).outcome).toBe('dosed');
  const mild = await c.act('adverse-event', { stepKey: 'dose-1', category: 'nausea-vomiting', severity: 'mild', serious: false });
  expect(mild.outcome).toBe('recorded');
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
  expect((await c.reject('safety-review', { outcome: 'release', riskLevel: 'high' })).type).toBe('ClinicallyRefused');
  await c.act('safety-review', { outcome: 'release', riskLevel: 'low' });
  expect((await c.state()).safetyHolds).toEqual([]);
  await c.act('withdraw', { reason: 'test over' });
});

test('C-SSRS high risk at baseline: clinician alert and a hold; review can withdraw the course', async () => {
  const c = await course();
  await c.answer('screening', 'cssrs', [true, true, true, true, false, false]);
  const v = await c.until((s) => s.safetyHolds.length > 0, 1000, 50);
  expect(v.riskLevel).toBe('high');
  await c.act('safety-review', { outcome: 'withdraw', notes: 'referred to crisis care' });
  const result = await c.handle.result();
  expect(result.status).toBe('withdrawn');
});

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

test('staff can trigger an assessment at any time', async () => {
  const c = await course();
  const r = await c.act('send-assessment', { instruments: ['gad7'], reason: 'check-in call' });
  expect(r.ids?.assessmentId).toBe(`${c.courseId}/adhoc-1`);
  const assessmentId = r.ids!.assessmentId!;
  await c.answer('adhoc-1', 'gad7');
  const v = await c.until((s) => s.assessments.find((a) => a.id === assessmentId)!.status === 'completed', 1000, 50);
  expect(v.assessments.find((a) => a.id === assessmentId)!.results[0]).toMatchObject({ instrumentId: 'gad7', total: 7, band: 'mild' });
  expect((await c.reject('send-assessment', { instruments: ['madrs' as never] })).type).toBe('InvalidInput');
  await c.act('withdraw', { reason: 'test over' });
});

test('withdraw mid-course cancels open steps and pending assessments', async () => {
  const c = await course();
  await readyToDose(c);
  await c.act('withdraw', { reason: 'moved away' });
  const result = await c.handle.result();
  expect(result.status).toBe('withdrawn');
  expect(result.steps.find((s) => s.id === 'dose-1')!.status).toBe('cancelled');
  const child = h.env.client.workflow.getHandle(`assessment-${c.courseId}/dose-1`);
  await expect(child.result()).rejects.toThrow(/cancelled/);
  // A closed course takes no more Updates (the client maps this to 409).
  await expect(c.act('consent', { documentVersion: 'v1', signedByClient: true })).rejects.toThrow();
});

test('pause and resume: actions refused while paused, deadlines move by the pause', async () => {
  const c = await course();
  await c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  const before = Date.parse((await c.step('clearance')).deadlineAt!);
  await c.act('pause', { reason: 'client travelling' });
  await c.sleep(10 * DAY);
  expect(h.fakes.notes(c.courseId, 'step-escalation')).toHaveLength(0);
  expect((await c.reject('clearance', { decision: 'approved' })).message).toMatch(/paused/);
  await c.act('resume', {});
  const after = Date.parse((await c.step('clearance')).deadlineAt!);
  expect(after - before).toBeGreaterThanOrEqual(10 * DAY);
  await c.act('clearance', { decision: 'approved' });
  await c.act('change-clinician', { clinicianId: 'staff-2', reason: 'handover' });
  expect((await c.state()).primaryClinicianId).toBe('staff-2');
  expect(h.fakes.course.get(c.courseId)!.primaryClinicianId).toBe('staff-2');
  await c.act('withdraw', { reason: 'test over' });
});

test('doses keep the protocol minimum spacing; integration must be within its window', async () => {
  const c = await course();
  await readyToDose(c);
  await c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  await c.act('dose', { stepKey: 'dose-1', route: 'sublingual' });
  await c.sleep(HOUR / 2);
  await c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 }, spo2: 97 });
  await c.sleep(2 * HOUR);
  await c.act('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
  const late = await c.reject('schedule', { stepKey: 'integration-1', startsInHours: 72 });
  expect(late.type).toBe('ClinicallyRefused');
  expect(late.message).toMatch(/within 48 h of the dose/);
  await c.act('session-complete', { stepKey: 'integration-1' });
  const soon = await c.reject('schedule', { stepKey: 'dose-2', startsInHours: 72 });
  expect(soon.message).toMatch(/at least 7 day\(s\) apart/);
  await c.act('withdraw', { reason: 'test over' });
});
