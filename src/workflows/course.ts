// The course of care for one client: one durable workflow per enrolled client.
import { defineQuery, proxyActivities, setHandler, upsertSearchAttributes, condition } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { KapClinic, KapProtocol, KapRiskLevel, KapStatus, KapStep, KapStepDeadline } from './search-attributes';

export interface CourseInput {
  courseId: string;
  clientId: string;
  clinicId: string;
  protocolId: string;
  protocolVersion: number;
  /** Protocol days per real day: 1 in production; 86400 makes a protocol day last one second. */
  timeScale?: number;
}

export interface CourseState {
  courseId: string;
  status: 'active' | 'paused' | 'completed' | 'withdrawn' | 'ineligible';
  currentStep: string | null;
  currentStepDeadline: string | null;
  riskLevel: 'none' | 'low' | 'moderate' | 'high';
}

export const getCourseStateQuery = defineQuery<CourseState>('getCourseState');

const { projectStep } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function courseWorkflow(input: CourseInput): Promise<CourseState> {
  const state: CourseState = {
    courseId: input.courseId,
    status: 'active',
    currentStep: null,
    currentStepDeadline: null,
    riskLevel: 'none',
  };
  setHandler(getCourseStateQuery, () => state);

  const now = new Date();
  state.currentStep = 'screening';
  upsertSearchAttributes([
    { key: KapClinic, value: input.clinicId },
    { key: KapProtocol, value: `${input.protocolId}@${input.protocolVersion}` },
    { key: KapStatus, value: state.status },
    { key: KapStep, value: state.currentStep },
    { key: KapRiskLevel, value: state.riskLevel },
    { key: KapStepDeadline, value: null },
  ]);
  await projectStep({
    courseId: input.courseId,
    clinicId: input.clinicId,
    stepKey: 'screening',
    kind: 'screening',
    state: 'open',
    ownerRole: 'coordinator',
    enteredAt: now.toISOString(),
    course: { status: state.status, currentStep: state.currentStep, currentStepDeadline: null },
  });
  await condition(() => state.status !== 'active');
  return state;
}
