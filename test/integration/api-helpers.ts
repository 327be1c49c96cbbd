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
