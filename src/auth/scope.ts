// Clinic scope: the one check every surface uses (JSON API, dashboard pages, HTML routes, exports, the
// codec). Two rules, and nothing else decides scope:
//
//   * A RECORD outside the caller's clinics (a client, course, clinic, subscription, token, staff
//     member, email) is "not found": the same 404 and the same message as a record that does not
//     exist, so the answer never confirms that it exists nor names its clinic (`assertRecordInScope`).
//   * A CLINIC the caller names (a `?clinicId=` filter, a `clinicId` / `clinicIds` in a body) that is
//     outside its clinics is a 403 `clinicId: outside your clinics`, whether or not that clinic exists:
//     the scope is checked before existence, and the message does not repeat the id
//     (`assertClinicInScope`).
//
// Things that reach every clinic (all-clinic tokens and staff, new clinics, the Temporal codec) need
// a principal whose own scope is every clinic (`assertAllClinics`): scope can be narrowed, never widened.
import type { StaffRole } from '../db/schema';
import { AppError, notFound } from '../errors';
import type { Principal } from './roles';

/** Whether the principal's scope covers the clinic. */
export function canAccessClinic(principal: Principal, clinicId: string): boolean {
  return principal.clinics === 'all' || principal.clinics.includes(clinicId);
}

/** 404 `<what> not found` (exactly as for a missing record) unless the record's clinic is in scope. */
export function assertRecordInScope(principal: Principal, clinicId: string, what: string): void {
  if (!canAccessClinic(principal, clinicId)) throw notFound(what);
}

/** 403 for a clinic the caller named (filter or body field) outside its scope; never says whether it exists. */
export function assertClinicInScope(principal: Principal, clinicId: string, field = 'clinicId'): void {
  if (!canAccessClinic(principal, clinicId)) throw new AppError('forbidden', `${field}: outside your clinics`, [{ field, message: 'outside your clinics' }]);
}

/**
 * Kept for callers that check a named clinic: the same rule as `assertClinicInScope` (403, the clinic
 * not named). Record lookups use `assertRecordInScope` (404).
 */
export function assertClinicAccess(principal: Principal, clinicId: string): void {
  assertClinicInScope(principal, clinicId);
}

/** The clinic ids to filter lists by: undefined = no filter (every clinic). A named clinic outside scope is 403. */
export function clinicFilter(principal: Principal, requested?: string): string[] | undefined {
  if (requested) {
    assertClinicInScope(principal, requested);
    return [requested];
  }
  return principal.clinics === 'all' ? undefined : [...principal.clinics];
}

/** 403 unless the principal's scope is every clinic (creating clinics, all-clinic tokens and staff, the codec). */
export function assertAllClinics(principal: Principal, what: string): void {
  if (principal.clinics !== 'all') throw new AppError('forbidden', `${what} needs access to every clinic; yours is limited to your clinics`);
}

/** A staff member's own scope, from their role and clinics (an admin with no clinic is every clinic). */
export function staffScope(staff: { role: StaffRole; clinicIds: readonly string[] }): Principal['clinics'] {
  return staff.role === 'admin' && staff.clinicIds.length === 0 ? 'all' : staff.clinicIds;
}

/**
 * Whether a staff member is visible to the principal: an every-clinic principal sees everyone; others
 * see staff who work in at least one of their clinics (an every-clinic admin or a staff member with no
 * clinic is visible only to every-clinic principals).
 */
export function canSeeStaff(principal: Principal, staff: { clinicIds: readonly string[] }): boolean {
  return principal.clinics === 'all' || staff.clinicIds.some((c) => canAccessClinic(principal, c));
}

/** 404 unless visible; 403 when visible but also working in clinics outside the principal's scope. */
export function assertCanManageStaff(principal: Principal, staff: { id: string; clinicIds: readonly string[] }): void {
  if (!canSeeStaff(principal, staff)) throw notFound(`staff member ${staff.id}`);
  if (principal.clinics !== 'all' && !staff.clinicIds.every((c) => canAccessClinic(principal, c))) {
    throw new AppError('forbidden', `staff member ${staff.id} also works in clinics outside yours: an admin whose access covers them makes this change`);
  }
}

/** Whether the principal may change the staff member (visible, and every clinic of theirs in scope). */
export function canManageStaff(principal: Principal, staff: { clinicIds: readonly string[] }): boolean {
  return principal.clinics === 'all' || (staff.clinicIds.length > 0 && staff.clinicIds.every((c) => canAccessClinic(principal, c)));
}

/** What a principal may learn of a staff member's clinics: only those in its own scope. */
export function visibleClinicIds(principal: Principal, clinicIds: readonly string[]): string[] {
  return principal.clinics === 'all' ? [...clinicIds] : clinicIds.filter((c) => canAccessClinic(principal, c));
}
