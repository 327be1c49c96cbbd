// `npm run worker`: a worker process for production (TEMPORAL_ADDRESS and DATABASE_URL required).
import { loadConfigOrExit } from '../config';
import { createLogger } from '../log';
import { temporalMetricsBind } from '../metrics/sdk';
import { installTemporalRuntime, onShutdownSignal, openDatabase, Stack, startMailRuntime, startWorker } from '../runtime';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'kap-worker');
  if (!config.TEMPORAL_ADDRESS || !config.DATABASE_URL) {
    process.stderr.write('npm run worker needs TEMPORAL_ADDRESS and DATABASE_URL (use `npm start` for the embedded stack)\n');
    process.exit(2);
  }
  const stack = new Stack(log);
  onShutdownSignal(stack, log);
  installTemporalRuntime(log, { metricsBindAddress: await temporalMetricsBind(config) });
  const db = openDatabase(config, config.DATABASE_URL, stack, log);
  await startWorker(config, config.TEMPORAL_ADDRESS, db, stack, log, await startMailRuntime(config, db, stack, log));
}

main().catch((err) => {
  process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
