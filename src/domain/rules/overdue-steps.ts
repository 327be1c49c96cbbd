// Which open steps are past their deadline at `now` (a coordinator's "stuck" list), and who should
// hear about each under the protocol's escalation ladder. Pure: `now` is an argument.
import type { Protocol, Role } from '../protocol';
import { HOUR_MS, toTime } from './decision';

export type StepStatus = 'pending' | 'open' | 'done' | 'skipped' | 'cancelled';

export interface StepState {
  id: string;
  status: StepStatus;
  /** When the step opened; its deadline counts from here. */
  openedAt?: Date | string | null;
  /** From the plan; null/undefined = no deadline (system step). */
  deadlineHours?: number | null;
  owner?: Role | null;
}

export interface OverdueStep {
  id: string;
  owner: Role | null;
  dueAt: string;
  hoursOverdue: number;
  /** Index of the highest escalation level reached (0 = first level; -1 = none yet). */
  escalationLevel: number;
  /** Everyone to notify by now, in ladder order ('owner' resolved to the step's owner). */
  notify: Role[];
}

export function overdueSteps(escalation: Protocol['escalation'], steps: readonly StepState[], now: Date | string): OverdueStep[] {
  const t = toTime(now, 'now');
  const out: OverdueStep[] = [];
  for (const step of steps) {
    if (step.status !== 'open' || step.openedAt === undefined || step.openedAt === null) continue;
    if (step.deadlineHours === undefined || step.deadlineHours === null) continue;
    const due = toTime(step.openedAt, `${step.id}.openedAt`) + step.deadlineHours * HOUR_MS;
    if (t <= due) continue;
    const hoursOverdue = (t - due) / HOUR_MS;
    const reached = escalation.levels.filter((l) => hoursOverdue >= l.afterBreachHours);
    const notify: Role[] = [];
    for (const level of reached) {
      const role = level.notify === 'owner' ? (step.owner ?? null) : level.notify;
      if (role && !notify.includes(role)) notify.push(role);
    }
    out.push({ id: step.id, owner: step.owner ?? null, dueAt: new Date(due).toISOString(), hoursOverdue, escalationLevel: reached.length - 1, notify });
  }
  return out.sort((a, b) => b.hoursOverdue - a.hoursOverdue || (a.id < b.id ? -1 : 1));
}
