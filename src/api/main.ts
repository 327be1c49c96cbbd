// `npm run api`: the HTTP server alone, for production (TEMPORAL_ADDRESS and DATABASE_URL required).
import { loadConfigOrExit } from '../config';
import { createLogger } from '../log';
import { onShutdownSignal, openDatabase, Stack, startApi } from '../runtime';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'kap-api');
  if (!config.TEMPORAL_ADDRESS || !config.DATABASE_URL) {
    process.stderr.write('npm run api needs TEMPORAL_ADDRESS and DATABASE_URL (use `npm start` for the embedded stack)\n');
    process.exit(2);
  }
  const stack = new Stack(log);
  onShutdownSignal(stack, log);
  const db = openDatabase(config, config.DATABASE_URL, stack, log);
  await startApi(config, config.TEMPORAL_ADDRESS, db, stack, log);
  log.info({ url: config.publicUrl }, 'API listening');
}

main().catch((err) => {
  process.stderr.write(`api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
