// spravato-rems@1: a complete induction under the REMS on the machine, screening to the 6-month follow-up.
import { completeCourse } from './complete-course';

test('spravato-rems: REMS enrolment, consent signed by both, 12 sessions each with its REMS monitoring form, follow-ups', () => {
  const c = completeCourse('spravato-rems');
  const forms = c.all.records.filter((r) => r.table === 'rems-form') as Array<{ id: string; submittedAt: string | null; firstTreatment: boolean; bp40: string | null }>;
  const submitted = forms.filter((f) => f.submittedAt !== null);
  expect(submitted.map((f) => f.id)).toEqual(Array.from({ length: 12 }, (_, k) => `c1/rems-form-${k + 1}`));
  expect(submitted.filter((f) => f.firstTreatment).map((f) => f.id)).toEqual(['c1/rems-form-1']);
  expect(submitted.every((f) => f.bp40 === '128/80')).toBe(true);
  expect(c.all.records.filter((r) => r.table === 'consent')).toEqual([expect.objectContaining({ kind: 'treatment-and-rems' })]);
  expect(c.view().steps.find((s) => s.id === 'rems-enrollment')).toMatchObject({ status: 'done', outcome: 'enrolled' });
  const minutes = c.all.records.filter((r) => r.table === 'vitals').map((r) => (r as { minutesAfterDose: number | null }).minutesAfterDose);
  expect(minutes.slice(0, 3)).toEqual([null, 40, 120]);
});
