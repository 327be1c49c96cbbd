// The audit trail: append-only in the database (trigger for every role; grants for the application's
// role kap_app), the audit activity's idempotency, and the per-client and per-staff queries.
import { sql } from 'kysely';
import { createAuditActivities } from '../../src/activities/audit';
import { appendAudit, auditForClient, auditForStaff, recordClientRead } from '../../src/db/audit';
import type { Db } from '../../src/db/connect';
import { APP_ROLE } from '../../migrations/0003_mail_audit';
import { openTestDb, seedClinic, type Seeded } from './mail-helpers';

let db: Db;
let seed: Seeded;

beforeAll(async () => {
  db = await openTestDb();
  seed = await seedClinic(db);
});
afterAll(async () => {
  await db.destroy();
});

/** Runs fn as the application's role, in a transaction that is always rolled back. */
async function asAppRole(fn: (trx: Db) => Promise<unknown>): Promise<unknown> {
  const rollback = new Error('rollback');
  let result: unknown;
  try {
    await db.transaction().execute(async (trx) => {
      await sql.raw(`set local role ${APP_ROLE}`).execute(trx);
      try {
        result = await fn(trx as unknown as Db);
      } catch (err) {
        result = err;
      }
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return result;
}

describe('append-only audit log', () => {
  test('UPDATE, DELETE and TRUNCATE are refused even for the owner (trigger)', async () => {
    await appendAudit(db, { actor: { type: 'system', id: null }, action: 'test.entry', clientId: seed.clientId });
    await expect(sql`update audit_log set action = 'x' where client_id = ${seed.clientId}`.execute(db)).rejects.toThrow(/append-only \(UPDATE refused\)/);
    await expect(sql`delete from audit_log where client_id = ${seed.clientId}`.execute(db)).rejects.toThrow(/append-only \(DELETE refused\)/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
  });

  test('the application role may insert and read the audit log but holds no UPDATE / DELETE / TRUNCATE grant', async () => {
    const ins = await asAppRole((trx) => appendAudit(trx, { actor: { type: 'system', id: null }, action: 'test.as-app', clientId: seed.clientId }));
    expect(ins).toBe(true);
    const read = await asAppRole((trx) => trx.selectFrom('audit_log').select('id').limit(1).execute());
    expect(Array.isArray(read)).toBe(true);
    // Refused by privileges, before the trigger runs: "permission denied", not "append-only".
    expect(String(await asAppRole((trx) => sql`update audit_log set action = 'x'`.execute(trx)))).toMatch(/permission denied for table audit_log/);
    expect(String(await asAppRole((trx) => sql`delete from audit_log`.execute(trx)))).toMatch(/permission denied for table audit_log/);
    expect(String(await asAppRole((trx) => sql`truncate audit_log`.execute(trx)))).toMatch(/permission denied for table audit_log/);
    // ...while it works normally elsewhere (tables of later migrations included, via default privileges).
    const upd = await asAppRole((trx) => sql`update email_outbox set attempts = attempts where false`.execute(trx));
    expect(upd).not.toBeInstanceOf(Error);
    const later = await asAppRole((trx) => sql`select count(*) from course_sessions`.execute(trx));
    expect(later).not.toBeInstanceOf(Error);
    const privileges = await sql<{ privilege_type: string }>`select privilege_type from information_schema.role_table_grants where grantee = ${APP_ROLE} and table_name = 'audit_log' order by 1`.execute(db);
    expect(privileges.rows.map((r) => r.privilege_type)).toEqual(['INSERT', 'SELECT']);
  });
});

describe('audit activity and queries', () => {
  test('the audit activity writes each event key once and fills client and clinic from the course', async () => {
    const { audit } = createAuditActivities({ db });
    const input = { eventKey: `${seed.courseId}/dose-1/given`, action: 'dose.given', courseId: seed.courseId, actor: { type: 'staff' as const, id: seed.staff.prescriber }, detail: { stepKey: 'dose-1' }, at: '2026-06-02T14:05:00.000Z' };
    expect(await audit(input)).toEqual({ recorded: true });
    expect(await audit(input)).toEqual({ recorded: false });
    const rows = await db.selectFrom('audit_log').selectAll().where('event_key', '=', input.eventKey).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client_id: seed.clientId, clinic_id: seed.clinicId, actor_type: 'staff', actor_id: seed.staff.prescriber, action: 'dose.given' });
    expect(rows[0]!.at.toISOString()).toBe('2026-06-02T14:05:00.000Z');
    await expect(audit({ ...input, eventKey: '' })).rejects.toMatchObject({ type: 'InvalidAuditInput', nonRetryable: true });
    await expect(audit({ ...input, eventKey: 'k2', action: 'Not A Verb' })).rejects.toMatchObject({ type: 'InvalidAuditInput' });
  });

  test('per client: entries naming the client or any of its courses; per staff: what they did and read', async () => {
    const s = await seedClinic(db);
    await appendAudit(db, { actor: { type: 'staff', id: s.staff.coordinator }, action: 'course.enroll', clinicId: s.clinicId, clientId: s.clientId, courseId: s.courseId });
    // A course-only entry (no client id) is still found for the client.
    await appendAudit(db, { actor: { type: 'system', id: null }, action: 'step.opened', clinicId: s.clinicId, courseId: s.courseId });
    await recordClientRead(db, { role: 'therapist', clinics: [s.clinicId], staffId: s.staff.therapist, via: 'session', displayName: 'Therapist' }, { clientId: s.clientId, clinicId: s.clinicId, courseId: s.courseId, what: 'client.record' });
    await appendAudit(db, { actor: { type: 'staff', id: s.staff.therapist }, action: 'client.read', clinicId: seed.clinicId, clientId: seed.clientId, detail: { what: 'client.record' } });

    const forClient = await auditForClient(db, s.clientId);
    expect(forClient.map((e) => e.action)).toEqual(['client.read', 'step.opened', 'course.enroll']);
    expect(forClient.every((e) => e.clientId === s.clientId || e.courseId === s.courseId)).toBe(true);

    const forStaff = await auditForStaff(db, s.staff.therapist);
    expect(forStaff.map((e) => [e.action, e.clientId])).toEqual([
      ['client.read', seed.clientId],
      ['client.read', s.clientId],
    ]);
    // Clinic scope of the asker, and paging.
    expect((await auditForStaff(db, s.staff.therapist, { clinicIds: [s.clinicId] })).map((e) => e.clientId)).toEqual([s.clientId]);
    expect(await auditForStaff(db, s.staff.therapist, { clinicIds: [] })).toEqual([]);
    const first = await auditForClient(db, s.clientId, { limit: 1 });
    expect(first).toHaveLength(1);
    expect((await auditForClient(db, s.clientId, { beforeId: first[0]!.id })).map((e) => e.action)).toEqual(['step.opened', 'course.enroll']);
  });
});
