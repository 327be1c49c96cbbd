import { STAFF_TURN, staffTurnOrder } from '../../../bench/phases/ladder';

describe("the staff step's turn order (BENCH_STAFF_TURN, a diagnosis)", () => {
  it('is the coordinator turn as the dashboard sends it unless told otherwise', () => {
    expect(staffTurnOrder(undefined)).toEqual(['screening', 'care-team-note', 'pause', 'resume']);
    expect(staffTurnOrder('')).toBe(STAFF_TURN);
  });

  it('takes the same four actions in another order', () => {
    expect(staffTurnOrder('care-team-note, screening,pause,resume')).toEqual(['care-team-note', 'screening', 'pause', 'resume']);
  });

  it('refuses a turn that drops, repeats or invents an action, naming what it expected', () => {
    for (const bad of ['screening,pause,resume', 'screening,screening,pause,resume', 'screening,care-team-note,pause,resume,resume', 'screening,care-team-note,pause,discharge']) {
      expect(() => staffTurnOrder(bad)).toThrow(/BENCH_STAFF_TURN: expected the four actions screening,care-team-note,pause,resume/);
    }
  });
});
