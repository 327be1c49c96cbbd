// Staff roles and who may act where. A principal is a staff member (dashboard session or personal
// token) or a system token; either way it has one role and a set of clinics it may touch.
import type { StaffRole } from '../db/schema';

export const STAFF_ROLES = ['admin', 'coordinator', 'prescriber', 'therapist'] as const satisfies readonly StaffRole[];
export type { StaffRole };

export interface Principal {
  role: StaffRole;
  /** 'all' = every clinic (an organisation-wide admin or token); otherwise the clinic ids in scope. */
  clinics: 'all' | readonly string[];
  /** The staff member acting, when there is one (sessions, personal tokens). */
  staffId: string | null;
  /** How the request authenticated. */
  via: 'session' | 'token';
  tokenId?: string;
  displayName: string;
  /** CSRF token of the dashboard session. */
  csrfToken?: string;
}

// Clinic scope lives in ./scope (one shared check for every surface); re-exported here.
export { assertAllClinics, assertCanManageStaff, assertClinicAccess, assertClinicInScope, assertRecordInScope, canAccessClinic, canManageStaff, canSeeStaff, clinicFilter, staffScope, visibleClinicIds } from './scope';

/**
 * Who the record names for what a principal does, taken from the credential only: the staff member,
 * or, for an API token without a staff member, the token itself (type `token`, its id). `system` is
 * never a principal: it means the engine itself.
 */
export function actorOf(principal: Principal): { type: 'staff' | 'token'; id: string | null } {
  if (principal.staffId) return { type: 'staff', id: principal.staffId };
  return { type: 'token', id: principal.tokenId ?? null };
}

/** The rest of the principal for an audit entry's detail: role, how it authenticated, token id and label. */
export function actorDetail(principal: Principal): { role: StaffRole; via: 'session' | 'token'; tokenId?: string; label: string } {
  return { role: principal.role, via: principal.via, ...(principal.tokenId ? { tokenId: principal.tokenId } : {}), label: principal.displayName };
}
