// The course machine: the progression (progression.ts) with every action's handler (handlers/<group>.ts),
// what the course's open forms report (src/workflows/forms.ts), and the views. Emits domain events (events.ts); knows nothing of
// rows, Temporal or the clock. src/workflows/course-machine.ts adds the rows those events become.
import type { Protocol } from '../../domain/protocol';
import type { AssessmentCriticalSignal, AssessmentFinishedSignal, CourseActionName, CourseActionRequests, LateCriticalAnswerInput } from '../contracts';
import type { ActionSpec } from '../../domain/actions/catalogue';
import { actionCatalogue } from './catalogue';
import { Rejection } from '../rejection';
import { administration } from './handlers/administration';
import { assessments, onAssessmentCritical, onAssessmentFinished, onLateCriticalAnswer } from './handlers/assessments';
import { screeningAndClearance } from './handlers/screening-and-clearance';
import { sessionsAndSafety } from './handlers/sessions-and-safety';
import { versions } from './handlers/versions';
import { Progression, type Handler, type Outcome, type Plan } from './progression';
import type { CourseInit } from './state';
import { courseView, currentStep, type CourseView } from './views';

const GROUPS = [screeningAndClearance, sessionsAndSafety, assessments, administration, versions];
/** Every action's handler; the type check fails when an action of the catalogue has none. */
const HANDLERS: { [K in CourseActionName]: Handler<K> } = { ...screeningAndClearance, ...sessionsAndSafety, ...assessments, ...administration, ...versions };
if (Object.keys(HANDLERS).length !== GROUPS.reduce((n, g) => n + Object.keys(g).length, 0)) throw new Error('an action has a handler in two groups');


export class CourseMachineCore extends Progression {
  constructor(protocol: Protocol, state: ReturnType<typeof Progression.initialState>) {
    super(protocol, state);
  }

  static create(protocol: Protocol, init: CourseInit, now: number): CourseMachineCore {
    const m = new CourseMachineCore(protocol, Progression.initialState(protocol, init, now));
    m.start(now);
    return m;
  }

  // ---------------------------------------------------------------- staff actions

  /**
   * Throws a Rejection when the action is not allowed now. Never changes state. The input is read by
   * the action's catalogue schema first (InvalidInput naming each bad field), so the validator and the
   * handler see the same parsed input (trimmed, defaults filled).
   */
  validate<K extends CourseActionName>(name: K, input: CourseActionRequests[K], now: number): void {
    this.prepare(name, input, now);
  }

  /** Validates and applies an action; the workflow then flushes `takeOutput()`. */
  apply<K extends CourseActionName>(name: K, input: CourseActionRequests[K], now: number): Outcome {
    const commit = this.prepare(name, input, now);
    const result = commit();
    this.courseChanged();
    this.tick(now);
    return result;
  }

  private prepare<K extends CourseActionName>(name: K, raw: unknown, now: number): Plan {
    const handler = Object.prototype.hasOwnProperty.call(HANDLERS, name) ? (HANDLERS as Record<string, (m: Progression, i: unknown, n: number) => Plan>)[name] : undefined;
    if (!handler) throw new Rejection('InvalidInput', `unknown action ${name}`);
    // Field names and zod's reasons only: never the values (clinical data stays out of failure messages).
    const { ACTIONS, parseActionInput } = actionCatalogue();
    const parsed = parseActionInput(name, raw);
    if (!parsed.ok) throw new Rejection('InvalidInput', `${name}: ${parsed.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, parsed.problems.map((p) => ({ code: p.field, message: p.message, blocking: true })));
    if (this.finished) throw new Rejection('InvalidTransition', `the course is ${this.state.status}${this.state.endReason ? ` (${this.state.endReason})` : ''}`);
    const spec: ActionSpec = ACTIONS[name];
    if (this.state.status === 'paused' && !spec.pauseExempt) throw new Rejection('InvalidTransition', `the course is paused (${this.state.pauseReason}): resume it first`);
    return handler(this, parsed.input, now);
  }

  // ---------------------------------------------------------------- what the open forms report

  onAssessmentCritical(sig: AssessmentCriticalSignal, now: number): void {
    onAssessmentCritical(this, sig, now);
  }

  /** The hold's id, or null when the course has ended (the caller records the item itself). */
  onLateCriticalAnswer(input: LateCriticalAnswerInput, now: number): string | null {
    return onLateCriticalAnswer(this, input, now);
  }

  onAssessmentFinished(sig: AssessmentFinishedSignal, now: number): void {
    onAssessmentFinished(this, sig, now);
  }

  // ---------------------------------------------------------------- views

  /** The step the course waits on now: the first open step of the main line, else the next pending one. */
  current(): { currentStep: string | null; currentStepDeadline: string | null } {
    return currentStep(this.plan, this.state);
  }

  view(now: number): CourseView {
    return courseView(this.protocol, this.plan, this.state, now);
  }
}
