// The C-SSRS screener's skip logic, as published: "If NO to 2, go directly to question 6" (Columbia
// Lighthouse Project, Columbia-Suicide Severity Rating Scale, Screen Version, "Since Last Visit" and
// "Lifetime/Recent" screeners; Posner et al., Am J Psychiatry 2011;168:1266-77). Items 3-5 are not
// asked after a "no" to item 2: a form may leave them blank or record them as "no" (neither says
// anything), while a "yes" there contradicts item 2 and is refused. Either way the record keeps them
// as not asked.
import { cssrs, cssrsAsRecorded } from '../../../src/domain/instruments/cssrs';
import { InvalidAnswersError, type AnswerProblem } from '../../../src/domain/instruments/types';

const Y = true;
const N = false;
const _ = null;

function problemsOf(f: () => unknown): readonly AnswerProblem[] {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidAnswersError) return e.problems;
    throw e;
  }
  throw new Error('expected the answers to be refused');
}

describe('C-SSRS screener: items 3-5 after a "no" to item 2 (skip to 6)', () => {
  test.each<[string, Array<boolean | null>]>([
    ['all three recorded "no"', [N, N, N, N, N, N]],
    ['some "no", some blank', [N, N, N, _, N, N]],
    ['all blank (the form skipped them)', [N, N, _, _, _, N]],
  ])('%s: accepted, no risk, and the items are kept as not asked', (_name, answers) => {
    const r = cssrs.score(answers);
    expect(r.risk).toBe('none');
    expect(r.total).toBe(0);
    expect(r.answers.items).toEqual([N, N, _, _, _, N]);
    expect(cssrsAsRecorded(answers)).toEqual([N, N, _, _, _, N]);
  });

  test('"no" to items 3-5 does not hide what items 1 and 6 say: wish to be dead and recent behaviour still score', () => {
    const r = cssrs.score([Y, N, N, N, N, Y, Y]);
    expect(r.risk).toBe('high');
    expect(r.triggeredBy).toEqual([6]);
    expect(r.flags.map((f) => f.code)).toEqual(['cssrs-item1-yes', 'cssrs-item6-yes', 'cssrs-high-risk']);
    expect(cssrsAsRecorded([Y, N, N, N, N, Y, Y])).toEqual([Y, N, _, _, _, Y, Y]);
  });

  test.each<[string, Array<boolean | null>, number[]]>([
    ['item 3 "yes"', [N, N, Y, N, N, N], [3]],
    ['item 5 "yes" with 3 blank and 4 "no"', [N, N, _, N, Y, N], [5]],
    ['all three "yes"', [Y, N, Y, Y, Y, N], [3, 4, 5]],
  ])('%s after a "no" to item 2 is refused as inconsistent, naming the item', (_name, answers, items) => {
    const problems = problemsOf(() => cssrs.score(answers));
    expect(problems.map((p) => p.item)).toEqual(items);
    for (const p of problems) expect(p.reason).toBe('must be blank or "no": skipped because item 2 is "no" (a "yes" here contradicts item 2)');
  });

  test('a non yes/no value there is still refused as such', () => {
    expect(problemsOf(() => cssrs.score([N, N, 'no' as never, _, _, N]))).toEqual([{ item: 3, reason: 'must be yes or no, got "no"' }]);
  });

  test('after a "yes" to item 2 nothing changes: items 3-5 are required, and kept as answered', () => {
    expect(problemsOf(() => cssrs.score([Y, Y, N, _, N, N])).map((p) => p.item)).toEqual([4]);
    const r = cssrs.score([Y, Y, N, N, N, N]);
    expect(r.risk).toBe('low');
    expect(r.answers.items).toEqual([Y, Y, N, N, N, N]);
    expect(cssrsAsRecorded([Y, Y, N, N, N, N])).toEqual([Y, Y, N, N, N, N]);
  });
});
