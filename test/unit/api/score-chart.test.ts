// The client page's score chart and critical-answer rule (issue #18 item 4): doses marked where they
// fall in time, the response line at half the baseline, the remission line only where the domain
// defines one, text >= 12 px, and a data table with scores and doses in time order.
import { criticalAnswer } from '../../../src/api/client-record';
import { scoreChart } from '../../../src/api/charts';
import type { InstrumentTrend, ScorePoint } from '../../../src/api/records';
import { getInstrument, REMISSION_BELOW } from '../../../src/domain';

function trend(instrumentId: 'phq9' | 'pcl5', totals: Array<[string, number]>): InstrumentTrend {
  const inst = getInstrument(instrumentId)!;
  const points: ScorePoint[] = totals.map(([at, total], i) => ({ assessmentId: `a${i}`, courseId: 'c1', stepKey: i ? `follow-${i}` : 'screening', instrumentId, completedAt: at, total, band: inst.bands.find((b) => total >= b.min && total <= b.max)!.id, critical: false }));
  const remissionBelow = instrumentId === 'phq9' ? REMISSION_BELOW.phq9 : null;
  return { instrumentId, name: inst.shortName, maxTotal: inst.maxTotal, bands: inst.bands.map((b) => ({ ...b })), points, baseline: totals[0]![1], latest: totals.at(-1)![1], changePercent: null, response: null, remission: null, remissionBelow, changeCategory: null };
}

test('a PHQ-9 from 16 to 7 with two doses between: markers in time order between the scores, response at 8, remission below 5, a table in time order', () => {
  const t = trend('phq9', [['2026-03-01T15:00:00Z', 16], ['2026-03-29T15:00:00Z', 7]]);
  const doses = [
    { courseId: 'c1', stepKey: 'dose-1', dosedAt: '2026-03-08T15:00:00Z' },
    { courseId: 'c1', stepKey: 'dose-2', dosedAt: '2026-03-15T15:00:00Z' },
  ];
  const svg = scoreChart(t, 'chart', doses, 'America/Los_Angeles').value;
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  const marks = [...svg.matchAll(/<g data-dose="(dose-\d)"><title>([^<]*)<\/title><line x1="([\d.]+)"/g)].map((m) => ({ step: m[1], title: m[2], x: Number(m[3]) }));
  expect(marks.map((m) => m.step)).toEqual(['dose-1', 'dose-2']);
  expect(marks[0]!.title).toBe('Dose 1 (dose-1) on 2026-03-08');
  expect(circles).toHaveLength(2);
  expect(circles[0]).toBeLessThan(marks[0]!.x);
  expect(marks[0]!.x).toBeLessThan(marks[1]!.x);
  expect(marks[1]!.x).toBeLessThan(circles[1]!);
  // A week is a quarter of the four weeks: the first dose a quarter of the way from the first score to the last.
  expect((marks[0]!.x - circles[0]!) / (circles[1]! - circles[0]!)).toBeCloseTo(0.25, 2);
  expect(svg).toContain('response: at or below 8 (50% drop)');
  expect(svg).toContain('remission: below 5');
  expect(svg).toContain('data-mark="remission"');
  for (const m of svg.matchAll(/font-size="(\d+)"/g)) expect(Number(m[1])).toBeGreaterThanOrEqual(12);
  expect(svg).toMatch(/aria-labelledby="chart-phq9-t chart-phq9-d"/);
  expect(svg).toContain('<desc id="chart-phq9-d">PHQ-9: 2 score(s), baseline 16, latest 7; 2 dose(s) marked.</desc>');
  const rows = [...svg.matchAll(/<tr><td>([\d-]+)<\/td><td>([^<]+)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
  expect(rows).toEqual(['2026-03-01 Score (baseline)', '2026-03-08 Dose 1 (dose-1)', '2026-03-15 Dose 2 (dose-2)', '2026-03-29 Score']);
});

test('a PCL-5 has no remission line (the domain defines none) and, without doses, no dose marker', () => {
  const svg = scoreChart(trend('pcl5', [['2026-03-01T15:00:00Z', 50], ['2026-03-29T15:00:00Z', 30]]), 'chart').value;
  expect(svg).not.toContain('data-mark="remission"');
  expect(svg).toContain('response: at or below 25 (50% drop)');
  expect(svg).not.toContain('data-dose=');
  expect(svg).toContain('0 dose(s) marked');
});

test('critical answers: PHQ-9 item 9 above 0; any C-SSRS yes (6b included); nothing else', () => {
  expect(criticalAnswer('phq9', '9', 1)).toBe(true);
  expect(criticalAnswer('phq9', '9', 0)).toBe(false);
  expect(criticalAnswer('phq9', '8', 3)).toBe(false);
  for (const item of ['1', '2', '3', '4', '5', '6', '6b']) {
    expect(criticalAnswer('cssrs', item, true)).toBe(true);
    expect(criticalAnswer('cssrs', item, false)).toBe(false);
    expect(criticalAnswer('cssrs', item, null)).toBe(false);
  }
  expect(criticalAnswer('gad7', '7', 3)).toBe(false);
});
