// Replays the committed histories of complete courses and of their assessment children (recorded from the real dev server by
// scripts/record-histories.ts) against the current workflow code. A failure here means a change is
// not replay-safe: patch it or version it (see src/workflows/README.md).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Runtime, makeTelemetryFilterString, Worker } from '@temporalio/worker';
import { historyFromJson } from '../../src/temporal/history-json';

const dir = path.join(__dirname, '../histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /-run\d+\.json$/.test(f)).sort() : [];
/** Loads a `temporal workflow show --output json` history. */
function loadHistory(file: string): unknown {
  return historyFromJson(fs.readFileSync(file, 'utf8'));
}

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(() => {
  try {
    Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  } catch {
    // already installed by another file in this process
  }
});

test('there are committed histories for every shipped protocol', () => {
  for (const id of ['kap-office', 'iv-series', 'spravato-rems']) expect(files.some((f) => f.startsWith(`${id}-`))).toBe(true);
});

test('every committed course history replays on the current workflow code', async () => {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: silent as never });
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: loadHistory(path.join(dir, f)) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'course-replay' }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(histories.length).toBe(files.length);
}, 120_000);

test('courses and assessments started on a patch baseline record no patch markers (src/workflows/baseline.ts)', () => {
  const onBaseline = files.filter((f) => f.includes('-baseline-'));
  expect(onBaseline.length).toBeGreaterThanOrEqual(4);
  for (const f of onBaseline) {
    const json = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { events: Array<{ eventType: string; markerRecordedEventAttributes?: { markerName?: string } }> };
    const markers = json.events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect({ file: f, patchMarkers: markers.length }).toEqual({ file: f, patchMarkers: 0 });
  }
});
