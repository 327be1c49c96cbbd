// The seam between the machine and the database: domain events in, the rows projectCourse writes out.
import { toProjection } from '../../../src/workflows/projection';
import type { DomainEvent } from '../../../src/workflows/machine/events';

const T = Date.parse('2026-01-05T09:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const staff = { staffId: 's1', role: 'prescriber' as const, label: 'Dr P' };
const token = { tokenId: 't1', role: 'coordinator' as const };

describe('toProjection', () => {
  test('no events: nothing to write', () => {
    expect(toProjection('c1', 'x1', [])).toBeNull();
  });

  test('timeline entries: id from the course and seq; the actor as staff, token or the engine', () => {
    const p = toProjection('c1', 'x1', [
      { kind: 'timeline', seq: 1, type: 'course.started', stepKey: null, at: T, detail: { protocol: 'kap-office@1' } },
      { kind: 'timeline', seq: 2, type: 'consent.signed', stepKey: 'consent', at: T + 1, actor: staff, detail: {} },
      { kind: 'timeline', seq: 3, type: 'course.paused', stepKey: null, at: T + 2, actor: token, detail: { reason: 'r' } },
    ])!;
    expect(p.steps).toEqual([]);
    expect(p.course).toBeUndefined();
    expect(p.records).toEqual([
      { table: 'event', id: 'c1/e1', seq: 1, type: 'course.started', stepKey: null, at: iso(T), actorType: 'system', actorId: null, detail: { protocol: 'kap-office@1' } },
      { table: 'event', id: 'c1/e2', seq: 2, type: 'consent.signed', stepKey: 'consent', at: iso(T + 1), actorType: 'staff', actorId: 's1', detail: {}, by: { role: 'prescriber', label: 'Dr P' } },
      { table: 'event', id: 'c1/e3', seq: 3, type: 'course.paused', stepKey: null, at: iso(T + 2), actorType: 'token', actorId: 't1', detail: { reason: 'r' }, by: { role: 'coordinator', tokenId: 't1' } },
    ]);
  });

  test('clinical records keep their order; ids from the course, step and counters', () => {
    const events: DomainEvent[] = [
      { kind: 'session', stepKey: 'dose-1', stepKind: 'dosing', status: 'dosed', startsAt: T, scheduleCount: 2, noShowCount: 1, doseAt: T + 5, completedAt: null, dose: { route: 'sublingual', doseMg: 56, lotNumber: 'L3' }, preDose: 'proceed' },
      { kind: 'vitals', stepKey: 'dose-1', scheduleCount: 2, n: 3, phase: 'monitoring', minutesAfterDose: 30, systolic: 130, diastolic: 80, heartRate: null, spo2: 97, at: T + 6 },
      { kind: 'adverse-event', id: 'c1/ae-1', stepKey: null, category: 'nausea-vomiting', severity: 'mild', serious: false, description: null, at: T + 7, actor: token },
      { kind: 'consent', stepKey: 'consent', consentKind: 'treatment', documentVersion: 'v1', at: T + 8, prescriberSigned: false, prescriberId: null },
    ];
    expect(toProjection('c1', 'x1', events)!.records).toEqual([
      { table: 'session', id: 'c1/dose-1', stepKey: 'dose-1', kind: 'dosing', status: 'dosed', startsAt: iso(T), scheduleCount: 2, noShowCount: 1, dosedAt: iso(T + 5), completedAt: null, detail: { route: 'sublingual', doseMg: 56, lotNumber: 'L3', preDose: 'proceed' } },
      { table: 'vitals', id: 'c1/dose-1/s2/v3', stepKey: 'dose-1', phase: 'monitoring', minutesAfterDose: 30, systolic: 130, diastolic: 80, heartRate: null, spo2: 97, takenAt: iso(T + 6) },
      { table: 'adverse-event', id: 'c1/ae-1', stepKey: null, category: 'nausea-vomiting', severity: 'mild', serious: false, description: null, onsetAt: iso(T + 7), recordedAt: iso(T + 7), recordedBy: 'token:t1' },
      { table: 'consent', id: 'c1/consent', kind: 'treatment', documentVersion: 'v1', signedByClientAt: iso(T + 8), prescriberSignedAt: null, prescriberId: null, detail: {} },
    ]);
  });

  test('a hold opened, then closed by a review: what closes it, the reviewer and the notes in short', () => {
    const hold = { id: 'c1/dose-1/risk-hold', kind: 'pre-dose-risk' as const, reason: 'C-SSRS high', level: 'high' as const, at: T, stepKey: 'dose-1', suicideRisk: true, assessmentId: null };
    const [opened, closed] = toProjection('c1', 'x1', [
      { kind: 'hold', hold, closed: null },
      { kind: 'hold', hold, closed: { at: T + 10, resolution: 'clinician review: release', actor: staff, notes: '  seen\n today ' } },
    ])!.records;
    expect(opened).toEqual({ table: 'safety-event', id: hold.id, kind: 'pre-dose-risk', level: 'high', stepKey: 'dose-1', assessmentId: null, at: iso(T), resolvedAt: null, detail: { reason: 'C-SSRS high', suicideRisk: true, closesWhen: 'a clinician reviews it' } });
    expect(closed).toMatchObject({ resolvedAt: iso(T + 10), detail: { reason: 'C-SSRS high', suicideRisk: true, closesWhen: 'a clinician reviews it', resolution: 'clinician review: release', reviewedBy: 's1', notesSummary: 'seen today' } });
  });

  test('steps and the course: an open step past its deadline is overdue, a done one done; times as ISO', () => {
    const step = (status: 'open' | 'pending' | 'done', overdue: boolean): DomainEvent => ({
      kind: 'step', stepKey: `s-${status}`, stepKind: 'task', name: 'A task', phase: 'prep', owner: 'coordinator', status, overdue,
      openedAt: status === 'pending' ? null : T, deadlineAt: T + 100, completedAt: status === 'done' ? T + 50 : null, escalationLevel: overdue ? 1 : 0, outcome: status === 'done' ? 'done' : null,
      session: { status: 'scheduled', startsAt: T + 20, noShows: 0 }, assessmentId: null, targetAt: null,
    });
    const p = toProjection('c1', 'x1', [
      step('open', true),
      step('done', false),
      { kind: 'course', status: 'active', currentStep: 's-open', currentStepDeadline: T + 100, riskLevel: 'none', primaryClinicianId: null, endedAt: null, endReason: null },
    ])!;
    expect(p.steps.map((s) => [s.stepKey, s.state, s.enteredAt, s.deadlineAt, s.completedAt])).toEqual([
      ['s-open', 'overdue', iso(T), iso(T + 100), null],
      ['s-done', 'done', iso(T), iso(T + 100), iso(T + 50)],
    ]);
    expect(p.steps[0]!.detail).toEqual({ name: 'A task', phase: 'prep', session: 'scheduled', startsAt: iso(T + 20), noShows: 0 });
    expect(p.course).toEqual({ status: 'active', currentStep: 's-open', currentStepDeadline: iso(T + 100), riskLevel: 'none', primaryClinicianId: null, endedAt: null, endReason: null });
    expect(p.records).toEqual([]);
  });
});
