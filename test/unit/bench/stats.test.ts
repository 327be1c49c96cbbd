import { parseExposition } from '../../../src/metrics/exposition';
import { counterDeltas, counterSums } from '../../../bench/stats';

// The grown window's SDK counters (bench/phases/grown.ts): what the worker did in the window, read as
// the difference of two Prometheus scrapes of its runtime.
const scrape = (hits: number, misses: number, tasks: number, cache: number) =>
  parseExposition(
    [
      '# TYPE temporal_sticky_cache_hit_total counter',
      `temporal_sticky_cache_hit_total{namespace="default",task_queue="q"} ${hits}`,
      '# TYPE temporal_sticky_cache_miss_total counter',
      `temporal_sticky_cache_miss_total{namespace="default",task_queue="q"} ${misses}`,
      '# TYPE temporal_sticky_cache_size gauge',
      `temporal_sticky_cache_size{namespace="default"} ${cache}`,
      '# TYPE temporal_workflow_task_execution_latency_seconds histogram',
      `temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="course",le="0.1"} ${tasks - 1}`,
      `temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="course",le="+Inf"} ${tasks - 1}`,
      `temporal_workflow_task_execution_latency_seconds_count{workflow_type="course"} ${tasks - 1}`,
      `temporal_workflow_task_execution_latency_seconds_bucket{workflow_type="noop",le="+Inf"} 1`,
      `temporal_workflow_task_execution_latency_seconds_count{workflow_type="noop"} 1`,
      '',
    ].join('\n'),
  ).samples;

describe('SDK counters for a bench window', () => {
  it('sums each counter and histogram count over its labels, and leaves gauges and buckets out', () => {
    const sums = counterSums(scrape(10, 2, 30, 500));
    expect(Object.fromEntries(sums)).toEqual({
      temporal_sticky_cache_hit_total: 10,
      temporal_sticky_cache_miss_total: 2,
      temporal_workflow_task_execution_latency_seconds_count: 30,
    });
  });

  it('reports only what moved between the two scrapes, and a counter first seen in the second from zero', () => {
    const before = counterSums(scrape(10, 2, 30, 500));
    const after = counterSums([...scrape(25, 2, 41, 900), { name: 'temporal_workflow_completed_total', labels: {}, value: 3 }]);
    expect(counterDeltas(before, after)).toEqual({
      temporal_sticky_cache_hit_total: 15,
      temporal_workflow_completed_total: 3,
      temporal_workflow_task_execution_latency_seconds_count: 11,
    });
  });
});
