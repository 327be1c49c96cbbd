// Defaults shared by the shipped protocols (clinical.md sections 1, 3, 6). Plain data only.
import type { ProtocolInput } from '../protocol';

/** Discharge items a clinician ticks; vitals and the responsible adult are checked separately. */
export const DEFAULT_DISCHARGE_CHECKLIST: ProtocolInput['safety']['dischargeChecklist'] = [
  { id: 'alert-oriented', label: 'Alert and oriented' },
  { id: 'minimal-nausea', label: 'Nausea minimal or resolved' },
  { id: 'walks-steadily', label: 'Walks steadily without help' },
  { id: 'dissociation-resolved', label: 'Dissociation resolved' },
  { id: 'written-instructions', label: 'Written aftercare instructions given (no driving, who to call)' },
];

/** Owner is told at the breach, the coordinator a day later, the clinic admin after three days. */
export const DEFAULT_ESCALATION: ProtocolInput['escalation'] = {
  levels: [
    { afterBreachHours: 0, notify: 'owner' },
    { afterBreachHours: 24, notify: 'coordinator' },
    { afterBreachHours: 72, notify: 'admin' },
  ],
  safetyAlertRoles: ['prescriber', 'therapist'],
};

/** Baseline, before each dose, after the course, then 1 / 3 / 6 months (Field Trip Health design);
 *  unanswered forms: one reminder a day for 3 days (Osmind), expiring a day after the last. */
export const DEFAULT_ASSESSMENTS: ProtocolInput['assessments'] = {
  baseline: ['phq9', 'gad7', 'pcl5', 'cssrs'],
  beforeEachDose: ['phq9', 'cssrs'],
  afterCourse: ['phq9', 'gad7', 'pcl5'],
  followUps: [
    { afterCourseDays: 30, instruments: ['phq9', 'gad7', 'pcl5'] },
    { afterCourseDays: 90, instruments: ['phq9', 'gad7', 'pcl5'] },
    { afterCourseDays: 180, instruments: ['phq9', 'gad7', 'pcl5'] },
  ],
  reminders: { everyHours: 24, count: 3 },
  expiryHours: 96,
  baselineWindowDays: 30,
};
