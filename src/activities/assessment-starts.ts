// Starts a course's assessments as workflows of their own, from the course's workflow task (a local
// activity) instead of as child workflows.
//
// Why not children: a child's start is recorded in the course's history twice (initiated, started)
// and its start and its close each wake the course for a workflow task of their own, which the
// course never needed (an assessment reports by signal to the course's workflow id, and the course
// abandons it on close anyway). Started here, the course's first step takes one workflow task instead
// of two (docs/performance.md, "Assessments started by the course's task").
//
// Exactly once: the workflow id is the assessment's id and a second start of it is refused
// (REJECT_DUPLICATE, the same policy the child had), so a retried activity or a replayed task that
// starts it again finds it started and succeeds; that includes an assessment that already closed.
import { Context } from '@temporalio/activity';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { assessmentWorkflowId, type AssessmentInput } from '../workflows/assessment-machine';

export interface StartAssessmentsInput {
  /** The course's task queue (the assessment runs where the course does). */
  taskQueue: string;
  assessments: AssessmentInput[];
}

/** gRPC ALREADY_EXISTS, or the client's error for it (the Worker's client over a NativeConnection may give either). */
function alreadyStarted(err: unknown): boolean {
  for (let e = err as { name?: unknown; code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.name === 'WorkflowExecutionAlreadyStartedError' || e.code === 6) return true;
  }
  return false;
}

export function createAssessmentStartActivities() {
  return {
    async startAssessments(input: StartAssessmentsInput): Promise<void> {
      // The Worker's own client: bound to its namespace and payload codec, so the input is sealed.
      const client = Context.current().client;
      await Promise.all(
        input.assessments.map(async (a) => {
          try {
            await client.workflow.start('assessmentWorkflow', {
              taskQueue: input.taskQueue,
              workflowId: assessmentWorkflowId(a.assessmentId),
              args: [a],
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            });
          } catch (err) {
            if (!alreadyStarted(err)) throw err;
          }
        }),
      );
    },
  };
}
