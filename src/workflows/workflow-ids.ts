// Workflow ids, shared by the workflows and by the code that starts and signals them. Bundle-safe: no imports.

/** The one workflow of a course: `course-<courseId>` (also the courses row's `workflow_id`). */
export const courseWorkflowId = (courseId: string): string => `course-${courseId}`;
