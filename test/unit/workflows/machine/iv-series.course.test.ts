// iv-series@1: a complete infusion series on the machine, screening to the 6-month follow-up.
import { completeCourse } from './complete-course';

test('iv-series: 1 preparation, 6 infusions, readings at 0, 20 and 40 min, discharge at 70 min, follow-ups', () => {
  const c = completeCourse('iv-series');
  const minutes = c.all.records.filter((r) => r.table === 'vitals').map((r) => (r as { minutesAfterDose: number | null }).minutesAfterDose);
  expect(minutes.slice(0, 4)).toEqual([null, 20, 40, 70]);
  expect(c.view().steps.filter((s) => s.kind === 'dosing').every((s) => s.session?.dose?.route === 'intravenous')).toBe(true);
  expect(c.view().steps.filter((s) => s.kind === 'preparation')).toHaveLength(1);
});
