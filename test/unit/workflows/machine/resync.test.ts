// The course's record written again as the course holds it (progression.ts `resync`), for a workflow
// task lost after its projection committed: what the projection rewrites and what it removes.
import { Course, DISCHARGE, GOOD_CHECK, rows, stepStates } from './helpers';

/** kap-office, dose-1 checked in: the prescriber's next act is the dose. */
function checkedIn(): Course {
  const c = new Course();
  c.readyToDose().scheduledDose('dose-1');
  expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK }).outcome).toBe('proceed');
  c.out();
  return c;
}

test('rewrites every opened step, every session and the course row as the course holds them; opens nothing and records no event', () => {
  const c = checkedIn();
  const before = JSON.stringify(c.m.state);
  c.m.resync();
  expect(c.m.hasOutput()).toBe(true);
  const out = c.out();
  expect(JSON.stringify(c.m.state)).toBe(before);
  expect(rows(out, 'event')).toEqual([]);
  expect(out.notifications).toEqual([]);
  expect(out.startAssessments).toEqual([]);
  const opened = c.m.plan.filter((p) => c.m.state.steps[p.id]!.status !== 'pending').map((p) => p.id);
  expect(Object.keys(stepStates(out)).sort()).toEqual([...opened].sort());
  expect(stepStates(out)).toMatchObject({ screening: 'done', clearance: 'done', consent: 'done', 'prep-1': 'done', 'dose-1': 'open' });
  // dose-1 as the course holds it: checked in, not dosed.
  expect(rows(out, 'session').find((r) => r.stepKey === 'dose-1')).toMatchObject({ status: 'checked-in', dosedAt: null, completedAt: null });
  // A completed session keeps its completion time.
  const prep = rows(out, 'session').find((r) => r.stepKey === 'prep-1')!;
  expect(prep.status).toBe('completed');
  expect(prep.completedAt).toBe(new Date(c.m.state.steps['prep-1']!.completedAt!).toISOString());
  expect(out.projection!.course).toMatchObject({ status: 'active', currentStep: 'dose-1' });
});

test('names what goes: rows of steps not opened, session rows of steps without a session (entries past the counter go by every projection\'s seq)', () => {
  const c = checkedIn();
  c.m.resync();
  const out = c.out();
  const fence = out.projection!.resync!;
  expect(Object.keys(fence).sort()).toEqual(['sessionlessSteps', 'unopenedSteps']);
  const pending = c.m.plan.filter((p) => c.m.state.steps[p.id]!.status === 'pending').map((p) => p.id);
  expect(pending).toContain('integration-1');
  expect(fence.unopenedSteps).toEqual(pending);
  expect(fence.unopenedSteps).not.toContain('dose-1');
  expect(fence.sessionlessSteps).toContain('screening');
  expect(fence.sessionlessSteps).toContain('dose-2');
  expect(fence.sessionlessSteps).not.toContain('dose-1');
  expect(fence.sessionlessSteps).not.toContain('prep-1');
});

test('an ordinary transition carries no fence; after a resync the dose goes ahead and is numbered right after the counter the fence kept', () => {
  const c = checkedIn();
  c.m.resync();
  const seq = c.m.state.counters.event;
  expect(c.out().projection!.resync).toBeDefined();
  c.act('dose', { stepKey: 'dose-1', route: c.p.routes[0]!, doseMg: 56, lotNumber: 'L1' });
  const out = c.out();
  expect(out.projection!.resync).toBeUndefined();
  expect(rows(out, 'event')[0]).toMatchObject({ seq: seq + 1 });
  expect(rows(out, 'session').find((r) => r.stepKey === 'dose-1')).toMatchObject({ status: 'dosed' });
  // And the rest of the day is unchanged by it.
  c.wakeUntil(c.now + c.hours(c.p.safety.minMonitoringMinutes / 60));
  for (const at of c.p.safety.bloodPressure.checkMinutes) {
    if (typeof at === 'number' && at > 0) c.act('vitals', { stepKey: 'dose-1', atMinutes: at, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 97 });
  }
  expect(c.act('discharge', { stepKey: 'dose-1', ...DISCHARGE }).outcome).toBe('discharged');
});
