// A complete course as the FHIR mapping's input (src/fhir/model.ts): shared by the mapping's tests and
// the HAPI validator test.
import type { FhirAssessment, FhirExportInput, FhirStep } from '../../../src/fhir/model';

export const T0 = Date.parse('2026-03-02T15:00:00Z');
export const at = (h: number) => new Date(T0 + h * 3600_000).toISOString();

function step(key: string, kind: string, h: number, state: FhirStep['state'] = 'done', owner = 'coordinator'): FhirStep {
  return { id: `c1/${key}`, stepKey: key, kind, name: key, state, ownerRole: owner, ownerStaff: owner === 'prescriber' ? { id: 'st-1', name: 'Dr Who' } : null, enteredAt: at(h), deadlineAt: at(h + 72), completedAt: state === 'done' ? at(h + 2) : null, outcome: state === 'done' ? 'done' : null };
}
function assessment(key: string, instrumentId: string, h: number, total: number | null, band: string | null, answers: Record<string, unknown>): FhirAssessment {
  return { id: `c1/${key}/${instrumentId}`, stepKey: key, instrumentId, status: 'completed', completedAt: at(h), total, band, answers };
}
const phq = (vals: number[]) => Object.fromEntries(vals.map((v, i) => [String(i + 1), v]));

export function completeCourse(): FhirExportInput {
  return {
    exportedAt: at(1000),
    client: { id: 'cl-1', clinicId: 'k1', givenName: 'Ada', familyName: 'Lovelace', birthDate: '1985-12-10', sex: 'female' },
    clinic: { id: 'k1', name: 'Harbour Clinic' },
    courses: [
      {
        id: 'c1',
        clinicId: 'k1',
        protocol: { id: 'kap-office', version: 1, name: 'Office KAP' },
        status: 'completed',
        enrolledAt: at(0),
        endedAt: at(900),
        endReason: 'completed',
        steps: [
          step('screening', 'screening', 0),
          step('clearance', 'clearance', 3, 'done', 'prescriber'),
          step('prep-1', 'preparation', 10, 'done', 'therapist'),
          step('dose-1', 'dosing', 50, 'done', 'prescriber'),
          step('integration-1', 'integration', 60, 'done', 'therapist'),
          step('prep-2', 'preparation', 61, 'skipped', 'therapist'),
          step('followup-30d', 'assessment', 800, 'done', 'client'),
          step('followup-90d', 'assessment', 850, 'cancelled', 'client'),
        ],
        assessments: [
          assessment('screening', 'phq9', 1, 14, 'moderate', phq([2, 2, 2, 2, 1, 1, 2, 1, 1])),
          assessment('screening', 'gad7', 1, 10, 'moderate', phq([2, 2, 1, 1, 2, 1, 1])),
          assessment('screening', 'pcl5', 1, 40, 'provisional-ptsd', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [String(i + 1), 2]))),
          assessment('screening', 'cssrs', 1, 1, 'low', { '1': true, '2': false, '3': null, '4': null, '5': null, '6': false }),
          assessment('followup-30d', 'phq9', 801, 4, 'minimal', phq([1, 1, 0, 1, 0, 0, 1, 0, 0])),
          { id: 'c1/followup-90d/phq9', stepKey: 'followup-90d', instrumentId: 'phq9', status: 'missed', completedAt: null, total: null, band: null, answers: {} },
        ],
        drug: 'ketamine',
        sessions: [
          { id: 'c1/dose-1', stepKey: 'dose-1', status: 'completed', startsAt: at(50), dosedAt: at(50.2), completedAt: at(52), dose: { route: 'sublingual', doseMg: 200, lotNumber: 'L1' } },
          { id: 'c1/dose-2', stepKey: 'dose-2', status: 'no-show', startsAt: at(70), dosedAt: null, completedAt: null, dose: null },
          { id: 'c1/dose-3', stepKey: 'dose-3', status: 'unscheduled', startsAt: null, dosedAt: null, completedAt: null, dose: null },
        ],
        vitals: [
          { id: 'c1/dose-1/s1/v1', stepKey: 'dose-1', phase: 'pre-dose', minutesAfterDose: null, systolic: 128, diastolic: 82, heartRate: 72, spo2: 98, takenAt: at(50) },
          { id: 'c1/dose-1/s1/v2', stepKey: 'dose-1', phase: 'monitoring', minutesAfterDose: 40, systolic: 142, diastolic: 88, heartRate: null, spo2: null, takenAt: at(50.9) },
        ],
        adverseEvents: [
          { id: 'ae-1', stepKey: 'dose-1', category: 'nausea', severity: 'mild', serious: false, description: 'Nausea after the dose', onsetAt: at(50.5), recordedAt: at(51), recordedBy: { id: 'st-1', name: 'Dr Who' } },
          { id: 'ae-2', stepKey: null, category: 'psychiatric', severity: 'life-threatening', serious: true, description: null, onsetAt: at(60), recordedAt: at(60.5), recordedBy: null },
        ],
        consents: [{ id: 'cons-1', kind: 'treatment', documentVersion: '2026-01', signedByClientAt: at(2), prescriberSignedAt: at(3), prescriber: { id: 'st-1', name: 'Dr Who' } }],
        safetyItems: [{ id: 'h-1', kind: 'adverse-event', level: 'high', at: at(60.5), reason: 'serious psychiatric adverse event', suicideRisk: true, closesWhen: "a clinician's review" }],
      },
    ],
  };
}

