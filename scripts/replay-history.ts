// Replays `temporal workflow show --output json` histories on the current workflow code, decrypting
// with PAYLOAD_KEYS (from the environment or a PAYLOAD_KEYS file next to the histories).
//   npx tsx scripts/replay-history.ts test-artifacts/chaos/<run>/*.json
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, makeTelemetryFilterString, Worker } from '@temporalio/worker';
import { EncryptionCodec, parsePayloadKeys } from '../src/security/payload-codec';
import { historyFromJson } from '../src/temporal/history-json';

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (!files.length) throw new Error('usage: replay-history <history.json>...');
  const keysFile = path.join(path.dirname(files[0]!), 'PAYLOAD_KEYS');
  const keys = process.env.PAYLOAD_KEYS ?? (fs.existsSync(keysFile) ? fs.readFileSync(keysFile, 'utf8').trim() : undefined);
  Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: (process.env.CORE_LOG ?? 'WARN') as 'WARN' }), forward: {} } } });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows') });
  let failures = 0;
  for (const f of files) {
    const history = historyFromJson(fs.readFileSync(f, 'utf8'));
    try {
      await Worker.runReplayHistory({ workflowBundle, ...(keys ? { dataConverter: { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(keys), 'mark')] } } : {}), replayName: 'replay' }, history as never, path.basename(f));
      console.log(`ok   ${path.basename(f)}`);
    } catch (err) {
      failures++;
      console.log(`FAIL ${path.basename(f)}: ${(err as Error).message}`);
    }
  }
  process.exit(failures ? 1 : 0);
}
void main();
