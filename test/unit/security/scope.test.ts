// The shared clinic-scope checks (src/auth/scope.ts): records outside scope are "not found" exactly as
// missing ones; a named clinic outside scope is 403 without repeating it; every-clinic things need an
// every-clinic principal; staff visibility and management.
import type { Principal } from '../../../src/auth/roles';
import {
  assertAllClinics,
  assertCanManageStaff,
  assertClinicInScope,
  assertRecordInScope,
  canManageStaff,
  canSeeStaff,
  clinicFilter,
  staffScope,
  visibleClinicIds,
} from '../../../src/auth/scope';
import { AppError, notFound } from '../../../src/errors';

const p = (clinics: Principal['clinics']): Principal => ({ role: 'admin', clinics, staffId: null, via: 'token', displayName: 't' });
const caught = (fn: () => void): AppError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('did not throw');
};

test('a record outside scope is "not found" with the message of a missing record', () => {
  expect(() => assertRecordInScope(p(['a']), 'a', 'client c1')).not.toThrow();
  expect(() => assertRecordInScope(p('all'), 'b', 'client c1')).not.toThrow();
  const err = caught(() => assertRecordInScope(p(['a']), 'b', 'client c1'));
  expect({ code: err.code, message: err.message }).toEqual({ code: notFound('client c1').code, message: notFound('client c1').message });
  expect(err.message).not.toContain('b');
});

test('a named clinic outside scope is 403 naming the field, not the clinic', () => {
  const err = caught(() => assertClinicInScope(p(['a']), 'clinic-secret', 'clinicIds'));
  expect(err.code).toBe('forbidden');
  expect(err.problems).toEqual([{ field: 'clinicIds', message: 'outside your clinics' }]);
  expect(err.message).not.toContain('clinic-secret');
  expect(() => clinicFilter(p(['a']), 'clinic-secret')).toThrow(AppError);
  expect(clinicFilter(p(['a', 'c']))).toEqual(['a', 'c']);
  expect(clinicFilter(p('all'))).toBeUndefined();
  expect(clinicFilter(p('all'), 'b')).toEqual(['b']);
});

test('every-clinic things need an every-clinic principal', () => {
  expect(() => assertAllClinics(p('all'), 'x')).not.toThrow();
  expect(caught(() => assertAllClinics(p(['a']), 'creating a clinic')).code).toBe('forbidden');
  expect(staffScope({ role: 'admin', clinicIds: [] })).toBe('all');
  expect(staffScope({ role: 'coordinator', clinicIds: [] })).toEqual([]);
  expect(staffScope({ role: 'admin', clinicIds: ['a'] })).toEqual(['a']);
});

test('staff: visible when sharing a clinic, managed only when every clinic of theirs is in scope', () => {
  const both = { id: 's1', clinicIds: ['a', 'b'] };
  const allClinicAdmin = { id: 's2', clinicIds: [] };
  expect(canSeeStaff(p(['a']), both)).toBe(true);
  expect(canSeeStaff(p(['a']), allClinicAdmin)).toBe(false);
  expect(canSeeStaff(p('all'), allClinicAdmin)).toBe(true);
  expect(canManageStaff(p(['a']), both)).toBe(false);
  expect(canManageStaff(p(['a', 'b']), both)).toBe(true);
  expect(caught(() => assertCanManageStaff(p(['a']), both)).code).toBe('forbidden');
  expect(caught(() => assertCanManageStaff(p(['a']), allClinicAdmin)).code).toBe('not_found');
  expect(caught(() => assertCanManageStaff(p(['c']), both)).code).toBe('not_found');
  expect(visibleClinicIds(p(['a']), both.clinicIds)).toEqual(['a']);
  expect(visibleClinicIds(p('all'), both.clinicIds)).toEqual(['a', 'b']);
});
