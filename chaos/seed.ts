// The population's clinic: one clinic, a member of staff per role, and `n` synthetic clients (no
// real names). Used by the chaos run and the cluster's kill-a-worker test (scripts/cluster).
import type { Db } from '../src/db/connect';

export async function seed(db: Db, n: number): Promise<{ clinicId: string; clientIds: string[] }> {
  const clinicId = 'clinic-chaos';
  await db.insertInto('clinics').values({ id: clinicId, name: 'Chaos Clinic' }).execute();
  for (const role of ['admin', 'coordinator', 'prescriber', 'therapist'] as const) {
    const id = `staff-chaos-${role}`;
    await db.insertInto('staff').values({ id, email: `${role}@chaos.example.org`, display_name: `Chaos ${role}`, role, password_hash: null }).execute();
    await db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinicId }).execute();
  }
  const clientIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `client-chaos-${String(i).padStart(3, '0')}`;
    await db.insertInto('clients').values({ id, clinic_id: clinicId, given_name: 'Test', family_name: `Client${i}`, email: `client${i}@chaos.example.org`, phone: null, external_ref: null }).execute();
    clientIds.push(id);
  }
  return { clinicId, clientIds };
}
