// First start of the embedded default: make an administrator so someone can log in at all.
// The generated password is written once to DATA_DIR/admin-credentials.txt (mode 0600) and printed;
// it is never stored in clear anywhere else. Delete the file after the first login.
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
  return { email: FIRST_ADMIN_EMAIL, password, apiToken, credentialsFile };
}
