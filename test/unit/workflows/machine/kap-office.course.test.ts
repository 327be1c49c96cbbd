// kap-office@1: a complete course on the machine, screening to the 6-month follow-up.
import { completeCourse } from './complete-course';

test('kap-office: 3 preparations, 6 doses (sublingual), integration within 48 h, readings at 0 and 30 min, follow-ups', () => {
  const c = completeCourse('kap-office');
  const minutes = c.all.records.filter((r) => r.table === 'vitals').map((r) => (r as { minutesAfterDose: number | null }).minutesAfterDose);
  expect(minutes.slice(0, 3)).toEqual([null, 30, 120]);
  // Doses at least 7 days apart.
  const doses = c.view().steps.filter((s) => s.kind === 'dosing').map((s) => Date.parse(s.session!.doseAt!));
  expect(doses.slice(1).every((t, k) => t - doses[k]! >= 7 * 24 * 3_600_000)).toBe(true);
  expect(c.view().steps.filter((s) => s.kind === 'dosing').every((s) => s.session?.dose?.route === 'sublingual')).toBe(true);
  expect(c.all.records.filter((r) => r.table === 'rems-form')).toEqual([]);
});
