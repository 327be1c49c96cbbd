// Spravato (esketamine nasal spray) under the REMS: twice weekly in weeks 1-4, weekly in weeks 5-8
// (12 sessions); >= 2 h on-site monitoring; BP before, at 40 min and before discharge; the REMS
// Patient Monitoring Form within 7 days of every session.
import type { ProtocolInput } from '../protocol';
import { DEFAULT_ASSESSMENTS, DEFAULT_DISCHARGE_CHECKLIST, DEFAULT_ESCALATION } from './common';

export const spravatoRemsV1: ProtocolInput = {
  id: 'spravato-rems',
  version: 1,
  name: 'Spravato (esketamine) under the REMS',
  description: 'Induction twice weekly for 4 weeks, then weekly for 4 weeks, in a REMS-certified setting.',
  modality: 'intranasal-esketamine',
  routes: ['intranasal'],
  course: {
    preparationSessions: 1,
    dosingSessions: 12,
    doseScheduleDays: [0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49],
    minDaysBetweenDoses: 2,
    maxDaysBetweenDoses: 7,
    integrationWindowHours: 72,
  },
  phases: [
    {
      id: 'intake',
      name: 'Screening, clearance, REMS enrollment and consent',
      steps: [
        { id: 'screening', name: 'Screening and intake', kind: 'screening', owner: 'coordinator', deadlineHours: 168, assessmentPoint: 'baseline' },
        { id: 'clearance', name: 'Medical clearance', kind: 'clearance', owner: 'prescriber', deadlineHours: 72 },
        { id: 'rems-enrollment', name: 'REMS patient enrollment', kind: 'rems-enrollment', owner: 'prescriber', deadlineHours: 72 },
        { id: 'consent', name: 'Informed consent (client and prescriber sign)', kind: 'consent', owner: 'client', deadlineHours: 168 },
      ],
    },
    {
      id: 'preparation',
      name: 'Preparation',
      repeat: 'per-preparation-session',
      steps: [{ id: 'prep', name: 'Preparation session', kind: 'preparation', owner: 'therapist', deadlineHours: 168 }],
    },
    {
      id: 'treatment',
      name: 'Treatment sessions',
      repeat: 'per-dosing-session',
      steps: [
        { id: 'dose', name: 'Spravato session', kind: 'dosing', owner: 'prescriber', deadlineHours: 72, assessmentPoint: 'before-dose' },
        { id: 'integration', name: 'Integration session', kind: 'integration', owner: 'therapist', deadlineHours: 72 },
        // Overdue at 5 days so the escalation ladder (owner, then coordinator a day later) runs
        // before the 7-day REMS deadline itself.
        { id: 'rems-form', name: 'REMS patient monitoring form', kind: 'rems-monitoring-form', owner: 'coordinator', deadlineHours: 120 },
      ],
    },
    {
      id: 'completion',
      name: 'End of induction',
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
      checkMinutes: [0, 40, 'discharge'],
      dischargeMaxAboveBaselineSystolic: 20,
      dischargeMaxAboveBaselineDiastolic: 10,
    },
    fasting: { foodHours: 2, clearLiquidsHours: 0.5 },
    minMonitoringMinutes: 120,
    minSpO2Percent: 92,
    escortRequired: true,
    // Label: no driving until the next day after a restful sleep; 24 h is the conservative stand-in.
    noDrivingHours: 24,
    benzodiazepinePauseHours: 24,
    pregnancyCheck: true,
    dischargeChecklist: DEFAULT_DISCHARGE_CHECKLIST,
  },
  assessments: DEFAULT_ASSESSMENTS,
  escalation: DEFAULT_ESCALATION,
  maintenance: {
    boostersOffered: true,
    minDaysBetweenBoosters: 7,
    maxDaysBetweenBoosters: 14,
    phq9RiseFromPostCourse: 5,
    phq9AtOrAbove: 10,
  },
  rems: {
    program: 'spravato',
    patientEnrollmentRequired: true,
    monitoringFormDeadlineHours: 168,
  },
};
