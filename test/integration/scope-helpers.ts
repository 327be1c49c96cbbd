// Helpers for the clinic-scope and account tests: two clinics with staff of every role, dashboard
// logins through the real login form, and form posts that carry the page's CSRF token. Not a test
// file (no .int.test.ts suffix).
import type { FastifyInstance } from 'fastify';
import { generatePassword } from '../../src/auth/secrets';
import type { StaffRole } from '../../src/db/schema';
import { client, tokenFor, uid } from './api-helpers';

export const ROLES: StaffRole[] = ['admin', 'coordinator', 'prescriber', 'therapist'];

export interface StaffSeed {
  id: string;
  email: string;
  password: string;
  role: StaffRole;
}

export interface TwoClinics {
  a: string;
  b: string;
  /** Organisation-wide admin token. */
  root: string;
  /** Tokens limited to one clinic, per role. */
  tokA: Record<StaffRole, string>;
  tokB: Record<StaffRole, string>;
  /** Staff with a password, per role, in clinic A and in clinic B. */
  staffA: Record<StaffRole, StaffSeed>;
  staffB: Record<StaffRole, StaffSeed>;
}

/** A password the policy accepts (random, as the engine generates them). */
export const strongPassword = () => generatePassword();

export async function createStaffMember(app: FastifyInstance, token: string, role: StaffRole, clinicIds: string[], name = `${role} ${uid()}`): Promise<StaffSeed> {
  const call = client(app);
  const email = `${role}-${uid()}@example.org`;
  const password = strongPassword();
  const res = await call('POST', '/api/staff', { token, body: { email, displayName: name, role, clinicIds, password } });
  if (res.status !== 201) throw new Error(`creating staff: ${res.status} ${res.text}`);
  return { id: res.body.staff.id, email, password, role };
}

export async function seedTwoClinics(app: FastifyInstance, db: Parameters<typeof tokenFor>[0]): Promise<TwoClinics> {
  const call = client(app);
  const root = await tokenFor(db, 'admin');
  const a = `scope-a-${uid()}`;
  const b = `scope-b-${uid()}`;
  for (const id of [a, b]) {
    const res = await call('POST', '/api/clinics', { token: root, body: { id, name: `Clinic ${id}` } });
    if (res.status !== 201) throw new Error(`creating clinic: ${res.status} ${res.text}`);
  }
  const tokA = {} as Record<StaffRole, string>;
  const tokB = {} as Record<StaffRole, string>;
  const staffA = {} as Record<StaffRole, StaffSeed>;
  const staffB = {} as Record<StaffRole, StaffSeed>;
  for (const role of ROLES) {
    tokA[role] = await tokenFor(db, role, a);
    tokB[role] = await tokenFor(db, role, b);
    staffA[role] = await createStaffMember(app, root, role, [a]);
    staffB[role] = await createStaffMember(app, root, role, [b]);
  }
  return { a, b, root, tokA, tokB, staffA, staffB };
}

/** A cookie jar for one browser: Set-Cookie headers in, a Cookie header out. */
export class Browser {
  private jar = new Map<string, string>();
  constructor(
    private readonly app: FastifyInstance,
    private readonly ip = `127.0.0.${2 + Math.floor(Math.random() * 250)}`,
  ) {}

  private take(setCookie: unknown): void {
    for (const c of [setCookie].flat().filter(Boolean).map(String)) {
      const [pair, ...attrs] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string) {
    const res = await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookie }, remoteAddress: this.ip });
    this.take(res.headers['set-cookie']);
    return res;
  }

  /** Posts a form; the CSRF token comes from `csrfFrom` (a page of the session) unless given. */
  async post(url: string, fields: Record<string, string | string[]>, opts: { csrfFrom?: string; csrf?: string | null } = {}) {
    let csrf = opts.csrf;
    if (csrf === undefined) {
      const page = await this.get(opts.csrfFrom ?? '/account');
      csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? null;
    }
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) form.append(k, one);
    if (csrf) form.append('_csrf', csrf);
    const res = await this.app.inject({ method: 'POST', url, headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString(), remoteAddress: this.ip });
    this.take(res.headers['set-cookie']);
    return res;
  }

  /** Logs in through the login form; returns the login response (303 on success). */
  async login(email: string, password: string) {
    const form = await this.get('/login?next=/');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? null;
    return this.post('/login', { email, password, next: '/' }, { csrf });
  }

  /** Whether the session still opens a dashboard page (a dead session is sent to the login page). */
  async loggedIn(): Promise<boolean> {
    const res = await this.get('/account');
    if (res.statusCode === 200) return true;
    if (res.statusCode === 303 && String(res.headers.location).startsWith('/login')) return false;
    throw new Error(`unexpected ${res.statusCode} for /account`);
  }
}

export async function loggedInBrowser(app: FastifyInstance, staff: { email: string; password: string }): Promise<Browser> {
  const b = new Browser(app);
  const res = await b.login(staff.email, staff.password);
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode}`);
  return b;
}
