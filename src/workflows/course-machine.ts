// The course machine as the workflow runs it: the machine (machine/: progression, action handlers,
// views; pure, emitting domain events) plus the rows those events become (projection.ts). course.ts
// and the tests use this class; the rules themselves live in machine/ (see README.md).
import type { AssessmentInput } from './assessment-machine';
import type { NotifyInput } from '../activities/contracts';
import type { TransitionRows } from '../activities/projections';
import type { Protocol } from '../domain/protocol';
import { CourseMachineCore } from './machine/course-machine';
import { Progression } from './machine/progression';
import type { DomainEvent } from './machine/events';
import type { CourseInit } from './machine/state';
import { toNotifyInput, toProjection } from './projection';

export { Rejection } from './rejection';
export { isSuicideRiskHold } from './machine/state';
export type { CourseMachineState } from './machine/state';
export type { CourseView, StepView } from './machine/views';

/** What the workflow must do after a transition: the rows to write, the messages, the children. */
export interface MachineOutput {
  projection: TransitionRows | null;
  notifications: NotifyInput[];
  startAssessments: AssessmentInput[];
  cancelAssessments: string[];
  /** The domain events the projection was made from. */
  events: DomainEvent[];
}

export class CourseMachine extends CourseMachineCore {
  static override create(protocol: Protocol, init: CourseInit, now: number): CourseMachine {
    const m = new CourseMachine(protocol, Progression.initialState(protocol, init, now));
    m.start(now);
    return m;
  }

  /** Takes what the workflow must do now and resets the buffer. */
  takeOutput(): MachineOutput {
    const o = this.takeEvents();
    const projection = toProjection(this.state.courseId, this.state.clinicId, o.events);
    return {
      projection: projection && o.resync ? { ...projection, resync: o.resync } : projection,
      notifications: o.notifications.map(toNotifyInput),
      startAssessments: o.startAssessments,
      cancelAssessments: o.cancelAssessments,
      events: o.events,
    };
  }
}
