// `npm run worker`: a worker process for production (TEMPORAL_ADDRESS, DATABASE_URL and SMTP_URL
// required). It never starts the embedded mail sink: several workers run on one machine.
import { loadConfigOrExit } from '../config';
import { createLogger } from '../log';
import { MailConfigError, planMail } from '../mail/setup';
import { temporalMetricsBind } from '../metrics/sdk';
import { installTemporalRuntime, onShutdownSignal, openDatabase, Stack, startMailRuntime, startWorker } from '../runtime';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'kap-worker');
  if (!config.TEMPORAL_ADDRESS || !config.DATABASE_URL) {
    process.stderr.write('npm run worker needs TEMPORAL_ADDRESS and DATABASE_URL (use `npm start` for the embedded stack)\n');
    process.exit(2);
  }
  try {
    planMail(config, 'worker');
  } catch (err) {
    if (!(err instanceof MailConfigError)) throw err;
    process.stderr.write(`npm run worker: ${err.message}\n`);
    process.exit(2);
  }
  const stack = new Stack(log);
  onShutdownSignal(stack, log);
  installTemporalRuntime(log, { metricsBindAddress: await temporalMetricsBind(config) });
  const db = openDatabase(config, config.DATABASE_URL, stack, log);
  await startWorker(config, config.TEMPORAL_ADDRESS, db, stack, log, await startMailRuntime(config, db, stack, log, 'worker'));
}

main().catch((err) => {
  process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
