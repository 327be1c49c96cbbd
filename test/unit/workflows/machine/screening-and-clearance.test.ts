// Screening, medical clearance, REMS enrolment and consent: every rule of the intake actions.
import { COORDINATOR, Course, DAY, H, NO_HARD_STOPS, NO_REVIEW_ITEMS, PRESCRIBER, eventTypes, iso, notes, protocol, rows, stepStates, T0 } from './helpers';

describe('a new course', () => {
  test('opens screening with its deadline, asks for the baseline assessment and projects the course', () => {
    const c = new Course();
    const out = c.out();
    expect(c.m.current()).toEqual({ currentStep: 'screening', currentStepDeadline: iso(T0 + 168 * H) });
    expect(out.startAssessments.map((a) => [a.assessmentId, a.stepKey, a.instruments, a.trigger])).toEqual([['c1/screening', 'screening', ['phq9', 'gad7', 'pcl5', 'cssrs'], 'scheduled']]);
    expect(out.startAssessments[0]).toMatchObject({ courseId: 'c1', reminders: { everyHours: 24, count: 3 }, expiryHours: 96, timeScale: 1, safetyAlertRoles: ['prescriber', 'therapist'] });
    expect(stepStates(out)).toEqual({ screening: 'open' });
    expect(eventTypes(out)).toEqual(['course.started', 'step.opened']);
    expect(out.projection!.course).toMatchObject({ status: 'active', currentStep: 'screening', riskLevel: 'none', endedAt: null });
    expect(out.notifications).toEqual([]);
  });

  test('actions of later steps are refused, naming what the course waits for', () => {
    const c = new Course();
    expect(c.reject('clearance', { decision: 'approved' })).toMatchObject({ type: 'InvalidTransition', message: 'clearance is not open yet: waiting for screening (Screening and intake)' });
    expect(c.reject('consent', { documentVersion: 'v1', signedByClient: true })).toMatchObject({ type: 'InvalidTransition', message: 'consent is not open yet: waiting for screening (Screening and intake)' });
    expect(c.reject('session-complete', { stepKey: 'prep-1' })).toMatchObject({ type: 'InvalidTransition', message: 'prep-1 is not open yet: waiting for screening (Screening and intake)' });
  });
});

describe('screening', () => {
  test('all hard stops answered no: eligible, clearance opens with its 72 h deadline', () => {
    const c = new Course();
    c.out();
    const r = c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, COORDINATOR);
    expect(r.outcome).toBe('eligible');
    const out = c.out();
    expect(stepStates(out)).toEqual({ screening: 'done', clearance: 'open' });
    expect(eventTypes(out)).toEqual(['screening.recorded', 'step.opened']);
    expect(rows(out, 'event')[0]).toMatchObject({ actorType: 'staff', actorId: 'staff-c', detail: { decision: 'eligible' } });
    expect(c.step('clearance')).toMatchObject({ status: 'open', deadlineAt: iso(T0 + 72 * H), owner: 'prescriber' });
  });

  test('an incomplete screening is refused by its schema naming every unanswered hard stop', () => {
    const c = new Course();
    const r = c.reject('screening', { hardStops: { pregnancy: false } as typeof NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(r.type).toBe('InvalidInput');
    expect(r.message).toContain('hardStops.psychotic-disorder: required: answer yes, no, or { "notAssessed": "<reason>" }');
    expect(r.message).toContain('hardStops.uncontrolled-glaucoma: required');
    expect(r.reasons.map((x) => x.code).sort()).toEqual(Object.keys(NO_HARD_STOPS).filter((k) => k !== 'pregnancy').map((k) => `hardStops.${k}`).sort());
  });

  test('a hard stop not assessed (with its reason) is a clinical incompleteness: refused naming it', () => {
    const c = new Course();
    const r = c.reject('screening', { hardStops: { ...NO_HARD_STOPS, pregnancy: { notAssessed: 'test pending' } }, reviewItems: NO_REVIEW_ITEMS });
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toMatch(/^screening is incomplete: /);
    expect(r.message).toContain('Not assessed: Pregnancy (test pending)');
  });

  test('malformed input is InvalidInput', () => {
    const c = new Course();
    expect(c.reject('screening', { reviewItems: NO_REVIEW_ITEMS }).type).toBe('InvalidInput');
    expect(c.reject('screening', 'yes').type).toBe('InvalidInput');
  });

  test('a hard stop ends the course ineligible, cancels the baseline assessment and closes the course row', () => {
    const c = new Course();
    c.out();
    const r = c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'psychotic-disorder': true }, reviewItems: NO_REVIEW_ITEMS });
    expect(r.outcome).toBe('ineligible');
    expect(r.reasons!.map((x) => x.code)).toContain('hard-stop:psychotic-disorder');
    const out = c.out();
    expect(c.m.finished).toBe(true);
    expect(c.view()).toMatchObject({ status: 'ineligible', endReason: 'ineligible: hard-stop:psychotic-disorder', endedAt: iso(T0), currentStep: null });
    expect(out.cancelAssessments).toEqual(['c1/screening']);
    expect(out.projection!.course).toMatchObject({ status: 'ineligible', endReason: 'ineligible: hard-stop:psychotic-disorder', currentStep: null, endedAt: iso(T0) });
    expect(eventTypes(out)).toEqual(['screening.recorded', 'course.ineligible']);
    expect(c.status('screening')).toBe('done');
    expect(c.m.nextWakeAt(c.now)).toBeNull();
    // An ended course takes no more actions.
    expect(c.reject('clearance', { decision: 'approved' })).toMatchObject({ type: 'InvalidTransition', message: 'the course is ineligible (ineligible: hard-stop:psychotic-disorder)' });
  });

  test('suicidal ideation with intent: ineligible, and a high suicide-risk item stays open for a review, alerting both clinicians', () => {
    const c = new Course();
    c.out();
    c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, reviewItems: NO_REVIEW_ITEMS });
    const out = c.out();
    expect(c.view().status).toBe('ineligible');
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ id: 'c1/screening/screening-risk-suicidal-ideation-with-intent', kind: 'screening-risk', level: 'high', suicideRisk: true, closesWhen: 'a clinician reviews it' })]);
    expect(c.view().safetyHolds[0]!.reason).toBe('Screening: active suicidal ideation with intent (the course is ineligible)');
    expect(notes(out, 'safety-alert').map((n) => [n.key, n.recipient])).toEqual([
      ['c1/screening/screening-risk-suicidal-ideation-with-intent/alert-prescriber', { kind: 'role', role: 'prescriber' }],
      ['c1/screening/screening-risk-suicidal-ideation-with-intent/alert-therapist', { kind: 'role', role: 'therapist' }],
    ]);
    expect(rows(out, 'safety-event')).toEqual([expect.objectContaining({ kind: 'screening-risk', resolvedAt: null })]);
    expect(out.projection!.course!.riskLevel).toBe('high');
  });

  test("a prescriber's override of a hard stop keeps the course going; without an actor it is refused", () => {
    const c = new Course();
    const glaucoma = { hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, reviewItems: NO_REVIEW_ITEMS, overrides: [{ hardStop: 'uncontrolled-glaucoma' as const, reason: 'pressure controlled' }] };
    const noActor = c.reject('screening', glaucoma, null);
    expect(noActor.type).toBe('InvalidInput');
    expect(noActor.message).toMatch(/overrides/);
    const r = c.act('screening', glaucoma, PRESCRIBER);
    expect(r.outcome).toBe('eligible');
    expect(r.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop-overridden:uncontrolled-glaucoma', message: expect.stringContaining('overridden by prescriber staff-p') }));
    expect(rows(c.out(), 'event').find((x) => x.type === 'hard-stop.overridden')).toMatchObject({ actorType: 'staff', actorId: 'staff-p', detail: { accepted: true, reason: 'pressure controlled' }, by: { role: 'prescriber', label: 'Dr P' } });
    expect(c.status('clearance')).toBe('open');
  });

  test("an override is judged on the actor's role: a coordinator's is refused, and the refusal recorded", () => {
    const c = new Course();
    c.out();
    const r = c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, reviewItems: NO_REVIEW_ITEMS, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason: 'letter' }] }, COORDINATOR);
    expect(r.outcome).toBe('ineligible');
    const e = rows(c.out(), 'event');
    expect(e.find((x) => x.type === 'hard-stop.override-refused')).toMatchObject({ actorType: 'staff', actorId: 'staff-c', detail: { hardStop: 'uncontrolled-glaucoma', byRole: 'coordinator', accepted: false } });
    expect(e.some((x) => x.type === 'hard-stop.overridden')).toBe(false);
  });

  test("the protocol's hardStopOverrideRoles decide: a protocol naming only admins refuses a prescriber", () => {
    const base = protocol('kap-office');
    const c = new Course('kap-office', { protocol: { ...base, safety: { ...base.safety, hardStopOverrideRoles: ['admin'] } } });
    const r = c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, reviewItems: NO_REVIEW_ITEMS, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason: 'letter' }] }, PRESCRIBER);
    expect(r.outcome).toBe('ineligible');
  });

  test('who acted: a staff member, a token without one (recorded as the token), or no actor (the engine)', () => {
    const c = new Course();
    c.out();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, { role: 'coordinator', tokenId: 'tok-1', label: 'intake system' });
    expect(rows(c.out(), 'event').find((x) => x.type === 'screening.recorded')).toMatchObject({ actorType: 'token', actorId: 'tok-1', by: { role: 'coordinator', tokenId: 'tok-1', label: 'intake system' } });
    c.act('pause', { reason: 'travel' }, null);
    expect(rows(c.out(), 'event').find((x) => x.type === 'course.paused')).toMatchObject({ actorType: 'system', actorId: null });
    c.act('resume', {}, PRESCRIBER);
    expect(rows(c.out(), 'event').find((x) => x.type === 'course.resumed')).toMatchObject({ actorType: 'staff', actorId: 'staff-p', by: { role: 'prescriber', label: 'Dr P' } });
  });

  test('a review item asks the prescriber for a reason: approval without one is refused, with one it clears', () => {
    const c = new Course();
    expect(c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: { ...NO_REVIEW_ITEMS, 'bipolar-disorder': true } }).outcome).toBe('needs-review');
    const r = c.reject('clearance', { decision: 'approved' });
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toBe('screening asked for prescriber review (review:bipolar-disorder): record the reason for approving');
    expect(c.act('clearance', { decision: 'approved', reason: 'euthymic for 3 years on lithium' }).outcome).toBe('approved');
    expect(c.status('clearance')).toBe('done');
  });

  test("the client's own baseline answers count at screening: C-SSRS high makes the course ineligible, PHQ-9 item 9 > 0 or C-SSRS moderate asks for review", () => {
    const high = new Course();
    high.finish('screening', { risk: 'high' });
    const r = high.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(r.outcome).toBe('ineligible');
    expect(r.reasons!.map((x) => x.code)).toContain('hard-stop:suicidal-ideation-with-intent');
    const item9 = new Course();
    item9.finish('screening', { item9: 1 });
    const r2 = item9.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(r2.outcome).toBe('needs-review');
    expect(r2.reasons!.map((x) => x.code)).toContain('review:phq9-item9');
    expect(item9.reject('clearance', { decision: 'approved' }).message).toMatch(/review:phq9-item9/);
    const moderate = new Course();
    moderate.finish('screening', { risk: 'moderate' });
    expect(moderate.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }).reasons!.map((x) => x.code)).toContain('review:cssrs-moderate');
  });

  test('an unknown action is InvalidInput, and so is an input that is not an object', () => {
    const c = new Course();
    expect(c.reject('note-to-self' as never, { text: 'x' }).type).toBe('InvalidInput');
    expect(c.reject('pause', null).type).toBe('InvalidInput');
  });

  test('screening is recorded once', () => {
    const c = new Course();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(c.reject('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS })).toMatchObject({ type: 'InvalidTransition', message: 'screening is already done (eligible)' });
  });
});

describe('clearance', () => {
  const screened = () => {
    const c = new Course();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.out();
    return c;
  };

  test('a denial needs a reason (InvalidInput), and with one ends the course ineligible', () => {
    const c = screened();
    const r = c.reject('clearance', { decision: 'denied' });
    expect(r.type).toBe('InvalidInput');
    expect(r.message).toMatch(/reason/);
    expect(c.act('clearance', { decision: 'denied', reason: 'cardiology advises against' }).outcome).toBe('denied');
    expect(c.view()).toMatchObject({ status: 'ineligible', endReason: 'clearance-denied: cardiology advises against' });
    const out = c.out();
    expect(eventTypes(out)).toEqual(['clearance.denied', 'course.ineligible']);
    expect(rows(out, 'event').find((e) => e.type === 'course.ineligible')).toMatchObject({ actorType: 'staff', actorId: 'staff-p' });
  });

  test('an unknown decision is InvalidInput', () => {
    expect(screened().reject('clearance', { decision: 'maybe' }).type).toBe('InvalidInput');
  });

  test('needs-records keeps the step open with that outcome; a later approval completes it', () => {
    const c = screened();
    expect(c.act('clearance', { decision: 'needs-records' }).outcome).toBe('needs-records');
    expect(c.step('clearance')).toMatchObject({ status: 'open', outcome: 'needs-records' });
    expect(c.status('consent')).toBe('pending');
    c.advance(DAY);
    c.act('clearance', { decision: 'approved' });
    expect(c.step('clearance')).toMatchObject({ status: 'done', outcome: 'approved', completedAt: iso(T0 + DAY) });
    expect(c.status('consent')).toBe('open');
  });

  test('no dosing before medical clearance, nor before consent', () => {
    const c = new Course();
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' })).toMatchObject({ type: 'InvalidTransition', message: 'no dosing before medical clearance: clearance is pending' });
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('clearance', { decision: 'approved' });
    expect(c.reject('pre-dose-check', { stepKey: 'dose-1', bloodPressure: { systolic: 120, diastolic: 80 }, escortConfirmed: true })).toMatchObject({ type: 'InvalidTransition', message: 'no dosing before informed consent: consent is open' });
  });
});

describe('consent', () => {
  const cleared = (protocolId: 'kap-office' | 'spravato-rems' = 'kap-office') => {
    const c = new Course(protocolId);
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('clearance', { decision: 'approved' });
    c.out();
    return c;
  };

  test('must be signed by the client; the document version is required', () => {
    const c = cleared();
    expect(c.reject('consent', { documentVersion: 'v1', signedByClient: false })).toMatchObject({ type: 'ClinicallyRefused', message: 'informed consent must be signed by the client' });
    const r = c.reject('consent', { documentVersion: '  ', signedByClient: true });
    expect(r.type).toBe('InvalidInput');
    expect(r.message).toMatch(/documentVersion/);
  });

  test('signed: a treatment consent row, preparation opens', () => {
    const c = cleared();
    expect(c.act('consent', { documentVersion: 'v3', signedByClient: true }).outcome).toBe('signed');
    const out = c.out();
    expect(rows(out, 'consent')).toEqual([expect.objectContaining({ id: 'c1/consent', kind: 'treatment', documentVersion: 'v3', signedByClientAt: iso(T0), prescriberSignedAt: null })]);
    expect(stepStates(out)).toMatchObject({ consent: 'done', 'prep-1': 'open' });
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ id: 'c1/prep-1', status: 'unscheduled', kind: 'preparation' })]);
  });

  test('Spravato: REMS enrolment comes before consent and must be an enrolment; the prescriber signs the consent too', () => {
    const c = cleared('spravato-rems');
    expect(c.reject('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true })).toMatchObject({ type: 'InvalidTransition', message: 'consent is not open yet: waiting for rems-enrollment (REMS patient enrollment)' });
    expect(c.reject('rems-enrollment', { enrolled: false })).toMatchObject({ type: 'ClinicallyRefused', message: 'the client must be enrolled in the REMS before treatment (enrolled: true)' });
    expect(c.act('rems-enrollment', { enrolled: true, remsPatientId: 'R-9' }).outcome).toBe('enrolled');
    expect(rows(c.out(), 'event')[0]).toMatchObject({ type: 'rems.enrolled', detail: { remsPatientId: 'R-9' } });
    expect(c.reject('consent', { documentVersion: 'v1', signedByClient: true })).toMatchObject({ type: 'ClinicallyRefused', message: 'under the Spravato REMS the prescriber must sign the consent too' });
    c.act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
    expect(rows(c.out(), 'consent')).toEqual([expect.objectContaining({ kind: 'treatment-and-rems', prescriberSignedAt: iso(T0), prescriberId: 'staff-p' })]);
  });

  test('protocols without a REMS have no enrolment step', () => {
    const c = cleared();
    expect(c.reject('rems-enrollment', { enrolled: true })).toMatchObject({ type: 'InvalidTransition', message: 'this protocol (kap-office@1) has no rems-enrollment step' });
  });
});
