// Request pieces shared by several routes.
import { z } from 'zod';
import { STAFF_ROLES } from '../auth/roles';

export const Id = z.string().min(1).max(100);
export const IdParams = z.strictObject({ id: Id });
export const StaffRoleSchema = z.enum(STAFF_ROLES);
export const ClinicId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes, 2-63 characters');
export const Limit = z.coerce.number().int().min(1).max(500).default(100);
export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
