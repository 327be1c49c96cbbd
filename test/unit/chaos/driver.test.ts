// The chaos staff driver decides from PostgreSQL rows alone (chaos/course-state.ts snapshots): what it
// does next for each state, above all the baseline re-check, which it must decide from the timeline so
// that a lost reply never repeats an action.
import type { Client } from '@temporalio/client';
import type { Db } from '../../../src/db/connect';
import { CourseDriver, PROFILES } from '../../../chaos/driver';
import type { CourseSnapshot, FormSnapshot, StepSnapshot } from '../../../chaos/course-state';

const C = 'course-1';
const kapOffice = PROFILES.find((p) => p.name === 'kap-office-complete')!;
const withdrawn = PROFILES.find((p) => p.name === 'withdrawn-after-dose-2')!;
const paused = PROFILES.find((p) => p.name === 'paused-resumed-complete')!;

function driver(profile = kapOffice) {
  return new CourseDriver({} as Client, {} as Db, C, profile);
}

function snap(over: Partial<CourseSnapshot> = {}): CourseSnapshot {
  return { status: 'active', endReason: null, dosesGiven: 0, openSteps: [], forms: [], paused: false, triggeredSeq: new Map(), ...over };
}

function dosing(status: string, over: Partial<NonNullable<StepSnapshot['session']>> = {}): StepSnapshot {
  return { stepKey: 'dose-1', kind: 'dosing', state: 'open', session: { status, preDoseCodes: [], preDoseSeq: 0, readings: new Set(), ...over } };
}

function form(stepKey: string, over: Partial<FormSnapshot> = {}): FormSnapshot {
  return { id: `${C}/${stepKey}`, stepKey, trigger: 'staff', invited: [], instruments: ['cssrs', 'phq9'], heard: false, ...over };
}

const actionOf = (n: ReturnType<CourseDriver['next']>) => ('action' in n ? n.action : 'answer' in n ? 'answer' : 'wait');

describe('a dose held for a missing baseline', () => {
  const held = dosing('held', { preDoseCodes: ['baseline-missing', 'cssrs-missing'], preDoseSeq: 20 });

  test('no fresh form since the hold: staff send one', () => {
    const n = driver().next(snap({ openSteps: [held], forms: [form('adhoc-1', { heard: true })], triggeredSeq: new Map([['adhoc-1', 12]]) }));
    expect(n).toMatchObject({ action: 'send-assessment', input: { instruments: ['cssrs', 'phq9'] } });
  });

  test('sent after the hold, rows not written yet: wait (not a second send)', () => {
    expect(actionOf(driver().next(snap({ openSteps: [held], triggeredSeq: new Map([['adhoc-2', 21]]) })))).toBe('wait');
  });

  test('sent after the hold and still open: the client answers its open instruments', () => {
    const invited = [{ id: `${C}/adhoc-2/cssrs`, instrumentId: 'cssrs' }];
    const n = driver().next(snap({ openSteps: [held], forms: [form('adhoc-2', { invited })], triggeredSeq: new Map([['adhoc-2', 21]]) }));
    expect(n).toEqual({ answer: invited });
  });

  test('answered, the course has not heard yet: wait; once it has: the check again', () => {
    const s = (heard: boolean) => snap({ openSteps: [held], forms: [form('adhoc-2', { heard })], triggeredSeq: new Map([['adhoc-2', 21]]) });
    expect(actionOf(driver().next(s(false)))).toBe('wait');
    expect(driver().next(s(true))).toMatchObject({ action: 'pre-dose-check', input: { stepKey: 'dose-1' } });
  });

  test('held for another reason: the check is made again, no form sent', () => {
    expect(actionOf(driver().next(snap({ openSteps: [dosing('held', { preDoseCodes: ['bp-high'], preDoseSeq: 20 })] })))).toBe('pre-dose-check');
  });
});

describe('checked in, the dose refused because the baseline went out of its window since', () => {
  function refused(afterSeq: number) {
    const d = driver();
    (d as unknown as { doseRefusedForBaseline: Map<string, number> }).doseRefusedForBaseline.set('dose-1', afterSeq);
    return d;
  }

  test('not refused: the dose', () => {
    expect(actionOf(driver().next(snap({ openSteps: [dosing('checked-in')] })))).toBe('dose');
  });

  test('refused: a fresh pair sent after the refusal, answered, heard, then the dose again', () => {
    const checkedIn = [dosing('checked-in')];
    expect(actionOf(refused(26).next(snap({ openSteps: checkedIn, forms: [form('adhoc-1', { heard: true })], triggeredSeq: new Map([['adhoc-1', 26]]) })))).toBe('send-assessment');
    const invited = [{ id: `${C}/adhoc-2/cssrs`, instrumentId: 'cssrs' }];
    expect(refused(26).next(snap({ openSteps: checkedIn, forms: [form('adhoc-2', { invited })], triggeredSeq: new Map([['adhoc-2', 40]]) }))).toEqual({ answer: invited });
    expect(actionOf(refused(26).next(snap({ openSteps: checkedIn, forms: [form('adhoc-2')], triggeredSeq: new Map([['adhoc-2', 40]]) })))).toBe('wait');
    expect(actionOf(refused(26).next(snap({ openSteps: checkedIn, forms: [form('adhoc-2', { heard: true })], triggeredSeq: new Map([['adhoc-2', 40]]) })))).toBe('dose');
  });
});

describe('a dose day', () => {
  test('unscheduled -> schedule, scheduled -> pre-dose check, checked in -> dose', () => {
    expect(actionOf(driver().next(snap({ openSteps: [dosing('unscheduled')] })))).toBe('schedule');
    expect(actionOf(driver().next(snap({ openSteps: [dosing('no-show')] })))).toBe('schedule');
    expect(actionOf(driver().next(snap({ openSteps: [dosing('scheduled')] })))).toBe('pre-dose-check');
    expect(actionOf(driver().next(snap({ openSteps: [dosing('checked-in')] })))).toBe('dose');
  });

  test('dosed: each timed reading the protocol asks for that is not recorded, then discharge', () => {
    // kap-office checks at 0, 30 and discharge: the 30-minute reading, then the discharge.
    expect(driver().next(snap({ openSteps: [dosing('dosed')] }))).toMatchObject({ action: 'vitals', input: { atMinutes: 30 } });
    expect(actionOf(driver().next(snap({ openSteps: [dosing('dosed', { readings: new Set([30]) })] })))).toBe('discharge');
  });
});

describe('the course as a whole', () => {
  test('a screening form still open is answered before the screening is recorded', () => {
    const screening: StepSnapshot = { stepKey: 'screening', kind: 'screening', state: 'open', session: null };
    const invited = [{ id: `${C}/screening/phq9`, instrumentId: 'phq9' }];
    expect(driver().next(snap({ openSteps: [screening], forms: [form('screening', { trigger: 'scheduled', invited })] }))).toEqual({ answer: invited });
    expect(actionOf(driver().next(snap({ openSteps: [screening], forms: [form('screening', { trigger: 'scheduled' })] })))).toBe('screening');
  });

  test('withdraw after the second dose; pause once after the third (the timeline says whether it was), resume when paused', () => {
    expect(actionOf(driver(withdrawn).next(snap({ dosesGiven: 2, openSteps: [dosing('unscheduled')] })))).toBe('withdraw');
    expect(actionOf(driver(paused).next(snap({ dosesGiven: 3 })))).toBe('pause');
    expect(actionOf(driver(paused).next(snap({ dosesGiven: 3, paused: true, openSteps: [dosing('unscheduled')] })))).toBe('schedule');
    expect(actionOf(driver(paused).next(snap({ status: 'paused', dosesGiven: 3, paused: true })))).toBe('resume');
  });

  test('nothing to do (an assessment step is left to expire): wait', () => {
    expect(actionOf(driver().next(snap({ openSteps: [{ stepKey: 'followup-30d', kind: 'assessment', state: 'open', session: null }] })))).toBe('wait');
  });
});
