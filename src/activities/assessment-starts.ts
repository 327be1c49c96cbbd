// Starts a course's assessments as workflows of their own, from the course's workflow task (its
// projection, a local activity: src/activities/projections.ts) instead of as child workflows.
//
// Why not children: a child's start is recorded in the course's history twice (initiated, started)
// and its start and its close each wake the course for a workflow task of their own, which the
// course never needed (an assessment reports by signal to the course's workflow id, and the course
// abandons it on close anyway). Started by the projection that also writes its invitation rows, the
// course's first step takes one workflow task and one local activity, and the assessment's first task
// no local activity at all (docs/performance.md, "Assessments started by the course's task").
//
// Exactly once: the workflow id is the assessment's id and a second start of it is refused
// (REJECT_DUPLICATE, the same policy the child had), so a retried activity or a replayed task that
// starts it again finds it started and succeeds; that includes an assessment that already closed.
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { assessmentWorkflowId, type AssessmentInput } from '../workflows/assessment-machine';

/** Starts each assessment on the course's task queue; one already started (or closed) counts as started. */
export async function startAssessmentWorkflows(client: Client, taskQueue: string, assessments: readonly AssessmentInput[]): Promise<void> {
  await Promise.all(
    assessments.map(async (a) => {
      try {
        await client.workflow.start('assessmentWorkflow', {
          taskQueue,
          workflowId: assessmentWorkflowId(a.assessmentId),
          args: [a],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
      } catch (err) {
        if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
      }
    }),
  );
}
