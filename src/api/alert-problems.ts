// An alert always reaches someone, or the board says it did not (issue #16 item 4). Two kinds of
// stuck-board items, both `type: 'system'`, owned by the clinic's admin:
// - a safety alert that reached nobody in its role: failed, blocked or uncertain in the outbox, still
//   being retried because mail is failing (2 attempts or more), or sent to the clinic's admins
//   because nobody active held the role (src/activities/notify.ts marks those rows); listed at once,
//   for ALERT_WINDOW_DAYS;
// - a clinic where nobody active holds a role safety alerts and steps are sent to (no prescriber, no
//   therapist, no coordinator): listed before any alert needs it.
import type { Db } from '../db/connect';
import { NOBODY_IN_ROLE } from '../activities/notify';
import type { StuckFilters, StuckItem } from './stuck';
import { CLINIC_ADMIN, clinicSubject, courseSubject, inClinics, recentOutbox, systemItem } from './stuck-items';

/** Roles a clinic cannot run a course safely without: the safety alerts' and the steps' owners. */
export const REQUIRED_CLINIC_ROLES = ['prescriber', 'therapist', 'coordinator'] as const;
/** Undelivered safety alerts stay on the board this long (the outbox and the audit log keep them after). */
export const ALERT_WINDOW_DAYS = 14;

const STAFF_ACTION = { id: 'manage-staff', label: 'Tell a clinician now; add or reactivate staff in the role (Staff page)', roles: ['admin'] as readonly string[] };

export async function undeliveredSafetyAlerts(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  let q = recentOutbox(db, 'safety-alert', ALERT_WINDOW_DAYS, now)
    .select(['o.key', 'o.clinic_id', 'o.course_id', 'o.status', 'o.attempts', 'o.recipient_ref', 'o.last_error', 'o.created_at', 'c.client_id', 'c.current_step', 'cl.given_name', 'cl.family_name'])
    .where((eb) =>
      eb.or([
        eb('o.status', 'in', ['failed', 'blocked', 'uncertain']),
        eb.and([eb('o.status', 'in', ['pending', 'sending']), eb('o.attempts', '>=', 2)]),
        eb.and([eb('o.status', '=', 'sent'), eb('o.last_error', 'like', `${NOBODY_IN_ROLE}%`)]),
      ]),
    )
    .orderBy('o.created_at', 'asc')
    .limit(f.limit ?? 500);
  if (f.clinics) q = q.where(inClinics('o.clinic_id', f.clinics));
  const rows = await q.execute();
  return rows
    .filter((r) => !f.step || r.current_step === f.step)
    .map((r) => {
      const role = r.recipient_ref ?? 'clinician';
      const why =
        r.status === 'sent'
          ? `nobody active holds the ${role} role in this clinic, so it went to the clinic's admins instead`
          : r.status === 'pending' || r.status === 'sending'
            ? `mail is failing (${r.attempts} attempts so far${r.last_error ? `: ${r.last_error}` : ''})`
            : `it ${r.status === 'uncertain' ? 'may not have been delivered' : r.status === 'blocked' ? 'was blocked' : 'failed'}${r.last_error ? `: ${r.last_error}` : ''}`;
      return systemItem(courseSubject(r, r.current_step), r.created_at, now, {
        owner: CLINIC_ADMIN,
        problem: `a safety alert for the ${role} reached no ${role}: ${why}. Tell a clinician about this client now.`,
        action: STAFF_ACTION,
      });
    });
}

export async function clinicStaffingProblems(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  if (f.step) return [];
  let clinics = db.selectFrom('clinics').select(['id', 'name', 'created_at']);
  if (f.clinics) clinics = clinics.where(inClinics('id', f.clinics));
  const list = await clinics.orderBy('id').execute();
  if (!list.length) return [];
  const held = await db
    .selectFrom('staff_clinics as sc')
    .innerJoin('staff as s', 's.id', 'sc.staff_id')
    .select(['sc.clinic_id', 's.role'])
    .where('s.active', '=', true)
    .where('sc.clinic_id', 'in', list.map((c) => c.id))
    .groupBy(['sc.clinic_id', 's.role'])
    .execute();
  const has = new Set(held.map((h) => `${h.clinic_id}/${h.role}`));
  const out: StuckItem[] = [];
  for (const c of list) {
    const missing = REQUIRED_CLINIC_ROLES.filter((r) => !has.has(`${c.id}/${r}`));
    if (!missing.length) continue;
    const since = new Date(c.created_at as unknown as string | Date);
    const clinical = missing.filter((r) => r !== 'coordinator');
    out.push(
      systemItem(clinicSubject(c.id), since, now, {
        owner: CLINIC_ADMIN,
        problem:
          `clinic ${c.name} has no active ${missing.join(', no active ')}` +
          (clinical.length ? `: a safety alert for a client at risk would reach no ${clinical.join(' or ')} (only the clinic's admins, if any)` : ': steps owned by that role would wait for nobody'),
        action: STAFF_ACTION,
      }),
    );
  }
  return out;
}
