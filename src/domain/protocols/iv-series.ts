// IV ketamine series: 6 infusions over 12 days (Mon/Wed/Fri x 2 weeks; up to 3 weeks with slips),
// 0.5 mg/kg over 40 min, then 30-60 min recovery (monitoring >= 40 + 30 min from the start).
import type { ProtocolInput } from '../protocol';
import { DEFAULT_ASSESSMENTS, DEFAULT_DISCHARGE_CHECKLIST, DEFAULT_ESCALATION } from './common';

export const ivSeriesV1: ProtocolInput = {
  id: 'iv-series',
  version: 1,
  name: 'IV ketamine infusion series',
  description: 'Six 40-minute IV infusions (0.5 mg/kg) over 2-3 weeks, with recovery monitoring and integration after each.',
  modality: 'iv-infusion',
  routes: ['intravenous'],
  course: {
    preparationSessions: 1,
    dosingSessions: 6,
    doseScheduleDays: [0, 2, 4, 7, 9, 11],
    minDaysBetweenDoses: 1,
    maxDaysBetweenDoses: 7,
    integrationWindowHours: 72,
    administrationMinutes: 40,
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
      steps: [{ id: 'prep', name: 'Preparation session', kind: 'preparation', owner: 'therapist', deadlineHours: 168 }],
    },
    {
      id: 'infusions',
      name: 'Infusions and integration',
      repeat: 'per-dosing-session',
      steps: [
        { id: 'dose', name: 'Infusion', kind: 'dosing', owner: 'prescriber', deadlineHours: 72, assessmentPoint: 'before-dose' },
        { id: 'integration', name: 'Integration session', kind: 'integration', owner: 'therapist', deadlineHours: 72 },
      ],
    },
    {
      id: 'completion',
      name: 'End of series',
      steps: [
        { id: 'post-course-assessment', name: 'Post-series assessment', kind: 'assessment', owner: 'client', deadlineHours: 96, assessmentPoint: 'after-course' },
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
      checkMinutes: [0, 20, 40, 'discharge'],
      dischargeMaxAboveBaselineSystolic: 20,
      dischargeMaxAboveBaselineDiastolic: 10,
    },
    fasting: { foodHours: 6, clearLiquidsHours: 2 },
    minMonitoringMinutes: 70,
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
    minDaysBetweenBoosters: 14,
    maxDaysBetweenBoosters: 42,
    phq9RiseFromPostCourse: 5,
    phq9AtOrAbove: 10,
  },
};
