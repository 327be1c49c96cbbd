// The FHIR mapping on a complete course, checked by the independent validators (fhir-validator.ts),
// plus the specific codes and links an integration engineer relies on.
import type { Bundle, CarePlan, Observation, Questionnaire, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import { buildFhirBundle, taskStatus } from '../../../src/fhir/bundle';
import type { FhirAssessment, FhirExportInput, FhirStep } from '../../../src/fhir/model';
import { errorsOf, validateFhir } from './fhir-validator';

const T0 = Date.parse('2026-03-02T15:00:00Z');
const at = (h: number) => new Date(T0 + h * 3600_000).toISOString();

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
    client: { id: 'cl-1', clinicId: 'k1', givenName: 'Ada', familyName: 'Lovelace', birthDate: '1985-12-10' },
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
      },
    ],
  };
}

const of = <T>(b: Bundle, type: string) => (b.entry ?? []).map((e) => e.resource).filter((r) => r?.resourceType === type) as T[];

describe('FHIR R4 export bundle', () => {
  const bundle = buildFhirBundle(completeCourse());

  test('passes the independent validators (@medplum/core R4 profiles and the official JSON schema)', () => {
    expect(errorsOf(validateFhir(bundle))).toEqual([]);
    for (const e of bundle.entry ?? []) expect({ type: e.resource?.resourceType, errors: errorsOf(validateFhir(e.resource)) }).toEqual({ type: e.resource?.resourceType, errors: [] });
  });

  test('the validators do catch a broken bundle (they are not vacuous)', () => {
    const broken = JSON.parse(JSON.stringify(bundle)) as Bundle;
    const task = of<Task>(broken, 'Task')[0]!;
    (task as { status: string }).status = 'finished';
    delete (task as { intent?: string }).intent;
    expect(errorsOf(validateFhir(broken)).length).toBeGreaterThanOrEqual(2);
  });

  test('Patient is minimal: id, name, birth date and our identifier, no contact details', () => {
    const [p] = of<Record<string, unknown>>(bundle, 'Patient');
    expect(Object.keys(p!).sort()).toEqual(['birthDate', 'id', 'identifier', 'name', 'resourceType']);
    expect(p!.birthDate).toBe('1985-12-10');
  });

  test('PHQ-9 and GAD-7 carry their LOINC panel, item and answer codes', () => {
    const qs = of<Questionnaire>(bundle, 'Questionnaire');
    expect(qs.map((q) => q.url!.split('/').pop()).sort()).toEqual(['cssrs', 'gad7', 'pcl5', 'phq9']);
    const phq9 = qs.find((q) => q.url!.endsWith('/phq9'))!;
    expect(phq9.code).toEqual([expect.objectContaining({ system: 'http://loinc.org', code: '44249-1' })]);
    expect(phq9.item![8]!.code![0]!.code).toBe('44260-8');
    expect(phq9.item![0]!.answerOption!.map((o) => o.valueCoding!.code)).toEqual(['LA6568-5', 'LA6569-3', 'LA6570-1', 'LA6571-9']);
    expect(qs.find((q) => q.url!.endsWith('/gad7'))!.code![0]!.code).toBe('69737-5');
    // C-SSRS: items 3-5 only when item 2 is yes.
    const c = qs.find((q) => q.url!.endsWith('/cssrs'))!;
    expect(c.item!.find((i) => i.linkId === '3')!.enableWhen).toEqual([{ question: '2', operator: '=', answerBoolean: true }]);
  });

  test('responses answer with LOINC codings; skipped C-SSRS items carry no answer', () => {
    const qrs = of<QuestionnaireResponse>(bundle, 'QuestionnaireResponse');
    expect(qrs).toHaveLength(5); // the missed follow-up has no response
    const phq = qrs.find((q) => q.identifier!.value === 'c1/screening/phq9')!;
    expect(phq.questionnaire).toMatch(/\/Questionnaire\/phq9\|1$/);
    expect(phq.item![0]!.answer![0]!.valueCoding).toEqual({ system: 'http://loinc.org', code: 'LA6570-1', display: 'More than half the days' });
    const cs = qrs.find((q) => q.identifier!.value === 'c1/screening/cssrs')!;
    expect(cs.item!.map((i) => i.linkId)).toEqual(['1', '2', '6']);
  });

  test('total scores are Observations derived from their responses (PHQ-9 44261-6, GAD-7 70274-6)', () => {
    const obs = of<Observation>(bundle, 'Observation');
    const qrUrls = new Map((bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'QuestionnaireResponse').map((e) => [(e.resource as QuestionnaireResponse).identifier!.value, e.fullUrl]));
    const phq = obs.filter((o) => o.code.coding![0]!.code === '44261-6');
    expect(phq.map((o) => o.valueInteger)).toEqual([14, 4]);
    expect(phq[0]!.derivedFrom).toEqual([{ reference: qrUrls.get('c1/screening/phq9') }]);
    expect(obs.find((o) => o.code.coding![0]!.code === '70274-6')!.valueInteger).toBe(10);
    expect(obs.find((o) => o.code.coding![0]!.code === 'cssrs-risk')!.valueCodeableConcept!.coding![0]!.code).toBe('low');
    // Every reference inside the bundle resolves to an entry.
    const urls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
    const refs = JSON.stringify(bundle).match(/"reference":"([^"]+)"/g)!.map((m) => m.slice(13, -1));
    expect(refs.filter((r) => !urls.has(r))).toEqual([]);
  });

  test('CarePlan with one Task per step: status, owner, performer type and due window', () => {
    const [cp] = of<CarePlan>(bundle, 'CarePlan');
    expect(cp!.status).toBe('completed');
    const tasks = of<Task>(bundle, 'Task');
    expect(tasks).toHaveLength(8);
    expect(cp!.activity).toHaveLength(8);
    const clearance = tasks.find((t) => t.identifier![0]!.value === 'c1/clearance')!;
    expect(clearance.status).toBe('completed');
    expect(clearance.performerType![0]!.coding![0]!.code).toBe('prescriber');
    expect(clearance.owner).toEqual(expect.objectContaining({ identifier: expect.objectContaining({ value: 'st-1' }), display: 'Dr Who' }));
    expect(clearance.restriction!.period).toEqual({ start: at(3), end: at(75) });
    expect(tasks.find((t) => t.identifier![0]!.value === 'c1/prep-2')!.status).toBe('cancelled');
    const fu = tasks.find((t) => t.identifier![0]!.value === 'c1/followup-30d')!;
    expect(fu.owner!.reference).toMatch(/^urn:uuid:/);
    expect(fu.output!.length).toBe(2); // the response and its score
    expect(taskStatus('overdue')).toEqual({ status: 'ready', business: 'overdue' });
  });

  test('deterministic: the same record exports under the same ids', () => {
    const again = buildFhirBundle(completeCourse());
    expect(again.entry!.map((e) => e.fullUrl)).toEqual(bundle.entry!.map((e) => e.fullUrl));
    expect(bundle.entry!.every((e) => /^[A-Za-z0-9\-.]{1,64}$/.test(e.resource!.id!))).toBe(true);
  });
});
