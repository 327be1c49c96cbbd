import { capacityRange, cpuAtKnees, GAUGE_RATE_PER_S, kneeBracket, machineGauge, nextProbe, type GaugeRow, type KneeSample } from '../../../bench/knee';

const s = (kind: string, offeredPerS: number, keptUp: boolean, repeat = 0): KneeSample => ({ kind, repeat, offeredPerS, keptUp });
const LADDER = [2, 5, 10, 20, 40, 60, 80];

describe('the knee of a ladder, narrowed by bisection', () => {
  it('brackets the knee between the highest rate every sample kept up and the next rate above it', () => {
    const samples = [s('engine', 5, true), s('engine', 5, true), s('engine', 10, true), s('engine', 10, true), s('engine', 20, true), s('engine', 20, false), s('engine', 40, false)];
    // 20/s: one of the two samples did not keep up, so the knee is 10.
    expect(kneeBracket(samples, 'engine', 0, LADDER)).toEqual({ lo: 10, hi: 20 });
    // Other kinds and repeats are not mixed in.
    expect(kneeBracket([...samples, s('engine', 20, true, 1), s('baseline', 40, true)], 'engine', 0, LADDER)).toEqual({ lo: 10, hi: 20 });
  });

  it('counts a planned rate that was skipped after saturation as the upper end, and an open bracket at the top', () => {
    expect(kneeBracket([s('engine', 20, true), s('engine', 40, false)], 'engine', 0, LADDER)).toEqual({ lo: 20, hi: 40 });
    expect(kneeBracket([s('baseline', 80, true)], 'baseline', 0, LADDER)).toEqual({ lo: 80, hi: null });
    expect(kneeBracket([s('engine', 2, false)], 'engine', 0, LADDER)).toEqual({ lo: 0, hi: 2 });
  });

  it('moves to the half the probe falls in and stops when the bracket is narrow', () => {
    let samples: KneeSample[] = [s('engine', 10, true), s('engine', 20, false)];
    const probes: number[] = [];
    // An engine that keeps up to 15/s and not above.
    for (let p = nextProbe(kneeBracket(samples, 'engine', 0, LADDER)); p !== null; p = nextProbe(kneeBracket(samples, 'engine', 0, LADDER))) {
      probes.push(p);
      samples = [...samples, s('engine', p, p <= 15), s('engine', p, p <= 15)];
      if (probes.length > 10) throw new Error('bisection does not stop');
    }
    expect(probes).toEqual([14, 17, 15]);
    expect(kneeBracket(samples, 'engine', 0, LADDER)).toEqual({ lo: 15, hi: 17 });
  });

  it('probes inside the bracket only', () => {
    expect(nextProbe({ lo: 40, hi: null })).toBeNull();
    expect(nextProbe({ lo: 20, hi: 22 })).toBeNull();
    expect(nextProbe({ lo: 0, hi: 2 })).toBe(1);
    expect(nextProbe({ lo: 2, hi: 3 })).toBe(2.4);
    expect(nextProbe({ lo: 5, hi: 6 })).toBeNull();
  });

  it('probes an open bracket upward, to the ceiling, then narrows what it finds', () => {
    expect(nextProbe({ lo: 40, hi: null }, 0.15, 60)).toBe(60);
    expect(nextProbe({ lo: 30, hi: null }, 0.15, 60)).toBe(45);
    expect(nextProbe({ lo: 60, hi: null }, 0.15, 60)).toBeNull(); // at the ceiling: the knee is at least 60
    expect(nextProbe({ lo: 0, hi: null }, 0.15, 60)).toBeNull();
    // A baseline that keeps up at the whole ladder (10, 20, 40/s) and up to 52/s, not above.
    const ladder = [10, 20, 40];
    let samples: KneeSample[] = ladder.map((r) => s('baseline', r, true));
    const probes: number[] = [];
    for (let p = nextProbe(kneeBracket(samples, 'baseline', 0, ladder), 0.15, 60); p !== null; p = nextProbe(kneeBracket(samples, 'baseline', 0, ladder), 0.15, 60)) {
      probes.push(p);
      samples = [...samples, s('baseline', p, p <= 52)];
      if (probes.length > 10) throw new Error('probing does not stop');
    }
    expect(probes).toEqual([60, 49, 54]);
    expect(kneeBracket(samples, 'baseline', 0, ladder)).toEqual({ lo: 49, hi: 54 });
  });

  it('gives the range the capacity ratio lies in', () => {
    expect(capacityRange({ lo: 15, hi: 17 }, { lo: 30, hi: 34 })).toEqual([0.44, 0.57]);
    expect(capacityRange({ lo: 15, hi: 17 }, { lo: 80, hi: null })).toBeNull();
    expect(capacityRange({ lo: 80, hi: null }, { lo: 30, hi: 34 })).toEqual([2.35, null]);
  });
});

describe("the machine's gauge: the one-row workflow's CPU per course at a fixed rate", () => {
  const row = (offeredPerS: number, keptUp: number, samples = 3, total: number | null = 0.05): GaugeRow => ({ offeredPerS, samples, keptUp, cpuSecondsPerCourse: { engineProcess: 0.02, temporalServer: 0.03, database: null, total } });

  it('reads the one-row workflow at the gauge rate, whatever rate the CPU ratio was compared at', () => {
    expect(GAUGE_RATE_PER_S).toBe(20);
    expect(machineGauge([row(10, 3, 3, 0.07), row(20, 3, 3, 0.056), row(24, 2, 2, 0.05)])).toEqual({ offeredPerS: 20, oneRowCpuSecondsPerCourse: 0.056, process: 0.02, temporalServer: 0.03 });
  });

  it('gives no gauge where the one-row workflow fell behind at that rate, was not offered it, or has no CPU figure', () => {
    expect(machineGauge([row(10, 3), row(20, 2)])).toBeNull();
    expect(machineGauge([row(10, 3), row(40, 3)])).toBeNull();
    expect(machineGauge([row(20, 3, 3, null)])).toBeNull();
    expect(machineGauge([])).toBeNull();
  });
});

describe("each kind's CPU per course at its own knee", () => {
  const at = (offeredPerS: number, total: number | null, keptUp = true) => ({ offeredPerS, keptUp, cpuSecondsPerCourse: { total, engineProcess: null } });
  it('reads each kind at its own knee, not at a shared rate, and gives one over their ratio', () => {
    // Run A of 2026-12-06 23:48: engine knee 26 (0.060), one-row knee 40 (0.038); capacity measured 0.65.
    const r = cpuAtKnees({ knee: 26, samples: [at(20, 0.054), at(26, 0.06), at(28, 0.055, false)] }, { knee: 40, samples: [at(20, 0.042), at(26, 0.041), at(40, 0.037), at(40, 0.039)] });
    expect(r).toEqual({ engine: { atPerS: 26, cpuSecondsPerCourse: 0.06, samples: 1 }, baseline: { atPerS: 40, cpuSecondsPerCourse: 0.038, samples: 2 }, ratio: 1.58, capacityImplied: 0.63 });
  });
  it("leaves out a sample at the knee's rate that fell behind (its backlog's cost is not the knee's)", () => {
    const r = cpuAtKnees({ knee: 22, samples: [at(22, 0.061), at(22, 0.09, false)] }, { knee: 40, samples: [at(40, 0.04)] });
    expect(r?.engine).toEqual({ atPerS: 22, cpuSecondsPerCourse: 0.061, samples: 1 });
  });
  it('is null when a knee is 0, falls between measured rates, or has no CPU figure', () => {
    expect(cpuAtKnees({ knee: 0, samples: [at(10, 0.05)] }, { knee: 40, samples: [at(40, 0.038)] })).toBeNull();
    expect(cpuAtKnees({ knee: 27, samples: [at(26, 0.06), at(28, 0.055)] }, { knee: 40, samples: [at(40, 0.038)] })).toBeNull();
    expect(cpuAtKnees({ knee: 26, samples: [at(26, 0.06)] }, { knee: 40, samples: [at(40, null)] })).toBeNull();
  });
});
