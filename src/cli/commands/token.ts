// `kap token create --role <role> [--clinic <id>]`, `kap token list`, `kap token revoke <id>`.
// These talk to the database directly (tokens are how you get into the API, so they cannot need one):
//   - DATABASE_URL set: that PostgreSQL;
//   - otherwise the embedded database in DATA_DIR, opened by this command. The embedded engine
//     (`npm start`) holds that database while it runs, so then either stop it for a moment, or pass an
//     admin token (KAP_TOKEN / --token) and the command goes through the running engine's API instead.
import path from 'node:path';
import type { Command } from 'commander';
import { STAFF_ROLES, type StaffRole } from '../../auth/roles';
import { createApiToken, listApiTokens, revokeApiToken, type TokenInfo } from '../../auth/tokens';
import { loadConfig } from '../../config';
import { createDb, type Db } from '../../db/connect';
import { startEmbeddedPostgres } from '../../db/embedded-postgres';
import { migrateToLatest } from '../../db/migrate';
import { portIsFree } from '../../temporal/dev-server';
import { api, run, type ApiOptions } from './actions';

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (config.DATABASE_URL) {
    const db = createDb({ url: config.DATABASE_URL, poolMax: 1 });
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  }
  if (!(await portIsFree(config.EMBEDDED_PG_PORT))) {
    throw new Error(
      `the embedded engine is running and holds its database (port ${config.EMBEDDED_PG_PORT}). Either stop it (Ctrl-C), run this, and start it again; or pass an admin token with --token / KAP_TOKEN to create the token through the API.`,
    );
  }
  const { freePort } = await import('../../temporal/dev-server');
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'pg'), port: await freePort() });
  const db = createDb({ url: embedded.url, poolMax: 1 });
  try {
    await migrateToLatest(db);
    return await fn(db);
  } finally {
    await db.destroy();
    await embedded.stop();
  }
}

const viaApi = (o: ApiOptions) => !!(o.token ?? process.env.KAP_TOKEN);
const show = (t: TokenInfo) => `${t.id}  ${t.role.padEnd(11)} ${(t.clinicId ?? 'all clinics').padEnd(20)} ${t.label}${t.revokedAt ? '  (revoked)' : ''}${t.lastUsedAt ? `  last used ${t.lastUsedAt}` : ''}`;

export function register(program: Command): void {
  const token = program.command('token').description('staff API tokens (stored hashed; the secret is shown once)');
  token
    .command('create')
    .description('create an API token and print it')
    .requiredOption('--role <role>', STAFF_ROLES.join(', '))
    .option('--clinic <id>', 'limit the token to one clinic (default: every clinic; through the API with a one-clinic admin token, that clinic: scope is never widened)')
    .option('--staff <id>', 'the staff member the token acts for')
    .option('--label <text>', 'what the token is for')
    .option('--expires-days <n>', 'expire after this many days')
    .option('--url <url>', 'engine URL when going through the API')
    .option('--token <token>', 'an admin token: create through the running engine instead of the database')
    .option('--json', 'print JSON')
    .action(async (o: ApiOptions & { role: string; clinic?: string; staff?: string; label?: string; expiresDays?: string }) => {
      if (!(STAFF_ROLES as readonly string[]).includes(o.role)) throw new Error(`--role must be one of ${STAFF_ROLES.join(', ')}`);
      const days = o.expiresDays ? Number(o.expiresDays) : undefined;
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new Error('--expires-days must be a whole number of days');
      const input = { role: o.role as StaffRole, clinicId: o.clinic ?? null, staffId: o.staff ?? null, label: o.label ?? `${o.role} token (kap CLI)`, expiresAt: days ? new Date(Date.now() + days * 86_400_000) : null };
      await run(
        o,
        () =>
          viaApi(o)
            ? api<{ token: string; info: TokenInfo }>(o, 'POST', '/api/tokens', { role: input.role, ...(o.clinic ? { clinicId: o.clinic } : {}), ...(o.staff ? { staffId: o.staff } : {}), label: input.label, ...(days ? { expiresInDays: days } : {}) })
            : withDb((db) => createApiToken(db, input)),
        (r) => `${r.token}\n\n${show(r.info)}\nKeep it secret: it is shown only now. Use it as KAP_TOKEN or 'Authorization: Bearer <token>'.`,
      );
    });
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'print JSON')
    .option('--url <url>')
    .option('--token <token>', 'an admin token: list through the running engine')
    .action(async (o: ApiOptions) => {
      await run(o, () => (viaApi(o) ? api<{ tokens: TokenInfo[] }>(o, 'GET', '/api/tokens').then((r) => r.tokens) : withDb(listApiTokens)), (list) => (list.length ? list.map(show).join('\n') : 'no tokens'));
    });
  token
    .command('revoke <id>')
    .description('revoke a token at once')
    .option('--json', 'print JSON')
    .option('--url <url>')
    .option('--token <token>', 'an admin token: revoke through the running engine')
    .action(async (id: string, o: ApiOptions) => {
      await run(o, () => (viaApi(o) ? api<TokenInfo>(o, 'DELETE', `/api/tokens/${encodeURIComponent(id)}`) : withDb((db) => revokeApiToken(db, id))), (t) => `revoked ${show(t)}`);
    });
}
