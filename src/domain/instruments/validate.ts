import type { InstrumentId } from './instrument-id';
import { InvalidAnswersError, type AnswerProblem } from './types';

/**
 * Check a list of integer answers, one per item, each in [min, max]. Collects every problem
 * (missing, not a number, non-integer, out of range, extra items) and throws them together.
 */
export function validateIntegerAnswers(id: InstrumentId, answers: unknown, itemCount: number, min: number, max: number, label: string = id): number[] {
  if (!Array.isArray(answers)) throw new InvalidAnswersError(id, [{ item: null, reason: `answers must be a list of ${itemCount} numbers` }]);
  const problems: AnswerProblem[] = [];
  const out: number[] = [];
  for (let i = 0; i < Math.max(itemCount, answers.length); i++) {
    const item = i + 1;
    if (i >= itemCount) {
      problems.push({ item, reason: `unexpected answer (${label} has ${itemCount} items)` });
      continue;
    }
    const reason = integerProblem(answers[i], min, max);
    if (reason) problems.push({ item, reason });
    else out.push(answers[i] as number);
  }
  if (problems.length > 0) throw new InvalidAnswersError(id, problems);
  return out;
}

export function integerProblem(v: unknown, min: number, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return 'missing';
  if (typeof v !== 'number' || Number.isNaN(v)) return `not a number (${JSON.stringify(v)})`;
  if (!Number.isInteger(v)) return `not a whole number (${v})`;
  if (v < min || v > max) return `out of range (${v}; allowed ${min}-${max})`;
  return undefined;
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
