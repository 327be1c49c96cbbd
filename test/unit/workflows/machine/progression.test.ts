// Progression: the order steps open in, deadlines, overdue and the escalation ladder, reminders
// before sessions, follow-ups anchored on the course's end, completion, the time scale, and the
// state carried across continue-as-new.
import { CourseMachine, Course, DAY, H, NO_HARD_STOPS, NO_REVIEW_ITEMS, PROTOCOL_IDS, eventTypes, iso, notes, protocol, rows, stepStates, T0, withStep } from './helpers';

describe('step opening order', () => {
  test.each(PROTOCOL_IDS)('%s: the main line opens one step at a time, in plan order', (id) => {
    const c = new Course(id);
    const opened: string[] = [];
    const seen = (): void => {
      for (const s of c.view().steps) if (s.status !== 'pending' && !opened.includes(s.id)) opened.push(s.id);
    };
    seen();
    c.intake();
    seen();
    for (let n = 1; n <= c.p.course.preparationSessions; n++) {
      c.act('session-complete', { stepKey: `prep-${n}` });
      seen();
    }
    c.doseDay('dose-1', 1);
    seen();
    c.act('session-complete', { stepKey: 'integration-1' });
    seen();
    const intake = ['screening', 'clearance', ...(c.p.rems ? ['rems-enrollment'] : []), 'consent'];
    const prep = Array.from({ length: c.p.course.preparationSessions }, (_, k) => `prep-${k + 1}`);
    expect(opened).toEqual([...intake, ...prep, 'dose-1', 'integration-1', ...(c.p.rems ? ['rems-form-1'] : []), 'dose-2']);
    // Everything later is still pending.
    expect(c.view().steps.filter((s) => s.status === 'pending').map((s) => s.id)).toContain(`dose-${c.p.course.dosingSessions}`);
  });

  test('current step: the first open main-line step; the REMS form is a side branch', () => {
    const c = new Course('spravato-rems').readyToDose();
    c.doseDay('dose-1', 1);
    expect(c.m.current().currentStep).toBe('integration-1');
    expect(c.status('rems-form-1')).toBe('open');
  });
});

describe('deadlines', () => {
  test("a step's deadline counts from its opening, in protocol hours", () => {
    const c = new Course();
    c.advance(5 * H);
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(c.step('clearance')).toMatchObject({ openedAt: iso(T0 + 5 * H), deadlineAt: iso(T0 + 5 * H + 72 * H) });
    c.act('clearance', { decision: 'approved' });
    expect(c.step('consent').deadlineAt).toBe(iso(T0 + 5 * H + 168 * H));
  });

  test('an integration step has the protocol integration window; a later dose its target day + its deadline', () => {
    const c = new Course('iv-series').readyToDose();
    c.doseDay('dose-1', 1);
    expect(c.step('integration-1').deadlineAt).toBe(iso(c.now + 72 * H));
    c.act('session-complete', { stepKey: 'integration-1' });
    const first = c.m.state.firstDoseAt!;
    expect(c.step('dose-2')).toMatchObject({ status: 'open', deadlineAt: iso(first + 2 * DAY + 72 * H) });
    expect(c.out().projection!.steps.find((s) => s.stepKey === 'dose-2')!.detail).toMatchObject({ targetAt: iso(first + 2 * DAY) });
  });
});

describe('overdue and the escalation ladder', () => {
  const screened = () => {
    const c = new Course();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.out();
    return c;
  };

  test('clearance past its deadline: overdue, escalated to the prescriber, a day later the coordinator, at 72 h the admin', () => {
    const c = screened();
    const deadline = T0 + 72 * H;
    expect(c.m.nextWakeAt(c.now)).toBe(deadline + 1);
    c.to(deadline);
    expect(c.step('clearance').overdue).toBe(false);
    expect(c.out().notifications).toEqual([]);
    c.to(deadline + 1);
    let out = c.out();
    expect(notes(out).map((n) => [n.key, n.template, n.recipient, n.data])).toEqual([['c1/clearance/d0/escalation-0', 'step-escalation', { kind: 'role', role: 'prescriber' }, { stepKey: 'clearance', deadlineAt: iso(deadline), level: 0 }]]);
    expect(eventTypes(out)).toEqual(['step.overdue', 'step.escalated']);
    expect(out.projection!.steps).toEqual([expect.objectContaining({ stepKey: 'clearance', state: 'overdue', escalationLevel: 1 })]);
    expect(c.step('clearance')).toMatchObject({ overdue: true, escalationLevel: 1 });
    expect(c.m.nextWakeAt(c.now)).toBe(deadline + 24 * H + 1);
    c.to(deadline + 24 * H);
    expect(c.out().notifications).toEqual([]);
    c.to(deadline + 24 * H + 1);
    out = c.out();
    expect(notes(out).map((n) => [n.key, n.recipient])).toEqual([['c1/clearance/d0/escalation-1', { kind: 'role', role: 'coordinator' }]]);
    expect(eventTypes(out)).toEqual(['step.escalated']);
    expect(c.m.nextWakeAt(c.now)).toBe(deadline + 72 * H + 1);
    c.to(deadline + 72 * H + 1);
    expect(notes(c.out()).map((n) => [n.key, n.recipient])).toEqual([['c1/clearance/d0/escalation-2', { kind: 'role', role: 'admin' }]]);
    // The ladder is done: nothing more to wake for on this step.
    expect(c.m.nextWakeAt(c.now)).toBeNull();
    c.advance(30 * DAY);
    expect(c.out().notifications).toEqual([]);
    // The late decision still counts: the step is done, no longer overdue.
    c.act('clearance', { decision: 'approved' });
    expect(c.out().projection!.steps.find((s) => s.stepKey === 'clearance')).toMatchObject({ state: 'done', escalationLevel: 3 });
    expect(c.step('clearance').overdue).toBe(false);
  });

  test('a tick long after the deadline sends every level due at once, in order, each once', () => {
    const c = screened();
    c.to(T0 + 200 * H);
    expect(notes(c.out()).map((n) => n.data.level)).toEqual([0, 1, 2]);
    c.to(T0 + 201 * H);
    expect(c.out().notifications).toEqual([]);
  });

  test("the ladder follows the protocol's afterBreachHours and roles", () => {
    const p = withStep('kap-office', 'intake', { id: 'note', name: 'Note', kind: 'task', owner: 'therapist', deadlineHours: 10 }, (raw) => {
      raw.escalation = { levels: [{ afterBreachHours: 2, notify: 'owner' }, { afterBreachHours: 5, notify: 'admin' }], safetyAlertRoles: ['prescriber'] };
    });
    const c = new Course('kap-office', { protocol: p }).intake();
    c.out();
    const deadline = Date.parse(c.step('note').deadlineAt!);
    expect(deadline).toBe(c.now + 10 * H);
    expect(c.wakeUntil(deadline + 6 * H)).toEqual([deadline + 2 * H + 1, deadline + 5 * H + 1]);
    expect(notes(c.out(), 'step-escalation').map((n) => [n.key, n.recipient])).toEqual([
      ['c1/note/d0/escalation-0', { kind: 'role', role: 'therapist' }],
      ['c1/note/d0/escalation-1', { kind: 'role', role: 'admin' }],
    ]);
  });

  test("a client's step (consent) escalates to the coordinator", () => {
    const c = screened();
    c.act('clearance', { decision: 'approved' });
    c.out();
    c.wakeUntil(T0 + 168 * H + 1);
    expect(notes(c.out(), 'step-escalation').map((n) => [n.key, n.recipient])).toEqual([['c1/consent/d0/escalation-0', { kind: 'role', role: 'coordinator' }]]);
  });

  test('assessment steps are never escalated (their own child reminds and expires)', () => {
    const c = new Course('iv-series').throughDoses();
    c.out();
    c.wakeUntil(c.now + 60 * DAY);
    expect(notes(c.out(), 'step-escalation').map((n) => n.data.stepKey)).not.toContain('post-course-assessment');
  });

  test('a new deadline (a session scheduled past it) restarts the ladder with a new key', () => {
    const c = new Course().intake();
    c.wakeUntil(c.now + 337 * H);
    expect(notes(c.out(), 'step-escalation').map((n) => n.key)).toEqual(['c1/prep-1/d0/escalation-0']);
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 48 });
    expect(c.step('prep-1')).toMatchObject({ overdue: false, escalationLevel: 0, deadlineAt: iso(c.now + 72 * H) });
    c.out();
    c.wakeUntil(c.now + 72 * H + 1);
    expect(notes(c.out(), 'step-escalation').map((n) => n.key)).toEqual(['c1/prep-1/d1/escalation-0']);
  });
});

describe('reminders before sessions', () => {
  test('48 h and 24 h before a preparation session, to the client, once each', () => {
    const c = new Course().intake();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 72 });
    c.out();
    expect(c.wakeUntil(T0 + 72 * H)).toEqual([T0 + 24 * H, T0 + 48 * H]);
    const out = notes(c.out(), 'appointment-reminder');
    expect(out.map((n) => [n.key, n.recipient, n.data])).toEqual([
      ['c1/prep-1/s1/reminder-48h', { kind: 'client' }, { sessionKey: 'prep-1', startsAt: iso(T0 + 72 * H), kind: 'preparation', hoursBefore: 48, dayBeforeDosing: false }],
      ['c1/prep-1/s1/reminder-24h', { kind: 'client' }, { sessionKey: 'prep-1', startsAt: iso(T0 + 72 * H), kind: 'preparation', hoursBefore: 24, dayBeforeDosing: false }],
    ]);
  });

  test.each(PROTOCOL_IDS)('%s: the day before dosing the reminder carries the fasting, escort and driving rules', (id) => {
    const c = new Course(id).readyToDose();
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 72 });
    c.out();
    c.wakeUntil(c.now + 72 * H);
    const r = notes(c.out(), 'appointment-reminder');
    const f = protocol(id).safety;
    expect(r.map((n) => n.key)).toEqual(['c1/dose-1/s1/reminder-48h', 'c1/dose-1/s1/reminder-24h']);
    expect(r[0]!.data).toEqual(expect.objectContaining({ dayBeforeDosing: false }));
    expect(r[0]!.data).not.toHaveProperty('fastingFoodHours');
    expect(r[1]!.data).toEqual(expect.objectContaining({ kind: 'dosing', dayBeforeDosing: true, fastingFoodHours: f.fasting.foodHours, fastingClearLiquidsHours: f.fasting.clearLiquidsHours, escortRequired: f.escortRequired, noDrivingHours: f.noDrivingHours }));
  });

  test('a rescheduled session is reminded again under new keys; reminders already past when scheduled are not sent', () => {
    const c = new Course().intake();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 30 });
    c.out();
    c.wakeUntil(T0 + 30 * H);
    expect(notes(c.out()).map((n) => n.key)).toEqual(['c1/prep-1/s1/reminder-24h']);
    c.act('no-show', { stepKey: 'prep-1' });
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 50 });
    c.out();
    c.wakeUntil(c.now + 50 * H);
    expect(notes(c.out(), 'appointment-reminder').map((n) => n.key)).toEqual(['c1/prep-1/s2/reminder-48h', 'c1/prep-1/s2/reminder-24h']);
  });

  test('no reminder for a session no longer scheduled (no-show before the reminder time)', () => {
    const c = new Course().intake();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 100 });
    c.act('no-show', { stepKey: 'prep-1' });
    c.out();
    c.wakeUntil(c.now + 100 * H);
    expect(notes(c.out(), 'appointment-reminder')).toEqual([]);
  });
});

describe('follow-ups, anchored on the end of the course', () => {
  test('the course ends at the last discharge; follow-ups open 30, 90 and 180 days later whatever else is open', () => {
    const c = new Course('iv-series').throughDoses();
    const end = c.m.state.courseEndAt!;
    expect(c.view().courseEndAt).toBe(iso(end));
    expect(c.status('post-course-assessment')).toBe('open');
    expect(c.m.nextWakeAt(c.now)).toBeLessThanOrEqual(end + 30 * DAY);
    c.to(end + 30 * DAY - 1);
    expect(c.status('followup-30d')).toBe('pending');
    c.out();
    c.to(end + 30 * DAY);
    const out = c.out();
    expect(stepStates(out)).toEqual({ 'followup-30d': 'open' });
    expect(out.startAssessments.map((a) => [a.assessmentId, a.instruments])).toEqual([['c1/followup-30d', ['phq9', 'gad7', 'pcl5']]]);
    expect(c.status('followup-90d')).toBe('pending');
    expect(c.reject('send-assessment', { instruments: [] }).type).toBe('InvalidInput');
  });

  test('nextWakeAt names the next follow-up date when nothing else is due', () => {
    const c = new Course('iv-series').throughDoses();
    c.finish('post-course-assessment');
    c.act('maintenance-decision', { decision: 'complete' });
    const end = c.m.state.courseEndAt!;
    c.wakeUntil(end + 30 * DAY);
    c.finish('followup-30d');
    expect(c.m.nextWakeAt(c.now)).toBe(end + 90 * DAY);
  });
});

describe('completion', () => {
  test('the course completes when its last step is done: course-complete, no current step, no more wakes', () => {
    const c = new Course('iv-series').throughDoses();
    c.finish('post-course-assessment');
    c.act('maintenance-decision', { decision: 'complete' });
    const end = c.m.state.courseEndAt!;
    for (const d of [30, 90]) {
      c.wakeUntil(end + d * DAY);
      c.finish(`followup-${d}d`);
    }
    expect(c.view().status).toBe('active');
    c.wakeUntil(end + 180 * DAY);
    c.out();
    c.finish('followup-180d');
    const out = c.out();
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'course-complete', currentStep: null, endedAt: iso(c.now) });
    expect(eventTypes(out)).toEqual(['assessment.completed', 'course.completed']);
    expect(out.projection!.course).toMatchObject({ status: 'completed', endReason: 'course-complete', currentStep: null });
    expect(c.m.finished).toBe(true);
    expect(c.m.nextWakeAt(c.now)).toBeNull();
    expect(c.view().steps.every((s) => s.status === 'done')).toBe(true);
  });

  test('a missed follow-up still completes its step (missed), and the coordinator is told', () => {
    const c = new Course('iv-series').throughDoses();
    c.finish('post-course-assessment');
    c.act('maintenance-decision', { decision: 'complete' });
    const end = c.m.state.courseEndAt!;
    for (const d of [30, 90, 180]) {
      c.wakeUntil(end + d * DAY);
      c.finish(`followup-${d}d`, { status: d === 180 ? 'missed' : 'completed' });
    }
    expect(c.step('followup-180d').outcome).toBe('missed');
    expect(c.view().status).toBe('completed');
    expect(notes(c.out(), 'course-notice').map((n) => n.key)).toContain('c1/followup-180d/missed-notice');
  });
});

describe('time scale', () => {
  test('at 86400 (a protocol day per second) the 336 h preparation deadline is 14 s and escalates then', () => {
    const c = new Course('kap-office', { timeScale: 86400 }).intake();
    expect(c.step('prep-1').deadlineAt).toBe(iso(T0 + 14_000));
    c.out();
    expect(c.m.nextWakeAt(c.now)).toBe(T0 + 14_001);
    c.to(T0 + 15_000);
    expect(c.step('prep-1').overdue).toBe(true);
    expect(c.out().projection!.steps).toEqual([expect.objectContaining({ stepKey: 'prep-1', state: 'overdue' })]);
  });

  test('at 24 (a protocol day per hour) the ladder runs in hours: prescriber at 3 h, coordinator at 4 h', () => {
    const c = new Course('kap-office', { timeScale: 24 });
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.out();
    expect(c.m.nextWakeAt(T0)).toBe(T0 + 3 * H + 1);
    c.to(T0 + 3 * H + 1);
    expect(c.out().notifications.map((n) => [n.template, n.recipient])).toEqual([['step-escalation', { kind: 'role', role: 'prescriber' }]]);
    c.to(T0 + 4 * H + 2);
    expect(c.out().notifications.map((n) => n.recipient)).toEqual([{ kind: 'role', role: 'coordinator' }]);
  });

  test('a time scale of 0 or less is read as 1', () => {
    expect(new Course('kap-office', { timeScale: 0 }).m.state.timeScale).toBe(1);
  });
});

describe('continue-as-new: the state carried as JSON', () => {
  test('a machine rebuilt from its JSON state has the same view and goes on exactly as the original', () => {
    const a = new Course().readyToDose();
    a.act('schedule', { stepKey: 'dose-1', startsInHours: 72 });
    a.act('adverse-event', { category: 'hypertension', severity: 'severe', serious: true });
    a.out();
    const b = new CourseMachine(a.p, JSON.parse(JSON.stringify(a.m.state)));
    expect(b.view(a.now)).toEqual(a.view());
    const t = a.now + 80 * H;
    for (let w = a.m.nextWakeAt(a.now); w !== null && w <= t; w = a.m.nextWakeAt(w)) {
      expect(b.nextWakeAt(a.now)).toBe(w);
      a.to(w);
      b.tick(w);
    }
    expect(b.takeOutput()).toEqual(a.out());
    expect(b.view(a.now)).toEqual(a.view());
    void rows;
  });
});
