import { machineCpuSeconds, parseProcStatCpu } from '../../../bench/cpu';

describe("the whole machine's CPU from /proc/stat", () => {
  it('counts user, nice, system, irq and softirq as busy and steal on its own; idle and iowait are neither', () => {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    expect(parseProcStatCpu('cpu  1000 20 300 90000 400 5 75 250 0 0\ncpu0 500 10 150 45000 200 2 40 120 0 0\n')).toEqual({ busy: 14, steal: 2.5 });
  });

  it('refuses what is not the summary line', () => {
    expect(parseProcStatCpu('cpu0 1 2 3 4 5 6 7 8')).toBeNull();
    expect(parseProcStatCpu('cpu  1 2 3')).toBeNull();
    expect(parseProcStatCpu('cpu  1 2 x 4 5 6 7 8')).toBeNull();
  });

  it("moves with this process's work on Linux", () => {
    const a = machineCpuSeconds();
    if (a === null) {
      // Not Linux: the figure is null, never a made-up zero.
      expect(process.platform).not.toBe('linux');
      return;
    }
    const t0 = Date.now();
    while (Date.now() - t0 < 300) Math.sqrt(Math.random());
    const b = machineCpuSeconds()!;
    expect(b.busy - a.busy).toBeGreaterThanOrEqual(0.15);
    expect(b.steal).toBeGreaterThanOrEqual(a.steal);
  });
});
