import { pcl5Change, remission, response } from '../../../src/domain';

describe('response (>= 50% drop from baseline)', () => {
  test.each([
    [20, 10, true, 50],
    [20, 11, false, 45],
    [20, 0, true, 100],
    [9, 4, true, (5 / 9) * 100],
    [9, 5, false, (4 / 9) * 100],
    [10, 15, false, -50],
  ])('baseline %i, current %i => %s', (baseline, current, isResponse, pct) => {
    const r = response(baseline, current);
    expect(r.response).toBe(isResponse);
    expect(r.changePercent).toBeCloseTo(pct);
  });

  test('baseline 0 cannot respond', () => {
    expect(response(0, 0)).toEqual({ changePercent: null, response: false });
  });

  test('rejects negative or non-finite scores', () => {
    expect(() => response(-1, 0)).toThrow(RangeError);
    expect(() => response(10, NaN)).toThrow(RangeError);
  });
});

describe('remission', () => {
  test.each([
    [4, 'phq9', true], [5, 'phq9', false],
    [4, 'gad7', true], [5, 'gad7', false],
    [5, 'qids-sr16', true], [6, 'qids-sr16', false],
  ] as const)('total %i on %s => %s', (total, instrument, expected) => {
    expect(remission(total, instrument)).toBe(expected);
  });
  test('PHQ-9 is the default', () => {
    expect(remission(4)).toBe(true);
    expect(remission(5)).toBe(false);
  });
});

describe('PCL-5 change (5 reliable, 10 clinically meaningful)', () => {
  test.each([
    [50, 46, 'no-reliable-change', false, false],
    [50, 45, 'reliable-improvement', true, false],
    [50, 41, 'reliable-improvement', true, false],
    [50, 40, 'clinically-meaningful-improvement', true, true],
    [40, 44, 'no-reliable-change', false, false],
    [40, 45, 'reliable-worsening', true, false],
    [40, 50, 'clinically-meaningful-worsening', true, true],
  ])('%i -> %i: %s', (baseline, current, category, reliable, meaningful) => {
    expect(pcl5Change(baseline, current)).toEqual({ improvement: baseline - current, category, reliable, clinicallyMeaningful: meaningful });
  });
});
