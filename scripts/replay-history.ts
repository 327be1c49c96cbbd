// Replays `temporal workflow show --output json` histories on the current workflow code, decrypting
// with PAYLOAD_KEYS (from the environment or a PAYLOAD_KEYS file next to the histories).
//   npx tsx scripts/replay-history.ts test-artifacts/chaos/<run>/*.json
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, makeTelemetryFilterString, Worker } from '@temporalio/worker';
import { EncryptionCodec, parsePayloadKeys } from '../src/security/payload-codec';

function loadHistory(file: string): unknown {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  const nested = path.join(protoDir, 'node_modules/protobufjs/ext/protojson.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fromJson } = require(fs.existsSync(nested) ? nested : 'protobufjs/ext/protojson') as { fromJson: (t: unknown, v: unknown, o: unknown) => unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (r: unknown) => { lookupType(n: string): unknown } };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const type = patchProtobufRoot(require('@temporalio/proto')).lookupType('temporal.api.history.v1.History');
  return fromJson(type, JSON.parse(fs.readFileSync(file, 'utf8')), { ignoreUnknownFields: true });
}

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (!files.length) throw new Error('usage: replay-history <history.json>...');
  const keysFile = path.join(path.dirname(files[0]!), 'PAYLOAD_KEYS');
  const keys = process.env.PAYLOAD_KEYS ?? (fs.existsSync(keysFile) ? fs.readFileSync(keysFile, 'utf8').trim() : undefined);
  Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: (process.env.CORE_LOG ?? 'WARN') as 'WARN' }), forward: {} } } });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows') });
  let failures = 0;
  for (const f of files) {
    const history = loadHistory(f);
    try {
      await Worker.runReplayHistory({ workflowBundle, ...(keys ? { dataConverter: { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(keys))] } } : {}), replayName: 'replay' }, history as never, path.basename(f));
      console.log(`ok   ${path.basename(f)}`);
    } catch (err) {
      failures++;
      console.log(`FAIL ${path.basename(f)}: ${(err as Error).message}`);
    }
  }
  process.exit(failures ? 1 : 0);
}
void main();
