// `npm start`: the whole engine in one process on the embedded defaults (Temporal dev server,
// PGlite), or on TEMPORAL_ADDRESS / DATABASE_URL when set.
import { announceFirstAdmin, ensureFirstAdmin } from './auth/first-admin';
import { loadConfigOrExit } from './config';
import { makePrivate, usePrivateUmask } from './data-dir';
import { createLogger } from './log';
import { temporalMetricsBind } from './metrics/sdk';
import { installTemporalRuntime, onShutdownSignal, openDatabaseLanes, runMigrations, Stack, startApi, startInfrastructure, startMailRuntime, startWorker } from './runtime';

async function main(): Promise<void> {
  // Everything this process and its children create (PGlite's files and WAL, Temporal's SQLite, logs,
  // keys) is the owner's alone; what an older version left is fixed below (src/data-dir.ts).
  usePrivateUmask();
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL);
  const stack = new Stack(log);
  onShutdownSignal(stack, log);
  const t0 = Date.now();
  try {
    const fixed = makePrivate(config.DATA_DIR);
    if (fixed) log.info({ dataDir: config.DATA_DIR, modesFixed: fixed }, 'data folder made private (folders 0700, files 0600)');
    installTemporalRuntime(log, { metricsBindAddress: await temporalMetricsBind(config) });
    const infra = await startInfrastructure(config, stack, log);
    // One pool for both: the API's requests are handed a connection before the worker's backlog.
    const { interactive: db, background } = openDatabaseLanes(config, infra.databaseUrl, stack, log);
    await runMigrations(db, log);
    const firstAdmin = await ensureFirstAdmin(db, config.DATA_DIR);
    const mail = await startMailRuntime(config, background, stack, log, 'all-in-one');
    const { connection: workerConnection } = await startWorker(config, infra.temporalAddress, background, stack, log, mail, { eagerStarts: true });
    await startApi(config, infra.temporalAddress, db, stack, log, workerConnection);
    const lines = [
      '',
      `KAP pathways is running (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      `  Dashboard        ${config.publicUrl}/`,
      `  Health           ${config.publicUrl}/health`,
      infra.temporalUiUrl ? `  Temporal Web UI  ${infra.temporalUiUrl}` : `  Temporal         ${infra.temporalAddress}`,
      mail.sink ? `  Email (sink)     ${config.publicUrl}/outbox  (SMTP ${mail.sink.host}:${mail.sink.port})` : '  Email            SMTP_URL',
      `  Data             ${config.embeddedDatabase || config.embeddedTemporal ? config.DATA_DIR : '(external services)'}`,
      // The password and token reach the terminal and the credentials file only, never the log.
      ...(firstAdmin ? announceFirstAdmin(firstAdmin) : []),
      'Press Ctrl-C to stop.',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
    process.stderr.write(`\nkap: start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stack.stop();
    process.exit(1);
  }
}

void main();
