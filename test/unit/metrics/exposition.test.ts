import { Counter, Gauge, Histogram, parseExposition, Registry } from '../../../src/metrics/exposition';

describe('Prometheus exposition', () => {
  test('renders counters, gauges and cumulative histogram buckets that parse back', () => {
    const r = new Registry();
    const c = r.register(new Counter('kap_things_total', 'Things.'));
    const g = r.register(new Gauge('kap_level', 'A level\nwith a newline in its help.'));
    const h = r.register(new Histogram('kap_latency_seconds', 'Latency.', [0.1, 1]));
    c.inc({ kind: 'a' });
    c.inc({ kind: 'a' }, 2);
    g.set({ step: 'dose-"2"\\x' }, 7);
    h.observe({ route: '/api/courses/:id' }, 0.05);
    h.observe({ route: '/api/courses/:id' }, 0.5);
    h.observe({ route: '/api/courses/:id' }, 5);
    const text = r.render();
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
    expect(value('kap_latency_seconds_bucket', { route: '/api/courses/:id', le: '0.1' })).toBe(1);
    expect(value('kap_latency_seconds_bucket', { route: '/api/courses/:id', le: '1' })).toBe(2);
    expect(value('kap_latency_seconds_bucket', { route: '/api/courses/:id', le: '+Inf' })).toBe(3);
    expect(value('kap_latency_seconds_count', { route: '/api/courses/:id' })).toBe(3);
    expect(value('kap_latency_seconds_sum', { route: '/api/courses/:id' })).toBeCloseTo(5.55);
    expect(text).toContain('# HELP kap_level A level\\nwith a newline in its help.\n');
  });

  test('a gauge reset drops series that no longer exist', () => {
    const r = new Registry();
    const g = r.register(new Gauge('kap_open', 'Open.'));
    g.set({ step: 'a' }, 1);
    g.reset();
    g.set({ step: 'b' }, 2);
    expect(parseExposition(r.render()).samples).toEqual([{ name: 'kap_open', labels: { step: 'b' }, value: 2 }]);
  });

  test('rejects bad names and duplicate registrations; the parser finds malformed lines', () => {
    expect(() => new Gauge('kap-bad', 'x')).toThrow();
    const r = new Registry();
    r.register(new Gauge('kap_x', 'x'));
    expect(() => r.register(new Gauge('kap_x', 'x'))).toThrow();
    expect(parseExposition('kap_x{a="1"} notanumber\n').errors).toHaveLength(1);
    expect(parseExposition('# TYPE kap_x wat\n').errors).toHaveLength(1);
  });
});
