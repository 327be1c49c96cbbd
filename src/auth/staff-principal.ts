import type { Db } from '../db/connect';
import type { StaffRole } from '../db/schema';
import type { Principal } from './roles';

/**
 * A staff member's principal: their role and the clinics they belong to. An admin who belongs to no
 * clinic is organisation-wide; anyone else sees only their clinics (none until assigned).
 */
export async function staffPrincipal(db: Db, staff: { id: string; role: StaffRole; display_name: string }, via: Principal['via']): Promise<Principal> {
  const clinics = (await db.selectFrom('staff_clinics').select('clinic_id').where('staff_id', '=', staff.id).execute()).map((r) => r.clinic_id);
  return {
    role: staff.role,
    clinics: staff.role === 'admin' && clinics.length === 0 ? 'all' : clinics,
    staffId: staff.id,
    via,
    displayName: staff.display_name,
  };
}
