// In-office ketamine-assisted psychotherapy: sublingual lozenge or IM, 3 preparation sessions,
// 6 dosing sessions about every two weeks (1-3 weeks apart), integration within 48 h of each dose.
import type { ProtocolInput } from '../protocol';
import { DEFAULT_ASSESSMENTS, DEFAULT_DISCHARGE_CHECKLIST, DEFAULT_ESCALATION } from './common';

export const kapOfficeV1: ProtocolInput = {
  id: 'kap-office',
  version: 1,
  name: 'In-office ketamine-assisted psychotherapy',
  description: 'Sublingual or IM ketamine in the office with a therapist present; integration therapy after each dose.',
  modality: 'office-kap',
  routes: ['sublingual', 'intramuscular'],
  course: {
    preparationSessions: 3,
    dosingSessions: 6,
    doseScheduleDays: [0, 14, 28, 42, 56, 70],
    minDaysBetweenDoses: 7,
    maxDaysBetweenDoses: 21,
    integrationWindowHours: 48,
  },
  phases: [
    {
      id: 'intake',
      name: 'Screening, clearance and consent',
      steps: [
        { id: 'screening', name: 'Screening and intake', kind: 'screening', owner: 'coordinator', deadlineHours: 168, assessmentPoint: 'baseline' },
        { id: 'clearance', name: 'Medical clearance', kind: 'clearance', owner: 'prescriber', deadlineHours: 72 },
        { id: 'consent', name: 'Informed consent', kind: 'consent', owner: 'client', deadlineHours: 168 },
      ],
    },
    {
      id: 'preparation',
      name: 'Preparation',
      repeat: 'per-preparation-session',
      steps: [{ id: 'prep', name: 'Preparation session', kind: 'preparation', owner: 'therapist', deadlineHours: 336 }],
    },
    {
      id: 'dosing',
      name: 'Dosing and integration',
      repeat: 'per-dosing-session',
      steps: [
        { id: 'dose', name: 'Dosing session', kind: 'dosing', owner: 'prescriber', deadlineHours: 168, assessmentPoint: 'before-dose' },
        { id: 'integration', name: 'Integration session', kind: 'integration', owner: 'therapist', deadlineHours: 48 },
      ],
    },
    {
      id: 'completion',
      name: 'End of course',
      steps: [
        { id: 'post-course-assessment', name: 'Post-course assessment', kind: 'assessment', owner: 'client', deadlineHours: 96, assessmentPoint: 'after-course' },
        { id: 'maintenance-decision', name: 'Response review and maintenance decision', kind: 'maintenance-decision', owner: 'prescriber', deadlineHours: 168 },
      ],
    },
    {
      id: 'follow-up',
      name: 'Follow-up',
      repeat: 'per-follow-up',
      steps: [{ id: 'followup', name: 'Follow-up assessment', kind: 'assessment', owner: 'client', deadlineHours: 96, assessmentPoint: 'follow-up' }],
    },
  ],
  safety: {
    bloodPressure: {
      maxSystolic: 140,
      maxDiastolic: 90,
      checkMinutes: [0, 30, 'discharge'],
      dischargeMaxAboveBaselineSystolic: 20,
      dischargeMaxAboveBaselineDiastolic: 10,
    },
    fasting: { foodHours: 4, clearLiquidsHours: 0.5 },
    minMonitoringMinutes: 120,
    minSpO2Percent: 92,
    escortRequired: true,
    noDrivingHours: 24,
    benzodiazepinePauseHours: 24,
    pregnancyCheck: true,
    dischargeChecklist: DEFAULT_DISCHARGE_CHECKLIST,
  },
  assessments: DEFAULT_ASSESSMENTS,
  escalation: DEFAULT_ESCALATION,
  maintenance: {
    boostersOffered: true,
    minDaysBetweenBoosters: 30,
    maxDaysBetweenBoosters: 60,
    phq9RiseFromPostCourse: 5,
    phq9AtOrAbove: 10,
  },
};
