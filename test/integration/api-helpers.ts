// Helpers for the API route tests: tokens per role, and requests through fastify.inject.
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApiToken } from '../../src/auth/tokens';
import type { Db } from '../../src/db/connect';
import type { StaffRole } from '../../src/db/schema';

export const uid = () => crypto.randomUUID().slice(0, 8);

export async function tokenFor(db: Db, role: StaffRole, clinicId?: string): Promise<string> {
  const { token } = await createApiToken(db, { role, clinicId: clinicId ?? null, label: `test ${role}` });
  return token;
}

/**
 * A token bound to a new staff member of that role (a person): what clinical judgements need (a
 * safety review, a hard-stop override). An admin with no clinic reaches every clinic; other roles
 * need a clinic (which must exist).
 */
export async function personTokenFor(db: Db, role: StaffRole, clinicId?: string): Promise<{ token: string; staffId: string }> {
  const staffId = `staff-${role}-${uid()}`;
  await db.insertInto('staff').values({ id: staffId, email: `${staffId}@example.org`, display_name: `Test ${role} ${staffId.slice(-8)}`, role, password_hash: null }).execute();
  if (clinicId) await db.insertInto('staff_clinics').values({ staff_id: staffId, clinic_id: clinicId }).execute();
  const { token } = await createApiToken(db, { role, clinicId: clinicId ?? null, staffId, label: `test ${role} (person)` });
  return { token, staffId };
}

/** A client of the clinic (id `<clinic>-<name>`, an email for the invitations): returns its id. */
export async function insertClient(db: Db, clinicId: string, name: string): Promise<string> {
  const id = `${clinicId}-${name}`;
  await db.insertInto('clients').values({ id, clinic_id: clinicId, given_name: 'Test', family_name: name, email: `${name}@example.org`, phone: null, external_ref: null }).execute();
  return id;
}

export interface Res {
  status: number;
  body: any;
  headers: Record<string, unknown>;
  text: string;
}

export function client(app: FastifyInstance) {
  return async function call(method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { payload: opts.body as Record<string, unknown> } : {}),
    });
    let body: unknown = undefined;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body, headers: res.headers, text: res.body };
  };
}
