// The Spravato REMS patient monitoring form reports the session's dose: the dose and lot it gives must
// be those the session recorded (issue #20: a form with 84 mg and lot OTHER was accepted for a
// session that recorded 56 mg and lot L1). A mismatch is refused (ClinicallyRefused, HTTP 422) naming
// both; a lot the session did not record is taken from the form. The step's owner (the coordinator)
// files it as well as prescribers and admins, and the timeline event records who filed it.
import { COORDINATOR, Course, DISCHARGE, GOOD_CHECK, MIN, REMS_FORM, eventTypes, rows } from './helpers';
import { ACTIONS } from '../../../../src/domain/actions/catalogue';

/** dose-1 given (by the prescriber) with this dose and lot, monitored and discharged: rems-form-1 is open. */
function dosed(dose: { doseMg?: number; lotNumber?: string }): Course {
  const c = new Course('spravato-rems').readyToDose().scheduledDose();
  c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  c.act('dose', { stepKey: 'dose-1', route: 'intranasal', ...dose });
  const doseAt = c.now;
  c.to(doseAt + 40 * MIN);
  c.act('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 } });
  c.to(doseAt + 125 * MIN);
  c.act('discharge', { stepKey: 'dose-1', ...DISCHARGE });
  c.out();
  expect(c.status('rems-form-1')).toBe('open');
  return c;
}

describe('the REMS form takes dose and lot from the session', () => {
  test('84 mg and lot OTHER for a session that recorded 56 mg and lot L1: refused, naming both values; nothing recorded', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    const e = c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 84, lotNumber: 'OTHER' });
    expect(e.type).toBe('ClinicallyRefused');
    expect(e.message).toBe("the REMS form must match the session's dose record: the session dose-1 recorded 56 mg, lot L1; the form says 84 mg, lot OTHER");
    expect(e.reasons).toEqual([
      { code: 'doseMg', message: 'doseMg: the session dose-1 recorded 56 mg; the form says 84 mg', blocking: true },
      { code: 'lotNumber', message: 'lotNumber: the session dose-1 recorded lot L1; the form says lot OTHER', blocking: true },
    ]);
    expect(c.out().projection).toBeNull();
    expect(c.status('rems-form-1')).toBe('open');
  });

  test('only the dose differs, or only the lot: refused naming that field', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 28 }).reasons.map((r) => r.code)).toEqual(['doseMg']);
    const lot = c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, lotNumber: 'L2' });
    expect(lot.reasons.map((r) => r.code)).toEqual(['lotNumber']);
    expect(lot.message).toContain('the session dose-1 recorded 56 mg, lot L1; the form says 56 mg, lot L2');
    expect(c.status('rems-form-1')).toBe('open');
  });

  test('the matching form files: the row carries the session dose and lot', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 56, lotNumber: 'L1' }).outcome).toBe('submitted');
    const out = c.out();
    expect(rows(out, 'rems-form')).toEqual([expect.objectContaining({ id: 'c1/rems-form-1', sessionStepKey: 'dose-1', doseMg: 56, lotNumber: 'L1', submittedAt: expect.any(String) })]);
    expect(c.status('rems-form-1')).toBe('done');
  });

  test('a session that recorded no lot: the form\'s lot is accepted and recorded; its dose must still match', () => {
    const c = dosed({ doseMg: 56 });
    expect(c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 84, lotNumber: 'L9' }).message).toBe(
      "the REMS form must match the session's dose record: the session dose-1 recorded 56 mg; the form says 84 mg, lot L9",
    );
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, lotNumber: 'L9' }).outcome).toBe('submitted');
    expect(rows(c.out(), 'rems-form')).toEqual([expect.objectContaining({ doseMg: 56, lotNumber: 'L9' })]);
  });

  test('a session that recorded neither dose nor lot: the form supplies both', () => {
    const c = dosed({});
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 84, lotNumber: 'L3' }).outcome).toBe('submitted');
    expect(rows(c.out(), 'rems-form')).toEqual([expect.objectContaining({ doseMg: 84, lotNumber: 'L3' })]);
  });
});

describe('who files the REMS form', () => {
  test('the step\'s owner (coordinator) may file it, as may prescribers and admins; a therapist may not', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    expect(c.step('rems-form-1').owner).toBe('coordinator');
    expect([...ACTIONS['rems-form'].roles].sort()).toEqual(['admin', 'coordinator', 'prescriber']);
  });

  test('the coordinator files it: the submitted event names the coordinator', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM }, COORDINATOR).outcome).toBe('submitted');
    const out = c.out();
    expect(eventTypes(out)).toEqual(['rems-form.submitted']);
    expect(rows(out, 'event')[0]).toMatchObject({ type: 'rems-form.submitted', stepKey: 'rems-form-1', actorType: 'staff', actorId: 'staff-c', by: { role: 'coordinator', label: 'C Coord' } });
  });
});

describe('an amendment: a documented correction of the dose or lot', () => {
  const reason = 'second device was from lot L2 per the pharmacy log';
  test('a differing lot with a reason files as an amendment: both values and the reason on the timeline, the form carries the corrected lot', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    expect(c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 56, lotNumber: 'L2', amendmentReason: reason }).outcome).toBe('submitted');
    const out = c.out();
    expect(eventTypes(out)).toEqual(['rems-form.amended', 'rems-form.submitted']);
    expect(rows(out, 'event')[0]).toMatchObject({ type: 'rems-form.amended', stepKey: 'rems-form-1', detail: { session: 'dose-1', recorded: { doseMg: 56, lotNumber: 'L1' }, filed: { doseMg: 56, lotNumber: 'L2' }, reason } });
    expect(rows(out, 'rems-form')).toEqual([expect.objectContaining({ doseMg: 56, lotNumber: 'L2', submittedAt: expect.any(String) })]);
    expect(c.status('rems-form-1')).toBe('done');
  });

  test('an amendment of a form that matches the session: refused naming amendmentReason (nothing to amend), nothing recorded', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    const e = c.reject('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, doseMg: 56, lotNumber: 'L1', amendmentReason: reason });
    expect(e.type).toBe('InvalidInput');
    expect(e.reasons.map((r) => r.code)).toEqual(['amendmentReason']);
    expect(e.message).toContain('nothing to amend');
    expect(c.out().projection).toBeNull();
    expect(c.status('rems-form-1')).toBe('open');
  });

  test('the vital-signs-acceptable items given with the form are on its submitted event', () => {
    const c = dosed({ doseMg: 56, lotNumber: 'L1' });
    c.act('rems-form', { stepKey: 'rems-form-1', ...REMS_FORM, vitalsAcceptable: { preDose: true, at40: false, discharge: true } });
    expect(rows(c.out(), 'event')[0]).toMatchObject({ type: 'rems-form.submitted', detail: { vitalsAcceptable: { preDose: true, at40: false, discharge: true } } });
  });
});
