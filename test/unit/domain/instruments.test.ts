import {
  InvalidAnswersError,
  createPcl5,
  cssrs,
  gad7,
  getInstrument,
  listInstruments,
  pcl5,
  phq9,
  qidsSr16,
  type CssrsRisk,
  type Instrument,
} from '../../../src/domain';
import { forAll, randomInt } from './prng';

/** Answers with the given total, filled from item 1 onwards (so later items stay 0 where possible). */
function withTotal(total: number, items: number, max: number): number[] {
  const out: number[] = [];
  let left = total;
  for (let i = 0; i < items; i++) {
    const v = Math.min(max, left);
    out.push(v);
    left -= v;
  }
  if (left !== 0) throw new Error('total out of range');
  return out;
}

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidAnswersError);
    return (err as InvalidAnswersError).problems;
  }
  throw new Error('expected InvalidAnswersError');
}

describe('PHQ-9', () => {
  test.each([
    [0, 'minimal'], [4, 'minimal'],
    [5, 'mild'], [9, 'mild'],
    [10, 'moderate'], [14, 'moderate'],
    [15, 'moderately-severe'], [19, 'moderately-severe'],
    [20, 'severe'], [27, 'severe'],
  ])('total %i is %s', (total, band) => {
    const r = phq9.score(withTotal(total, 9, 3));
    expect(r.total).toBe(total);
    expect(r.band).toBe(band);
  });

  test.each([
    [0, false],
    [1, true],
    [2, true],
    [3, true],
  ])('item 9 = %i => critical %s', (item9, critical) => {
    const r = phq9.score([0, 0, 0, 0, 0, 0, 0, 0, item9]);
    expect(r.critical).toBe(critical);
    expect(r.item9).toBe(item9);
    expect(r.criticalItems).toEqual(critical ? [9] : []);
    expect(r.flags.some((f) => f.code === 'phq9-item9-positive' && f.severity === 'critical' && f.item === 9)).toBe(critical);
  });

  test('the example from the issue', () => {
    const r = phq9.score([1, 2, 0, 3, 1, 0, 2, 1, 0]);
    expect(r).toMatchObject({ total: 10, band: 'moderate', bandLabel: 'Moderate', critical: false, flags: [] });
  });

  test('LOINC: panel, total, items and answer codes', () => {
    expect(phq9.loinc).toEqual({ panel: '44249-1', total: '44261-6' });
    expect(phq9.options.map((o) => o.loincCode)).toEqual(['LA6568-5', 'LA6569-3', 'LA6570-1', 'LA6571-9']);
    expect(phq9.items).toHaveLength(9);
    expect(phq9.items[8]!.loincCode).toBe('44260-8');
    expect(phq9.items[0]!.text).toBe('Little interest or pleasure in doing things');
  });
});

describe('GAD-7', () => {
  test.each([
    [0, 'minimal'], [4, 'minimal'],
    [5, 'mild'], [9, 'mild'],
    [10, 'moderate'], [14, 'moderate'],
    [15, 'severe'], [21, 'severe'],
  ])('total %i is %s', (total, band) => {
    const r = gad7.score(withTotal(total, 7, 3));
    expect(r).toMatchObject({ total, band, critical: false });
  });

  test('LOINC codes', () => {
    expect(gad7.loinc).toEqual({ panel: '69737-5', total: '70274-6' });
    expect(gad7.options.map((o) => o.loincCode)).toEqual(['LA6568-5', 'LA6569-3', 'LA6570-1', 'LA6571-9']);
    expect(gad7.items).toHaveLength(7);
  });
});

describe('PCL-5', () => {
  test.each([
    [0, false], [32, false], [33, true], [80, true],
  ])('default cut-off 33: total %i => provisional PTSD %s', (total, provisional) => {
    const r = pcl5.score(withTotal(total, 20, 4));
    expect(r.total).toBe(total);
    expect(r.provisionalPtsd).toBe(provisional);
    expect(r.band).toBe(provisional ? 'provisional-ptsd' : 'below-cutoff');
    expect(r.cutoff).toBe(33);
  });

  test.each([
    [31, 30, false], [31, 31, true], [32, 31, false], [32, 32, true],
  ])('cut-off %i: total %i => provisional %s', (cutoff, total, provisional) => {
    expect(createPcl5({ cutoff }).score(withTotal(total, 20, 4)).provisionalPtsd).toBe(provisional);
  });

  test.each([0, 81, 32.5, NaN])('rejects cut-off %p', (cutoff) => {
    expect(() => createPcl5({ cutoff })).toThrow(RangeError);
  });

  // Minimal pattern meeting DSM-5: one B, one C, two D, two E rated exactly 2 (the threshold).
  const minimal = (): number[] => {
    const a = new Array<number>(20).fill(0);
    for (const n of [1, 6, 8, 9, 15, 16]) a[n - 1] = 2;
    return a;
  };
  test('minimal DSM-5 pattern (items rated 2) meets the rule', () => {
    const r = pcl5.score(minimal());
    expect(r.dsm5CriteriaMet).toBe(true);
    expect(r.clusters).toEqual({
      B: { endorsed: 1, required: 1, met: true, score: 2 },
      C: { endorsed: 1, required: 1, met: true, score: 2 },
      D: { endorsed: 2, required: 2, met: true, score: 4 },
      E: { endorsed: 2, required: 2, met: true, score: 4 },
    });
    expect(r.provisionalPtsd).toBe(false); // total 12: the two criteria are independent
  });

  test.each([
    ['B', 1],
    ['C', 6],
    ['D', 9],
    ['E', 16],
  ])('one symptom short in cluster %s => not met', (cluster, item) => {
    const a = minimal();
    a[item - 1] = 1; // rated 1 ("a little bit") does not count
    const r = pcl5.score(a);
    expect(r.dsm5CriteriaMet).toBe(false);
    expect(r.clusters[cluster as 'B'].met).toBe(false);
  });

  test('high total without the cluster pattern: provisional PTSD but DSM-5 rule not met', () => {
    const a = new Array<number>(20).fill(4);
    a[5] = 1;
    a[6] = 1; // no avoidance symptom
    const r = pcl5.score(a);
    expect(r.provisionalPtsd).toBe(true);
    expect(r.dsm5CriteriaMet).toBe(false);
  });
});

describe('C-SSRS screener', () => {
  const N = false;
  const Y = true;
  const _ = null;
  test.each<[string, Array<boolean | null>, CssrsRisk, Array<number | '6b'>]>([
    ['all no', [N, N, _, _, _, N], 'none', []],
    ['wish to be dead only', [Y, N, _, _, _, N], 'low', [1]],
    ['non-specific thoughts, no method/intent/plan', [N, Y, N, N, N, N], 'low', [2]],
    ['method', [Y, Y, Y, N, N, N], 'moderate', [3]],
    ['intent without plan', [Y, Y, N, Y, N, N], 'high', [4]],
    ['intent with plan', [Y, Y, Y, N, Y, N], 'high', [5]],
    ['behaviour in the past 3 months', [N, N, _, _, _, Y, Y], 'high', [6]],
    ['behaviour over 3 months ago only', [N, N, _, _, _, Y, N], 'moderate', [6]],
    ['behaviour, recency not given => treated as recent', [N, N, _, _, _, Y], 'high', [6]],
  ])('%s => %s', (_name, answers, risk, triggeredBy) => {
    const r = cssrs.score(answers);
    expect(r.risk).toBe(risk);
    expect(r.band).toBe(risk);
    expect(r.triggeredBy).toEqual(triggeredBy);
    expect(r.critical).toBe(risk === 'high');
  });

  test('recency assumed is flagged', () => {
    const r = cssrs.score([N, N, _, _, _, Y]);
    expect(r.recencyAssumed).toBe(true);
    expect(r.flags.map((f) => f.code)).toContain('cssrs-item6-recency-unknown');
  });

  test('absent (undefined) skipped items are accepted like null', () => {
    const a: Array<boolean | undefined> = [Y, N];
    a[5] = N;
    expect(cssrs.score(a).risk).toBe('low');
  });

  test.each<[string, unknown[], Array<[number | string | null, RegExp]>]>([
    ['item 2 no but item 4 answered yes (3 and 5 "no" are fine)', [Y, N, N, Y, N, N], [[4, /skipped because item 2 is "no"/]]],
    ['item 2 yes but items 3-5 blank', [Y, Y, _, _, _, N], [[3, /missing/], [4, /missing/], [5, /missing/]]],
    ['item 6 no but 6b answered', [N, N, _, _, _, N, Y], [['6b', /item 6 is "no"/]]],
    ['required items missing', [_, _, _, _, _, _], [[1, /missing/], [2, /missing/], [6, /missing/]]],
    ['not yes/no', ['yes', 1, _, _, _, N], [[1, /must be yes or no/], [2, /must be yes or no/]]],
    ['too many answers', [N, N, _, _, _, N, N, N], [['6b', /item 6 is "no"/], [8, /unexpected/]]],
  ])('invalid: %s', (_name, answers, expected) => {
    const problems = problemsOf(() => cssrs.score(answers as never));
    expect(problems.map((p) => p.item)).toEqual(expected.map(([item]) => item));
    expected.forEach(([, reason], i) => expect(problems[i]!.reason).toMatch(reason));
  });

  const rank: Record<CssrsRisk, number> = { none: 0, low: 1, moderate: 2, high: 3 };
  const randomValid = (rand: () => number): Array<boolean | null> => {
    const yes = () => rand() < 0.35;
    const q2 = yes();
    const q6 = yes();
    const a: Array<boolean | null> = [yes(), q2, q2 ? yes() : null, q2 ? yes() : null, q2 ? yes() : null, q6];
    a.push(q6 ? (rand() < 0.33 ? null : yes()) : null);
    return a;
  };
  test('property: answering "yes" to one more item never lowers the risk', () => {
    forAll(300, (rand) => {
      const before = randomValid(rand);
      const base = rank[cssrs.score(before).risk];
      for (let i = 0; i < 6; i++) {
        if (before[i] !== false) continue;
        const after = [...before];
        after[i] = true;
        if (i === 1) after[2] = after[3] = after[4] = false; // item 2 now yes: 3-5 get asked (answered no)
        if (i === 5) after[6] = rand() < 0.5 ? false : null;
        expect(rank[cssrs.score(after).risk]).toBeGreaterThanOrEqual(base);
      }
      // Learning that behaviour was recent never lowers risk either.
      if (before[5] === true && before[6] === false) expect(rank[cssrs.score([...before.slice(0, 6), true]).risk]).toBeGreaterThanOrEqual(base);
    });
  });
});

describe('QIDS-SR16', () => {
  // One item per domain carries the value: 1 (sleep), 5, 6 (appetite), 10, 11, 12, 13, 14, 15 (psychomotor).
  const DOMAIN_ITEMS = [1, 5, 6, 10, 11, 13, 14, 15, 12];
  const withQidsTotal = (total: number): number[] => {
    const a = new Array<number>(16).fill(0);
    withTotal(total, 9, 3).forEach((v, i) => (a[DOMAIN_ITEMS[i]! - 1] = v));
    return a;
  };
  test.each([
    [0, 'none'], [5, 'none'],
    [6, 'mild'], [10, 'mild'],
    [11, 'moderate'], [15, 'moderate'],
    [16, 'severe'], [20, 'severe'],
    [21, 'very-severe'], [27, 'very-severe'],
  ])('total %i is %s', (total, band) => {
    const r = qidsSr16.score(withQidsTotal(total));
    expect(r).toMatchObject({ total, band });
  });

  test('sleep, appetite/weight and psychomotor count their highest item only', () => {
    const a = new Array<number>(16).fill(0);
    [a[0], a[1], a[2], a[3]] = [1, 3, 2, 0];
    [a[5], a[6], a[7], a[8]] = [2, 0, 1, 2];
    [a[14], a[15]] = [1, 2];
    const r = qidsSr16.score(a);
    expect(r.domains).toMatchObject({ sleep: 3, appetiteWeight: 2, psychomotor: 2 });
    expect(r.total).toBe(7);
  });

  test('all items at maximum => 27', () => {
    expect(qidsSr16.score(new Array(16).fill(3)).total).toBe(27);
  });

  test.each([
    [0, false, []],
    [1, false, ['qids-item12-passive']],
    [2, true, ['qids-item12-suicidal-thoughts']],
    [3, true, ['qids-item12-suicidal-thoughts']],
  ])('item 12 = %i => critical %s', (v, critical, codes) => {
    const a = new Array<number>(16).fill(0);
    a[11] = v;
    const r = qidsSr16.score(a);
    expect(r.critical).toBe(critical);
    expect(r.flags.map((f) => f.code)).toEqual(codes);
  });
});

describe('invalid answers: one error naming each bad item', () => {
  const likert: Array<[Instrument, number, number]> = [
    [phq9, 9, 3],
    [gad7, 7, 3],
    [pcl5, 20, 4],
    [qidsSr16, 16, 3],
  ];

  test.each(likert.map(([i, n, max]) => [i.id, i, n, max] as const))('%s: each class of invalid input', (_id, instrument, n, max) => {
    // too few
    expect(problemsOf(() => instrument.score(new Array(n - 2).fill(0)))).toEqual([
      { item: n - 1, reason: 'missing' },
      { item: n, reason: 'missing' },
    ]);
    // too many
    expect(problemsOf(() => instrument.score(new Array(n + 1).fill(0)))).toEqual([{ item: n + 1, reason: expect.stringMatching(/unexpected answer/) }]);
    // out of range, non-integer, not a number, missing, all at once
    const a: unknown[] = new Array(n).fill(0);
    a[0] = max + 1;
    a[1] = -1;
    a[2] = 1.5;
    a[3] = '2';
    a[4] = null;
    const problems = problemsOf(() => instrument.score(a));
    expect(problems).toEqual([
      { item: 1, reason: expect.stringMatching(/out of range \(\d+; allowed 0-\d\)/) },
      { item: 2, reason: expect.stringMatching(/out of range/) },
      { item: 3, reason: expect.stringMatching(/not a whole number \(1.5\)/) },
      { item: 4, reason: expect.stringMatching(/not a number \("2"\)/) },
      { item: 5, reason: 'missing' },
    ]);
    // not a list at all
    expect(problemsOf(() => instrument.score('0,1,2' as never))).toEqual([{ item: null, reason: expect.stringMatching(/must be a list/) }]);
  });

  test('the error message names every item', () => {
    try {
      phq9.score([4, 0, 0, 0, 0, 0, 0, 0]);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidAnswersError);
      expect((err as Error).message).toBe('invalid phq9 answers: item 1: out of range (4; allowed 0-3); item 9: missing');
      expect((err as InvalidAnswersError).instrumentId).toBe('phq9');
      return;
    }
    throw new Error('expected a throw');
  });
});

describe('registry and properties', () => {
  test('getInstrument by id', () => {
    expect(['phq9', 'gad7', 'pcl5', 'cssrs', 'qids-sr16'].map((id) => getInstrument(id)?.id)).toEqual(['phq9', 'gad7', 'pcl5', 'cssrs', 'qids-sr16']);
    expect(getInstrument('madrs')).toBeUndefined();
    expect(getInstrument('toString')).toBeUndefined();
    expect(listInstruments()).toHaveLength(5);
  });

  test('bands tile the whole total range with no gaps or overlaps', () => {
    for (const i of listInstruments().filter((x) => x.bands.length > 0)) {
      expect(i.bands[0]!.min).toBe(i.minTotal);
      expect(i.bands[i.bands.length - 1]!.max).toBe(i.maxTotal);
      for (let k = 1; k < i.bands.length; k++) expect(i.bands[k]!.min).toBe(i.bands[k - 1]!.max + 1);
    }
  });

  test('property: random valid answers give a total in range and the band that contains it', () => {
    const likert = listInstruments().filter((i) => i.answerKind === 'integer');
    forAll(200, (rand) => {
      for (const i of likert) {
        const max = Math.max(...i.options.map((o) => o.value));
        const answers = i.items.map(() => randomInt(rand, 0, max));
        const r = i.score(answers);
        expect(Number.isInteger(r.total)).toBe(true);
        expect(r.total).toBeGreaterThanOrEqual(i.minTotal);
        expect(r.total).toBeLessThanOrEqual(i.maxTotal);
        const band = i.bands.find((b) => b.id === r.band)!;
        expect(r.total).toBeGreaterThanOrEqual(band.min);
        expect(r.total).toBeLessThanOrEqual(band.max);
      }
    });
  });

  test('property: raising one PHQ-9 answer never lowers the total or the band', () => {
    const order = phq9.bands.map((b) => b.id);
    forAll(200, (rand) => {
      const a = Array.from({ length: 9 }, () => randomInt(rand, 0, 3));
      const k = randomInt(rand, 0, 8);
      if (a[k] === 3) return;
      const b = [...a];
      b[k]! += 1;
      const [ra, rb] = [phq9.score(a), phq9.score(b)];
      expect(rb.total).toBe(ra.total + 1);
      expect(order.indexOf(rb.band)).toBeGreaterThanOrEqual(order.indexOf(ra.band));
    });
  });
});
