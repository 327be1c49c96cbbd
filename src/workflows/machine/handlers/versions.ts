// Moving a running course to another published version of its protocol (issue #21 item 4): an explicit
// transition a coordinator takes with a reason. The safe-point rule and what the move does come from
// the domain (src/domain/protocol-move.ts `previewMove`), the same function the API's preview and the
// dashboard call, so the validator refuses for the same reasons in the same words. The target protocol
// travels in the Update's input (set by the server from the clinic's store, never from a request body).
import type { MoveVersionInput } from '../../../domain/actions/catalogue';
import { previewMove, type CoursePosition } from '../../../domain/protocol-move';
import { isoTime as iso } from '../../../domain/time';
import { Rejection } from '../../rejection';
import type { HandlerTable } from '../progression';
import type { CourseMachineState, StepRuntime } from '../state';

/** Where the course stands, as the safe-point rule reads it. */
export function positionOf(state: CourseMachineState): CoursePosition {
  return {
    status: state.status,
    steps: Object.fromEntries(Object.values(state.steps).map((s) => [s.id, { status: s.status, session: s.session?.status ?? null }])),
    openHolds: state.holds,
    maintenance: { boosters: state.boosters?.added ?? 0, reviews: state.boosters?.reviews ?? 0 },
  };
}

const pendingStep = (id: string): StepRuntime => ({ id, status: 'pending', openedAt: null, deadlineAt: null, deadlineSeq: 0, overdue: false, escalationsSent: 0, completedAt: null, outcome: null, session: null, assessmentId: null, detail: {} });

export const versions = {
  'move-version': (m, raw, now) => {
    const input = raw as MoveVersionInput;
    const to = input.protocol;
    if (!to) throw new Rejection('InvalidInput', 'move-version: protocol: the target version is added by the server from the clinic\'s protocols', [{ code: 'protocol', message: 'required (set by the server)', blocking: true }]);
    if (to.version !== input.version) throw new Rejection('InvalidInput', `move-version: version: ${input.version} is not the version of the protocol given (${to.version})`, [{ code: 'version', message: 'does not match the protocol', blocking: true }]);
    const preview = previewMove(m.protocol, to, positionOf(m.state));
    if (!preview.allowed) {
      const clinical = preview.refusals.some((r) => r.clinical);
      throw new Rejection(clinical ? 'ClinicallyRefused' : 'InvalidTransition', `not moved to ${preview.to}: ${preview.refusals.map((r) => r.message).join('; ')}`, preview.refusals.map((r) => ({ code: r.code, message: r.message, blocking: true })));
    }
    return () => {
      const oldById = m.byId;
      m.followProtocol(to);
      // Steps the course never had (or had cancelled by an earlier move): pending; tick opens them when their turn comes.
      for (const a of preview.added) m.state.steps[a.stepKey] = pendingStep(a.stepKey);
      // Steps the new version does not have: cancelled, with any session not yet held. Not in the plan
      // any more, so their rows are written here (the buffer writes only steps of the plan).
      for (const r of preview.removed) {
        const p = oldById.get(r.stepKey)!;
        const s = m.state.steps[r.stepKey]!;
        m.cancelStep(p, s, `moved to ${preview.to}`, now);
        s.overdue = false;
        // Its questionnaire, if still unanswered, is withdrawn with it (the client's link closes).
        if (s.assessmentId) m.cancelAssessment(s.assessmentId);
        m.emit(m.stepEvent(p, s));
      }
      // Open steps whose deadline changed: the deadline moves by the difference (a new deadline, so its escalations start again).
      for (const r of preview.retimed) {
        if (r.what !== 'deadline' || r.status !== 'open') continue;
        const p = m.byId.get(r.stepKey)!;
        const s = m.state.steps[r.stepKey]!;
        const at = r.to === null ? null : s.deadlineAt !== null && r.from !== null ? s.deadlineAt + m.hours(r.to - r.from) : (s.openedAt ?? now) + m.hours(r.to);
        m.setDeadline(p, s, at);
      }
      m.emit({ kind: 'protocol', protocolId: to.id, version: to.version, snapshot: to });
      m.event(
        'course.moved',
        null,
        input.actor,
        {
          from: preview.from,
          to: preview.to,
          added: preview.added.map((a) => a.stepKey),
          removed: preview.removed.map((r) => r.stepKey),
          retimed: preview.retimed.map((r) => ({ stepKey: r.stepKey, what: r.what, from: r.from, to: r.to, unit: r.unit, ...(r.what === 'deadline' && r.status === 'open' ? { deadlineAt: iso(m.state.steps[r.stepKey]!.deadlineAt) } : {}) })),
          reason: input.reason,
        },
        now,
      );
      return { outcome: 'moved' };
    };
  },
} satisfies HandlerTable;
