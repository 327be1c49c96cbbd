// Workflow histories as `temporal workflow show --output json` writes them, read and written with the
// protobufjs copy that @temporalio/proto carries. Not historyFromJSON / historyToJSON from
// @temporalio/common: in this install @temporalio/common and @temporalio/proto each carry their own
// copy of protobufjs, and the common copy's protojson rejects the proto copy's types ("type must be a
// Type"). Used by the replay tests, the chaos checks and scripts/replay-history.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';

interface HistoryType {
  fromObject(o: unknown): unknown;
}
type ProtoJson = { fromJson(t: unknown, v: unknown, o: unknown): unknown; toJson(t: unknown, m: unknown): unknown };

function codec(): { type: HistoryType; protojson: ProtoJson } {
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
  const nested = path.join(protoDir, 'node_modules/protobufjs/ext/protojson.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const protojson = require(fs.existsSync(nested) ? nested : 'protobufjs/ext/protojson') as ProtoJson;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot: (r: unknown) => { lookupType(n: string): HistoryType } };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const type = patchProtobufRoot(require('@temporalio/proto')).lookupType('temporal.api.history.v1.History');
  return { type, protojson };
}

/** A history from its JSON text. */
export function historyFromJson(text: string): temporal.api.history.v1.IHistory {
  const { type, protojson } = codec();
  return protojson.fromJson(type, JSON.parse(text), { ignoreUnknownFields: true }) as temporal.api.history.v1.IHistory;
}

/** A history as JSON text, in the CLI's format. */
export function historyToJson(history: temporal.api.history.v1.IHistory): string {
  const { type, protojson } = codec();
  return JSON.stringify(protojson.toJson(type, type.fromObject(history)), null, 2);
}
