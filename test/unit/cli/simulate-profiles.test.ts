// The simulator's client profiles (src/cli/commands/simulate.ts): a seed gives a fixed, realistic mix.
// (Moved from test/workflows/course-machine.test.ts, whose machine tests now live in test/unit/workflows/machine.)
import { assignProfiles } from '../../../src/cli/commands/simulate';

test('simulation profiles: a seed gives a fixed, realistic mix', () => {
  const p = assignProfiles(30, 1);
  expect(p).toEqual(assignProfiles(30, 1));
  const count = (x: string) => p.filter((y) => y === x).length;
  expect(count('ineligible')).toBe(3);
  expect(count('safety-escalation')).toBe(1);
  expect(count('completes')).toBeGreaterThan(10);
});
