// Synthetic clients' symptom trajectories (src/cli/commands/simulate-trajectory.ts): deterministic by
// seed, within each instrument's range, improving over a course for responders and not for
// non-responders, and posted as item answers that add up to the score the page will compute.
import { clientForm } from '../../../src/cli/commands/simulate';
import { clientTrajectory, itemAnswers, maxTotal, scoreAt, timePointOf, TRAJECTORY_INSTRUMENTS, type TimePoint } from '../../../src/cli/commands/simulate-trajectory';
import { response, remission } from '../../../src/domain/outcomes';
import { getInstrument } from '../../../src/domain/instruments';

const POINTS: TimePoint[] = [{ kind: 'baseline' }, ...[1, 2, 3, 4, 5, 6].map((n) => ({ kind: 'dose' as const, n, of: 6 })), { kind: 'post-course' }, ...[30, 90, 180].map((days) => ({ kind: 'follow-up' as const, days }))];
const clinic = (seed: number, n = 200) => Array.from({ length: n }, (_, i) => clientTrajectory(seed, i + 1));

test('the same seed and client give the same scores at every time point, asked in any order; another seed gives another clinic', () => {
  const a = clinic(7, 20).map((t) => POINTS.map((p) => scoreAt(t, 'phq9', p)));
  const b = clinic(7, 20).map((t) => [...POINTS].reverse().map((p) => scoreAt(t, 'phq9', p)).reverse());
  expect(b).toEqual(a);
  const c = clinic(8, 20).map((t) => POINTS.map((p) => scoreAt(t, 'phq9', p)));
  expect(c).not.toEqual(a);
});

test('scores are whole and within each instrument range; baselines are a clinic intake (moderate or worse on the PHQ-9)', () => {
  for (const t of clinic(3)) {
    expect(t.baseline.phq9).toBeGreaterThanOrEqual(10);
    for (const i of TRAJECTORY_INSTRUMENTS) {
      for (const p of POINTS) {
        const s = scoreAt(t, i, p);
        expect(Number.isInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(maxTotal(i));
      }
    }
  }
  const mean = clinic(3).reduce((a, t) => a + t.baseline.phq9, 0) / 200;
  expect(mean).toBeGreaterThan(13);
  expect(mean).toBeLessThan(19);
});

test('responders improve over the course and non-responders do not; response and remission rates are plausible, not all-or-nothing', () => {
  const ts = clinic(11, 400);
  const responders = ts.filter((t) => t.responder);
  expect(responders.length / ts.length).toBeGreaterThan(0.5);
  expect(responders.length / ts.length).toBeLessThan(0.75);
  const post = (t: (typeof ts)[number]) => scoreAt(t, 'phq9', { kind: 'post-course' });
  const responded = ts.filter((t) => response(t.baseline.phq9, post(t)).response).length / ts.length;
  const remitted = ts.filter((t) => remission(post(t), 'phq9')).length / ts.length;
  expect(responded).toBeGreaterThan(0.45);
  expect(responded).toBeLessThan(0.8);
  expect(remitted).toBeGreaterThan(0.1);
  expect(remitted).toBeLessThan(0.5);
  // The curve: on average a responder's score falls dose by dose; a non-responder's ends near the start.
  const avg = (group: typeof ts, p: TimePoint) => group.reduce((a, t) => a + scoreAt(t, 'phq9', p), 0) / group.length;
  const dose = (n: number): TimePoint => ({ kind: 'dose', n, of: 6 });
  expect(avg(responders, dose(3))).toBeLessThan(avg(responders, dose(1)));
  expect(avg(responders, { kind: 'post-course' })).toBeLessThan(avg(responders, dose(4)));
  const non = ts.filter((t) => !t.responder);
  expect(avg(non, { kind: 'post-course' })).toBeGreaterThan(0.6 * avg(non, { kind: 'baseline' }));
  // Some drift back after the course, never below where they ended on average.
  expect(avg(responders, { kind: 'follow-up', days: 180 })).toBeGreaterThanOrEqual(avg(responders, { kind: 'post-course' }) - 0.5);
});

test('item answers add up to the score as the instrument scores them; PHQ-9 item 9 is always 0', () => {
  for (const i of TRAJECTORY_INSTRUMENTS) {
    for (const total of [0, 1, 7, 13, maxTotal(i)]) {
      const form = itemAnswers(i, total);
      const answers = Object.entries(form).sort(([a], [b]) => Number(a.split('.')[1]) - Number(b.split('.')[1])).map(([, v]) => Number(v));
      expect(getInstrument(i)!.score(answers).total).toBe(total);
      if (i === 'phq9') expect(form['phq9.9']).toBe('0');
    }
  }
  // The form a client posts: trajectory scores for PHQ-9/GAD-7/PCL-5, a benign C-SSRS.
  const t = clientTrajectory(5, 2);
  const f = clientForm(t, ['phq9', 'gad7', 'pcl5', 'cssrs'], { kind: 'baseline' });
  const sum = (prefix: string) => Object.entries(f).filter(([k]) => k.startsWith(`${prefix}.`)).reduce((a, [, v]) => a + Number(v), 0);
  expect([sum('phq9'), sum('gad7'), sum('pcl5')]).toEqual([t.baseline.phq9, t.baseline.gad7, t.baseline.pcl5]);
  expect(f['cssrs.1']).toBe('false');
});

test('time points from step keys', () => {
  expect(timePointOf('screening', 6)).toEqual({ kind: 'baseline' });
  expect(timePointOf('dose-3', 6)).toEqual({ kind: 'dose', n: 3, of: 6 });
  expect(timePointOf('post-course-assessment', 6)).toEqual({ kind: 'post-course' });
  expect(timePointOf('followup-90d', 6)).toEqual({ kind: 'follow-up', days: 90 });
  expect(timePointOf('consent', 6)).toBeNull();
});
