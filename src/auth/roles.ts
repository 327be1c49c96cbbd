// Staff roles and who may act where. A principal is a staff member (dashboard session or personal
// token) or a system token; either way it has one role and a set of clinics it may touch.
import type { StaffRole } from '../db/schema';
import { AppError } from '../errors';

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

export function canAccessClinic(principal: Principal, clinicId: string): boolean {
  return principal.clinics === 'all' || principal.clinics.includes(clinicId);
}

/** 403 unless the principal's clinic scope covers the clinic. */
export function assertClinicAccess(principal: Principal, clinicId: string): void {
  if (!canAccessClinic(principal, clinicId)) throw new AppError('forbidden', `your access does not include clinic ${clinicId}`);
}

/** The clinic ids to filter lists by: undefined = no filter (every clinic). */
export function clinicFilter(principal: Principal, requested?: string): string[] | undefined {
  if (requested) {
    assertClinicAccess(principal, requested);
    return [requested];
  }
  return principal.clinics === 'all' ? undefined : [...principal.clinics];
}

export const actorOf = (principal: Principal) => ({ type: 'staff' as const, id: principal.staffId ?? (principal.tokenId ? `token:${principal.tokenId}` : null) });
