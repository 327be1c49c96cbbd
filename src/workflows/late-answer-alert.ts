// The safety alerts of a critical answer given on an old link after its course ended (the course's
// workflow no longer runs to send them). Started by the API (src/api/late-answers.ts) with a workflow
// id derived from the late answer, so it runs once per late answer; each email goes through the
// notify activity keyed the same way (one email per key, ever). A role nobody holds fails in the
// outbox, where the stuck board shows it (src/api/stuck.ts).
import { acts } from './activity-proxies';
import { refuseUnsealed, tolerateNotifyFailure } from './failures';
import type { LateAnswerAlertInput } from './messages';

export const lateAnswerAlertWorkflowId = (key: string) => `late-answer-alert-${key}`;

export async function lateAnswerAlertWorkflow(input: LateAnswerAlertInput): Promise<void> {
  refuseUnsealed(input);
  await Promise.all(
    input.roles.map((role) =>
      tolerateNotifyFailure(
        acts.notify({ key: `${input.key}/safety-alert-${role}`, template: 'safety-alert', courseId: input.courseId, clinicId: input.clinicId, recipient: { kind: 'role', role }, data: { reason: 'critical-answer', courseId: input.courseId, assessmentId: input.assessmentId } }),
      ),
    ),
  );
}
