// First start of the embedded default: make an administrator so someone can log in at all.
// The generated password (and an admin API token) go to two places only: DATA_DIR/admin-credentials.txt
// (mode 0600) and the terminal. Never to the log: stdout is often the log (docker, systemd,
// `npm start > kap.log`), so the secrets are printed on stdout only when it is a terminal, else on the
// process's controlling terminal (/dev/tty) when there is one, else nowhere but the file.
// Delete the file after the first login.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/connect';
import { generatePassword, hashPassword } from './secrets';
import { createApiToken } from './tokens';

export const FIRST_ADMIN_EMAIL = 'admin@kap.local';

export interface FirstAdmin {
  email: string;
  password: string;
  /** An admin API token for scripts and the `kap` CLI (`--token` or KAP_TOKEN). */
  apiToken: string;
  credentialsFile: string;
}

/** Creates the first admin when no staff member can log in yet; null when one already can. */
export async function ensureFirstAdmin(db: Db, dataDir: string): Promise<FirstAdmin | null> {
  const existing = await db.selectFrom('staff').select('id').where('password_hash', 'is not', null).where('active', '=', true).limit(1).executeTakeFirst();
  if (existing) return null;
  const password = generatePassword();
  const hash = await hashPassword(password);
  const taken = await db.selectFrom('staff').select(['id']).where('email', '=', FIRST_ADMIN_EMAIL).executeTakeFirst();
  let staffId: string;
  if (taken) {
    staffId = taken.id;
    await db.updateTable('staff').set({ password_hash: hash, active: true, role: 'admin' }).where('id', '=', taken.id).execute();
  } else {
    staffId = `staff-${crypto.randomUUID().slice(0, 8)}`;
    await db.insertInto('staff').values({ id: staffId, email: FIRST_ADMIN_EMAIL, display_name: 'Administrator', role: 'admin', password_hash: hash }).execute();
  }
  // The embedded database serves one connection, held by the running engine: `kap token create`
  // cannot reach it then, so the first start hands out an API token as well as the password.
  const { token: apiToken } = await createApiToken(db, { role: 'admin', staffId, label: 'first start (admin)' });
  fs.mkdirSync(dataDir, { recursive: true });
  const credentialsFile = path.join(dataDir, 'admin-credentials.txt');
  fs.writeFileSync(
    credentialsFile,
    `KAP pathways: first administrator (created ${new Date().toISOString()})\nemail:    ${FIRST_ADMIN_EMAIL}\npassword: ${password}\napi token: ${apiToken}\n\nLog in at the dashboard, create staff accounts, then delete this file.\nScripts and the kap CLI: export KAP_TOKEN=${apiToken}\n`,
    { mode: 0o600 },
  );
  fs.chmodSync(credentialsFile, 0o600); // `mode` applies only when the file is created
  return { email: FIRST_ADMIN_EMAIL, password, apiToken, credentialsFile };
}

/** The start-up banner's lines about the first admin; the secrets only when `showSecrets`. */
export function firstAdminLines(admin: FirstAdmin, opts: { showSecrets: boolean }): string[] {
  if (!opts.showSecrets) {
    return ['', 'First start: an administrator was created. Its email, password and an admin API token are in', `  ${admin.credentialsFile}  (mode 0600; delete it after logging in)`];
  }
  return [
    '',
    'First start: an administrator was created. Log in at the dashboard with',
    `  email     ${admin.email}`,
    `  password  ${admin.password}`,
    'and an admin API token for scripts and the kap CLI:',
    `  export KAP_TOKEN=${admin.apiToken}`,
    `  (also written once to ${admin.credentialsFile}; delete it after logging in)`,
  ];
}

function openControllingTerminal(): number | null {
  try {
    return fs.openSync('/dev/tty', 'w');
  } catch {
    return null;
  }
}

/**
 * Shows the first admin's secrets on the terminal, never in a captured stdout: returns the lines for
 * the stdout banner (with the secrets when stdout is a terminal); when it is not, writes them straight
 * to the controlling terminal if there is one, and the banner points at the credentials file.
 */
export function announceFirstAdmin(admin: FirstAdmin, stdout: { isTTY?: boolean } = process.stdout, terminal: () => number | null = openControllingTerminal): string[] {
  if (stdout.isTTY) return firstAdminLines(admin, { showSecrets: true });
  const fd = terminal();
  if (fd !== null) {
    try {
      fs.writeSync(fd, firstAdminLines(admin, { showSecrets: true }).join('\n') + '\n\n');
    } catch {
      // no terminal after all: the file has them
    } finally {
      fs.closeSync(fd);
    }
  }
  return firstAdminLines(admin, { showSecrets: false });
}
