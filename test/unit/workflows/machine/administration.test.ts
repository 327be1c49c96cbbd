// Administration: pause, resume, withdraw, change of clinician, the maintenance decision, tasks and
// the REMS monitoring form.
import { COORDINATOR, Course, DAY, DISCHARGE, GOOD_CHECK, H, MIN, NO_HARD_STOPS, NO_REVIEW_ITEMS, REMS_FORM, eventTypes, iso, notes, rows, stepStates, T0, withStep } from './helpers';

const screened = () => {
  const c = new Course();
  c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  c.out();
  return c;
};

describe('pause and resume', () => {
  test('a pause needs a reason', () => {
    const r = screened().reject('pause', { reason: ' ' });
    expect(r.type).toBe('InvalidInput');
    expect(r.message).toMatch(/reason/);
  });

  test('while paused, course actions are refused and nothing is timed: no escalation, no wake', () => {
    const c = screened();
    expect(c.act('pause', { reason: 'client travelling' }).outcome).toBe('paused');
    const out = c.out();
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'course.paused', detail: { reason: 'client travelling' }, actorId: 'staff-p' })]);
    expect(c.view()).toMatchObject({ status: 'paused', pauseReason: 'client travelling' });
    expect(out.projection!.course!.status).toBe('paused');
    expect(c.m.nextWakeAt(c.now)).toBeNull();
    c.advance(10 * DAY);
    expect(c.out().notifications).toEqual([]);
    expect(c.step('clearance').overdue).toBe(false);
    expect(c.reject('clearance', { decision: 'approved' })).toMatchObject({ type: 'InvalidTransition', message: 'the course is paused (client travelling): resume it first' });
    expect(c.reject('pause', { reason: 'again' }).message).toMatch(/paused/);
  });

  test('actions that stay open while paused: resume, withdraw, adverse event, safety review, change of clinician, send assessment, REMS form', () => {
    const c = screened();
    c.act('pause', { reason: 'hospitalised' });
    expect(c.act('send-assessment', { instruments: ['phq9'] }).outcome).toBe('invited');
    expect(c.act('adverse-event', { category: 'psychiatric', severity: 'severe', serious: true }).outcome).toBe('serious-escalated');
    expect(c.act('safety-review', { outcome: 'keep-hold' }).outcome).toBe('keep-hold');
    expect(c.act('change-clinician', { clinicianId: 'staff-2' }).outcome).toBe('changed');
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM }).message).not.toMatch(/paused/);
    expect(c.act('withdraw', { reason: 'moved away' }).outcome).toBe('withdrawn');
  });

  test('resume moves every open deadline (and the follow-up clock) by the pause; escalation then runs from the moved deadline', () => {
    const c = screened();
    const before = c.step('clearance').deadlineAt!;
    c.act('pause', { reason: 'client travelling' });
    c.advance(10 * DAY);
    c.out();
    expect(c.act('resume', {}).outcome).toBe('resumed');
    const out = c.out();
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'course.resumed', detail: { pausedMs: 10 * DAY } })]);
    expect(out.projection!.steps.map((s) => [s.stepKey, s.deadlineAt])).toEqual([['clearance', iso(Date.parse(before) + 10 * DAY)]]);
    expect(c.m.nextWakeAt(c.now)).toBe(Date.parse(before) + 10 * DAY + 1);
    c.wakeUntil(Date.parse(before) + 10 * DAY + 1);
    expect(notes(c.out(), 'step-escalation').map((n) => n.recipient)).toEqual([{ kind: 'role', role: 'prescriber' }]);
  });

  test('resume needs a paused course', () => {
    expect(screened().reject('resume', {})).toMatchObject({ type: 'InvalidTransition', message: 'the course is not paused' });
  });

  test('a pause after the last dose moves the follow-up dates', () => {
    const c = new Course('iv-series').throughDoses();
    const end = c.m.state.courseEndAt!;
    c.act('pause', { reason: 'holiday' });
    c.advance(5 * DAY);
    c.act('resume', {});
    expect(c.m.state.courseEndAt).toBe(end + 5 * DAY);
  });
});

describe('withdraw', () => {
  test('needs a reason', () => {
    expect(screened().reject('withdraw', {}).type).toBe('InvalidInput');
  });

  test('ends the course: open steps and their sessions cancelled, pending assessments cancelled, one timeline event, no more actions', () => {
    const c = new Course().readyToDose();
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 24 });
    c.out();
    expect(c.act('withdraw', { reason: '  moved away ' }, COORDINATOR).outcome).toBe('withdrawn');
    const out = c.out();
    expect(c.view()).toMatchObject({ status: 'withdrawn', endReason: 'withdrawn: moved away', endedAt: iso(T0), currentStep: null });
    expect(c.step('dose-1')).toMatchObject({ status: 'cancelled', outcome: 'withdrawn' });
    expect(stepStates(out)).toEqual({ 'dose-1': 'cancelled' });
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ id: 'c1/dose-1', status: 'cancelled' })]);
    expect(out.cancelAssessments).toEqual(['c1/dose-1']);
    expect(eventTypes(out)).toEqual(['course.withdrawn']);
    expect(rows(out, 'event')[0]).toMatchObject({ actorId: 'staff-c', detail: { reason: 'withdrawn: moved away' } });
    expect(out.projection!.course).toMatchObject({ status: 'withdrawn', endReason: 'withdrawn: moved away', currentStep: null, endedAt: iso(T0) });
    expect(c.m.nextWakeAt(c.now)).toBeNull();
    expect(c.reject('consent', { documentVersion: 'v1', signedByClient: true })).toMatchObject({ type: 'InvalidTransition', message: 'the course is withdrawn (withdrawn: moved away)' });
    expect(c.reject('withdraw', { reason: 'again' }).type).toBe('InvalidTransition');
    // Time does nothing to an ended course.
    c.advance(30 * DAY);
    expect(c.m.hasOutput()).toBe(false);
  });

  test('withdrawal after two no-shows (the no-show path ends here)', () => {
    const c = new Course().intake();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
    c.act('no-show', { stepKey: 'prep-1' });
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
    c.act('no-show', { stepKey: 'prep-1' });
    expect(c.step('prep-1').session!.noShowCount).toBe(2);
    c.act('withdraw', { reason: 'did not return after two no-shows' });
    expect(c.view()).toMatchObject({ status: 'withdrawn', endReason: 'withdrawn: did not return after two no-shows' });
  });
});

describe('change of clinician', () => {
  test('sets the primary clinician, on the timeline and the course row', () => {
    const c = new Course('kap-office', { primaryClinicianId: 'staff-1' });
    c.out();
    expect(c.act('change-clinician', { clinicianId: 'staff-2', reason: 'handover' }).outcome).toBe('changed');
    const out = c.out();
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'clinician.changed', detail: { from: 'staff-1', to: 'staff-2', reason: 'handover' } })]);
    expect(out.projection!.course!.primaryClinicianId).toBe('staff-2');
    expect(c.view().primaryClinicianId).toBe('staff-2');
  });

  test('needs a clinician, and a different one', () => {
    const c = new Course('kap-office', { primaryClinicianId: 'staff-1' });
    expect(c.reject('change-clinician', { clinicianId: '' }).type).toBe('InvalidInput');
    expect(c.reject('change-clinician', { clinicianId: 'staff-1' })).toMatchObject({ type: 'InvalidTransition', message: "staff-1 is already the course's clinician" });
  });
});

describe('maintenance decision', () => {
  const atDecision = (id: 'iv-series' | 'kap-office' = 'iv-series', p?: ReturnType<typeof withStep>) => {
    const c = new Course(id, p ? { protocol: p } : {}).throughDoses();
    c.finish('post-course-assessment');
    c.out();
    return c;
  };

  test('not before the post-course assessment', () => {
    const c = new Course('iv-series').throughDoses();
    expect(c.reject('maintenance-decision', { decision: 'complete' })).toMatchObject({ type: 'InvalidTransition', message: 'maintenance-decision is not open yet: waiting for post-course-assessment (Post-series assessment)' });
  });

  test('an unknown decision is InvalidInput', () => {
    expect(atDecision().reject('maintenance-decision', { decision: 'later' }).type).toBe('InvalidInput');
  });

  test('complete: the step is done; the course waits for its follow-ups', () => {
    const c = atDecision();
    expect(c.act('maintenance-decision', { decision: 'complete', reason: 'remission' }).outcome).toBe('complete');
    const out = c.out();
    expect(rows(out, 'event')[0]).toMatchObject({ type: 'maintenance.complete', detail: { reason: 'remission' } });
    expect(c.view()).toMatchObject({ status: 'active', maintenance: 'complete' });
  });

  test('maintenance: the course ends "maintenance" once the follow-ups are in', () => {
    const c = atDecision();
    c.act('maintenance-decision', { decision: 'maintenance' });
    for (const d of [30, 90, 180]) {
      c.wakeUntil(c.m.state.courseEndAt! + d * DAY);
      c.finish(`followup-${d}d`);
    }
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'maintenance' });
  });

  test('a protocol without boosters refuses maintenance', () => {
    const p = withStep('iv-series', 'completion', { id: 'note', name: 'Note', kind: 'task', owner: 'coordinator', deadlineHours: 24 }, (raw) => {
      (raw.maintenance as { boostersOffered: boolean }).boostersOffered = false;
    });
    const c = new Course('iv-series', { protocol: p }).throughDoses();
    c.finish('post-course-assessment');
    expect(c.reject('maintenance-decision', { decision: 'maintenance' })).toMatchObject({ type: 'ClinicallyRefused', message: 'this protocol does not offer maintenance boosters' });
  });
});

describe('tasks', () => {
  const withTask = () => withStep('kap-office', 'intake', { id: 'care-plan', name: 'Care plan written', kind: 'task', owner: 'coordinator', deadlineHours: 48 });

  test('a task step opens in order, escalates like any step, and is completed by task-complete with its outcome', () => {
    const c = new Course('kap-office', { protocol: withTask() });
    c.finish('screening');
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('clearance', { decision: 'approved' });
    c.act('consent', { documentVersion: 'v1', signedByClient: true });
    expect(c.step('care-plan')).toMatchObject({ status: 'open', owner: 'coordinator', deadlineAt: iso(c.now + 48 * H) });
    expect(c.status('prep-1')).toBe('pending');
    expect(c.reject('task-complete', { stepKey: 'consent' }).type).toBe('InvalidInput');
    c.out();
    expect(c.act('task-complete', { stepKey: 'care-plan', outcome: 'written' }).outcome).toBe('done');
    const out = c.out();
    expect(rows(out, 'event')[0]).toMatchObject({ type: 'task.completed', stepKey: 'care-plan', detail: { outcome: 'written' } });
    expect(c.step('care-plan')).toMatchObject({ status: 'done', outcome: 'written' });
    expect(c.status('prep-1')).toBe('open');
    expect(c.reject('task-complete', { stepKey: 'care-plan' }).message).toBe('care-plan is already done (written)');
  });
});

describe('REMS monitoring form (Spravato)', () => {
  const afterDose = () => {
    const c = new Course('spravato-rems').readyToDose();
    c.doseDay('dose-1', 1);
    c.out();
    return c;
  };

  test('opens at discharge, pre-filled from the session, due within the REMS 7 days; it does not hold up the course', () => {
    const c = new Course('spravato-rems').readyToDose().scheduledDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    c.act('dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'LOT-5' });
    const doseAt = c.now;
    c.to(doseAt + 40 * MIN);
    c.act('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 134, diastolic: 86 } });
    c.to(doseAt + 125 * MIN);
    c.out();
    c.act('discharge', { stepKey: 'dose-1', ...DISCHARGE });
    const out = c.out();
    expect(stepStates(out)).toMatchObject({ 'integration-1': 'open', 'rems-form-1': 'open' });
    expect(rows(out, 'rems-form')).toEqual([
      expect.objectContaining({ id: 'c1/rems-form-1', sessionStepKey: 'dose-1', firstTreatment: true, doseMg: 56, lotNumber: 'LOT-5', bpPre: '122/78', bp40: '134/86', bpDischarge: '124/80', monitoringMinutes: 125, dueAt: iso(c.now + 168 * H), submittedAt: null }),
    ]);
    expect(c.step('rems-form-1').deadlineAt).toBe(iso(c.now + 120 * H));
    c.act('session-complete', { stepKey: 'integration-1' });
    expect(c.status('dose-2')).toBe('open');
    expect(c.m.current().currentStep).toBe('dose-2');
  });

  test('the form needs a lot, a dose and every yes/no; a submission completes it', () => {
    const c = afterDose();
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, lotNumber: '' }).type).toBe('InvalidInput');
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 0 }).type).toBe('InvalidInput');
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, sedation: 'no' }).type).toBe('InvalidInput');
    expect(c.reject('rems-form', { stepKey: 'dose-1', ...REMS_FORM }).type).toBe('InvalidInput');
    // The session's dose and lot (56 mg, L1): a different one is refused (rems-form-matches-session.test.ts).
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM }).outcome).toBe('submitted');
    const out = c.out();
    expect(rows(out, 'rems-form')).toEqual([expect.objectContaining({ doseMg: 56, lotNumber: 'L1', dissociation: true, submittedAt: iso(c.now) })]);
    expect(c.status('rems-form-1')).toBe('done');
  });

  test('past its deadline it escalates to the coordinator (its owner)', () => {
    const c = afterDose();
    c.act('session-complete', { stepKey: 'integration-1' });
    const deadline = Date.parse(c.step('rems-form-1').deadlineAt!);
    c.out();
    c.wakeUntil(deadline + 1);
    expect(notes(c.out(), 'step-escalation').map((n) => [n.key, n.recipient])).toEqual([['c1/rems-form-1/d0/escalation-0', { kind: 'role', role: 'coordinator' }]]);
    void DAY;
  });

  test('unfiled at its 7-day due date it is late at that moment, once: the machine wakes for it whatever the escalation ladder says', () => {
    const c = afterDose();
    c.act('session-complete', { stepKey: 'integration-1' });
    const due = Date.parse(c.step('rems-form-1').openedAt!) + 168 * H;
    c.out();
    const wakes = c.wakeUntil(due + 3 * DAY);
    expect(wakes).toContain(due);
    const late = rows(c.out(), 'event').filter((e) => e.type === 'rems-form.late');
    expect(late.map((e) => [e.stepKey, e.at, e.detail.dueAt, e.detail.sessionStepKey])).toEqual([['rems-form-1', iso(due), iso(due), 'dose-1']]);
    c.wakeUntil(due + 10 * DAY);
    expect(eventTypes(c.out())).not.toContain('rems-form.late');
    // Filing it late still completes it.
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM }).outcome).toBe('submitted');
    expect(c.status('rems-form-1')).toBe('done');
  });

  test('filed before its due date it is never late, and the machine does not wake for it', () => {
    const c = afterDose();
    const due = Date.parse(c.step('rems-form-1').openedAt!) + 168 * H;
    c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM });
    c.act('session-complete', { stepKey: 'integration-1' });
    c.out();
    const wakes = c.wakeUntil(due + DAY);
    expect(wakes).not.toContain(due);
    expect(eventTypes(c.out())).not.toContain('rems-form.late');
  });
});
