// Replays the committed histories (recorded from the real dev server by scripts/record-histories.ts:
// one complete course per shipped protocol and the branches that matter; a course holds its
// assessments, src/workflows/forms.ts) against the current workflow code. A failure here means a change is not replay-safe:
// before the first release, re-record; after it, patch or version (see src/workflows/README.md).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { bundleWorkflowCode, Runtime, makeTelemetryFilterString, Worker } from '@temporalio/worker';
import { PRELOAD_MODULES } from '../../src/worker/bundle';
import { listProtocols } from '../../src/domain';
import { historyFromJson } from '../../src/temporal/history-json';

const dir = path.join(__dirname, '../histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json.gz')).sort() : [];
/** The text of a gzipped `temporal workflow show --output json` history. */
const read = (file: string): string => zlib.gunzipSync(fs.readFileSync(path.join(dir, file))).toString('utf8');

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(() => {
  try {
    Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  } catch {
    // already installed by another file in this process
  }
});

test('there are committed histories: a complete course of every shipped protocol, and each branch', () => {
  for (const p of listProtocols()) expect(files).toContain(`${p.id}-complete-run1.json.gz`);
  for (const branch of ['kap-office-critical-hold', 'kap-office-no-show-pause', 'kap-office-withdrawal', 'iv-series-continue-as-new', 'kap-office-maintenance-booster', 'kap-office-moved', 'spravato-rems-form-late']) {
    expect(files).toContain(`${branch}-run1.json.gz`);
  }
  // The continue-as-new branch holds more than one run.
  expect(files).toContain('iv-series-continue-as-new-run2.json.gz');
  // No assessment workflows any more: a history per course run only.
  expect(files.filter((f) => !/-run\d+\.json\.gz$/.test(f))).toEqual([]);
});

test('every committed history replays on the current workflow code', async () => {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), preloadModules: [...PRELOAD_MODULES], logger: silent as never });
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json\.gz$/, ''), history: historyFromJson(read(f)) }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'course-replay' }, histories)) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
}, 180_000);

test('no history holds a patch marker (the workflows carry no patch before the first release)', () => {
  for (const f of files) {
    const json = JSON.parse(read(f)) as { events: Array<{ markerRecordedEventAttributes?: { markerName?: string } }> };
    const markers = json.events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect({ file: f, patchMarkers: markers.length }).toEqual({ file: f, patchMarkers: 0 });
  }
});

test('the committed histories stay under 3 MB in total', () => {
  const bytes = fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
  expect(bytes).toBeLessThan(3 * 1024 * 1024);
});
