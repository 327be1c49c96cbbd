// The Temporal SDK runtime's own metrics (worker task slots, poll and schedule-to-start latencies,
// sticky cache size and hits, activity and workflow task outcomes). Core serves them in Prometheus
// format on a loopback address of its own; the API's GET /metrics fetches and appends them, so one
// scrape of the API sees the worker of the same process too. A worker in another process (`npm run
// worker`) is scraped at its own TEMPORAL_METRICS_BIND address.
import net from 'node:net';
import type { MetricsExporterConfig } from '@temporalio/worker';

let boundAddress: string | undefined;

/** The `telemetryOptions.metrics` for Runtime.install; remembers the address for GET /metrics. */
export function sdkMetricsOptions(bindAddress: string): MetricsExporterConfig {
  boundAddress = bindAddress;
  // Prometheus naming: counters end in _total, durations in seconds with the unit in the name.
  return { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } };
}

/** Where this process's SDK runtime serves its metrics, if it does. */
export function sdkMetricsAddress(): string | undefined {
  return boundAddress;
}

/** The SDK's exposition text, or null when it is not served here or does not answer in time. */
export async function fetchSdkMetrics(address = boundAddress, timeoutMs = 1000): Promise<string | null> {
  if (!address) return null;
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return await res.text();
  } catch {
    return null;
  }
}

/**
 * The bind address for the SDK's metrics: TEMPORAL_METRICS_BIND, nothing when it is 'off', else a free
 * loopback port (logged at start-up; set TEMPORAL_METRICS_BIND to give Prometheus a fixed one).
 */
export async function temporalMetricsBind(config: { TEMPORAL_METRICS_BIND?: string }): Promise<string | undefined> {
  if (config.TEMPORAL_METRICS_BIND === 'off') return undefined;
  if (config.TEMPORAL_METRICS_BIND) return config.TEMPORAL_METRICS_BIND;
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return `127.0.0.1:${port}`;
}
