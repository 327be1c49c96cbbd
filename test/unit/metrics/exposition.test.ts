import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EXPOSITION_CONTENT_TYPE, parseExposition } from '../../../src/metrics/exposition';

// The registry is prom-client's; these check that what it renders is what we promise to serve
// (and that our parser, used by the integration test and the bench, reads it back exactly).
describe('Prometheus exposition', () => {
  test("prom-client's counters, gauges and cumulative histogram buckets parse back", async () => {
    const registers = [new Registry()];
    const c = new Counter({ name: 'kap_things_total', help: 'Things.', labelNames: ['kind'], registers });
    const g = new Gauge({ name: 'kap_level', help: 'A level\nwith a newline in its help.', labelNames: ['step'], registers });
    const h = new Histogram({ name: 'kap_latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1], registers });
    c.inc({ kind: 'a' });
    c.inc({ kind: 'a' }, 2);
    g.set({ step: 'dose-"2"\\x' }, 7);
    h.observe({ route: '/api/courses/:id' }, 0.05);
    h.observe({ route: '/api/courses/:id' }, 0.5);
    h.observe({ route: '/api/courses/:id' }, 5);
    const text = await registers[0]!.metrics();
    const parsed = parseExposition(text);
    expect(parsed.errors).toEqual([]);
    expect([...parsed.families]).toEqual([
      ['kap_things_total', 'counter'],
      ['kap_level', 'gauge'],
      ['kap_latency_seconds', 'histogram'],
    ]);
    const value = (name: string, labels: Record<string, string>) => parsed.samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(value('kap_things_total', { kind: 'a' })).toBe(3);
    expect(value('kap_level', { step: 'dose-"2"\\x' })).toBe(7);
    expect(value('kap_latency_seconds_bucket', { le: '0.1', route: '/api/courses/:id' })).toBe(1);
    expect(value('kap_latency_seconds_bucket', { le: '1', route: '/api/courses/:id' })).toBe(2);
    expect(value('kap_latency_seconds_bucket', { le: '+Inf', route: '/api/courses/:id' })).toBe(3);
    expect(value('kap_latency_seconds_count', { route: '/api/courses/:id' })).toBe(3);
    expect(value('kap_latency_seconds_sum', { route: '/api/courses/:id' })).toBeCloseTo(5.55);
    expect(text).toContain('# HELP kap_level A level\\nwith a newline in its help.\n');
    expect(registers[0]!.contentType).toBe(EXPOSITION_CONTENT_TYPE);
  });

  test('a gauge reset drops series that no longer exist', async () => {
    const registers = [new Registry()];
    const g = new Gauge({ name: 'kap_open', help: 'Open.', labelNames: ['step'], registers });
    g.set({ step: 'a' }, 1);
    g.reset();
    g.set({ step: 'b' }, 2);
    expect(parseExposition(await registers[0]!.metrics()).samples).toEqual([{ name: 'kap_open', labels: { step: 'b' }, value: 2 }]);
  });

  test('bad names and duplicate registrations are refused; the parser finds malformed lines', () => {
    expect(() => new Gauge({ name: 'kap-bad', help: 'x', registers: [] })).toThrow();
    const r = new Registry();
    new Gauge({ name: 'kap_x', help: 'x', registers: [r] });
    expect(() => new Gauge({ name: 'kap_x', help: 'x', registers: [r] })).toThrow();
    expect(parseExposition('kap_x{a="1"} notanumber\n').errors).toHaveLength(1);
    expect(parseExposition('# TYPE kap_x wat\n').errors).toHaveLength(1);
    expect(parseExposition('# TYPE kap_x gauge\n# TYPE kap_x gauge\n').errors).toHaveLength(1);
  });
});
