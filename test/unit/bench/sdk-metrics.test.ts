import { describeSdkWindow, readSdkMetrics, sdkWindow } from '../../../bench/sdk-metrics';
import { parseExposition } from '../../../src/metrics/exposition';

const parseProm = (text: string) => parseExposition(text).samples;

// Lines as the SDK's core writes them (seconds for durations, `_total` on counters).
const q = 'kap-bench-ladder-1';
const labels = (extra = '') => `namespace="default",service_name="temporal-core-sdk",task_queue="${q}",workflow_type="courseWorkflow"${extra}`;
const reading = (o: { hits: number; misses: number; replayN: number; replayS: number; execN: number; execS: number; fetchN: number; fetchS: number }) => `# HELP temporal_sticky_cache_hit_total Count of times the workflow cache was used
# TYPE temporal_sticky_cache_hit_total counter
temporal_sticky_cache_hit_total{${labels()}} ${o.hits}
temporal_sticky_cache_hit_total{namespace="default",service_name="temporal-core-sdk",task_queue="bench-one-row-1",workflow_type="oneRowWorkflow"} 999
temporal_sticky_cache_miss_total{${labels()}} ${o.misses}
temporal_workflow_task_replay_latency_seconds_bucket{${labels(',le="0.01"')}} 1
temporal_workflow_task_replay_latency_seconds_sum{${labels()}} ${o.replayS}
temporal_workflow_task_replay_latency_seconds_count{${labels()}} ${o.replayN}
temporal_workflow_task_execution_latency_seconds_sum{${labels()}} ${o.execS}
temporal_workflow_task_execution_latency_seconds_count{${labels()}} ${o.execN}
temporal_workflow_task_execution_latency_seconds_sum{namespace="default",service_name="temporal-core-sdk",task_queue="bench-one-row-1",workflow_type="oneRowWorkflow"} 50
temporal_workflow_task_execution_latency_seconds_count{namespace="default",service_name="temporal-core-sdk",task_queue="bench-one-row-1",workflow_type="oneRowWorkflow"} 5000
temporal_request_latency_seconds_sum{namespace="default",operation="GetWorkflowExecutionHistory",service_name="temporal-core-sdk"} ${o.fetchS}
temporal_request_latency_seconds_count{namespace="default",operation="GetWorkflowExecutionHistory",service_name="temporal-core-sdk"} ${o.fetchN}
`;

describe("the SDK core's metrics around a bench window", () => {
  it('reads nothing, without throwing, from an endpoint that does not answer (the window then has no SDK figures)', async () => {
    await expect(readSdkMetrics('127.0.0.1:1')).resolves.toBeNull();
  });

  it("keeps the difference of one worker's series: hits, misses, replay per miss, task and history fetch means", () => {
    const before = parseProm(reading({ hits: 100, misses: 10, replayN: 110, replayS: 0.2, execN: 110, execS: 3, fetchN: 10, fetchS: 0.05 }));
    const after = parseProm(reading({ hits: 160, misses: 50, replayN: 210, replayS: 1.0, execN: 210, execS: 7, fetchN: 50, fetchS: 0.25 }));
    const w = sdkWindow(before, after, q, 'courseWorkflow');
    expect(w.stickyHits).toBe(60);
    expect(w.stickyMisses).toBe(40);
    expect(w.replay).toEqual({ n: 100, meanMs: 8, totalMs: 800, perMissMs: 20 });
    // The one-row workflow's 5,000 tasks on its own queue are not counted.
    expect(w.taskExecution).toEqual({ n: 100, meanMs: 40, totalMs: 4000 });
    expect(w.historyFetch).toEqual({ n: 40, meanMs: 5, totalMs: 200 });
    expect(w.respondCompleted).toEqual({ n: 0, meanMs: null, totalMs: 0 });
    expect(describeSdkWindow(w)).toContain('misses 40');
    expect(describeSdkWindow(w)).toContain('20 ms per miss');
  });

  it('has no per-miss figure when nothing missed (a series the core has not written yet counts as 0)', () => {
    const before = parseProm('');
    const after = parseProm(`temporal_sticky_cache_hit_total{${labels()}} 5\ntemporal_workflow_task_replay_latency_seconds_sum{${labels()}} 0.001\ntemporal_workflow_task_replay_latency_seconds_count{${labels()}} 5\n`);
    const w = sdkWindow(before, after, q, 'courseWorkflow');
    expect(w.stickyMisses).toBe(0);
    expect(w.replay.perMissMs).toBeNull();
    expect(w.replay.meanMs).toBe(0.2);
  });
});
