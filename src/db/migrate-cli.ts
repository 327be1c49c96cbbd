// `npm run migrate`: bring DATABASE_URL (or the embedded database in the data folder) to the newest schema.
import path from 'node:path';
import { loadConfigOrExit } from '../config';
import { createDb } from './connect';
import { startEmbeddedPostgres } from './embedded-postgres';
import { migrateToLatest } from './migrate';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'pg'), port: config.EMBEDDED_PG_PORT });
  const db = createDb({ url: config.DATABASE_URL ?? embedded!.url, poolMax: 1 });
  try {
    const results = await migrateToLatest(db);
    if (!results || results.length === 0) console.log('database schema is up to date');
    for (const r of results ?? []) console.log(`${r.status.toLowerCase()}: ${r.migrationName}`);
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
