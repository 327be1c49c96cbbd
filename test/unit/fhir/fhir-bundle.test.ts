// The FHIR mapping on a complete course, checked by the independent validators (fhir-validator.ts),
// plus the specific codes and links an integration engineer relies on.
import type { Bundle, CarePlan, Observation, Questionnaire, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import { buildFhirBundle, taskStatus } from '../../../src/fhir/bundle';
import { at, completeCourse } from './fixture';
import { errorsOf, validateFhir } from './fhir-validator';

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

  test('Patient is minimal: id, name, birth date, gender as recorded, our identifier and the clinic, no contact details', () => {
    const [p] = of<Record<string, unknown>>(bundle, 'Patient');
    expect(Object.keys(p!).sort()).toEqual(['birthDate', 'gender', 'id', 'identifier', 'managingOrganization', 'name', 'resourceType']);
    expect(p!.gender).toBe('female');
    // Not recorded: no gender at all (none is guessed).
    const unrecorded = completeCourse();
    unrecorded.client.sex = null;
    expect(of<Record<string, unknown>>(buildFhirBundle(unrecorded), 'Patient')[0]!.gender).toBeUndefined();
    expect((p!.identifier as Array<{ system: string }>)[0]!.system).toBe('https://kap-pathways.example.org/fhir/client-id');
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
    // C-SSRS risk level: LOINC 93374-7 with the LOINC answer Low (LA9194-7), the local band beside it.
    expect(obs.find((o) => o.code.coding![0]!.code === '93374-7')!.valueCodeableConcept!.coding!.map((c) => c.code)).toEqual(['LA9194-7', 'low']);
    // PCL-5 total 101698-9; bands as v3 interpretation codes (lowest band N, above it A).
    expect(obs.find((o) => o.code.coding![0]!.code === '101698-9')!.valueInteger).toBe(40);
    expect(obs.find((o) => o.code.coding![0]!.code === '101698-9')!.interpretation![0]!.coding![0]).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'A', display: 'Abnormal' });
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
    const practitioner = of<{ id: string; identifier: Array<{ value: string }> }>(bundle, 'Practitioner').find((p) => p.identifier[0]!.value === 'st-1')!;
    expect(clearance.owner).toEqual({ reference: `urn:uuid:${practitioner.id}`, display: 'Dr Who' });
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

  test('the treatment: an Encounter per scheduled session, the dose given, vital signs, adverse events, consent, the safety hold', () => {
    const enc = of<{ status: string; identifier: Array<{ value: string }> }>(bundle, 'Encounter');
    expect(enc.map((e) => [e.identifier[0]!.value, e.status])).toEqual([['c1/dose-1', 'finished'], ['c1/dose-2', 'cancelled']]);
    type Coded = { coding: Array<{ system: string; code: string }>; text: string };
    const [ma] = of<{ medicationCodeableConcept: Coded; dosage: { dose: { value: number; code: string }; route: Coded }; note: Array<{ text: string }>; context: { reference: string } }>(bundle, 'MedicationAdministration');
    expect(ma!.medicationCodeableConcept.text).toBe('ketamine');
    // Racemic ketamine: the RxNorm ingredient; the route as its SNOMED CT route code.
    expect(ma!.medicationCodeableConcept.coding).toEqual([expect.objectContaining({ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '6130' })]);
    expect(ma!.dosage.route.coding).toEqual([expect.objectContaining({ system: 'http://snomed.info/sct', code: '37839007' })]);
    expect(ma!.dosage.dose).toEqual(expect.objectContaining({ value: 200, code: 'mg' }));
    expect(ma!.dosage.route.text).toBe('sublingual');
    expect(ma!.note[0]!.text).toBe('Lot number: L1');
    const vit = of<Observation>(bundle, 'Observation').filter((o) => o.category![0]!.coding![0]!.code === 'vital-signs');
    expect(vit.map((o) => o.code.coding![0]!.code)).toEqual(['85354-9', '8867-4', '2708-6', '85354-9']);
    expect(vit[0]!.component!.map((c) => [c.code.coding![0]!.code, c.valueQuantity!.value])).toEqual([['8480-6', 128], ['8462-4', 82]]);
    const ae = of<{ seriousness: { coding: Array<{ code: string }> }; severity: { coding: Array<{ code: string }>; text: string } }>(bundle, 'AdverseEvent');
    expect(ae.map((a) => [a.seriousness.coding[0]!.code, a.severity.coding[0]!.code, a.severity.text])).toEqual([['Non-serious', 'mild', 'mild'], ['Serious', 'severe', 'life-threatening']]);
    expect(of(bundle, 'Consent')).toHaveLength(1);
    expect(of<{ status: string }>(bundle, 'Flag').map((f) => f.status)).toEqual(['active']);
    expect(of<{ name: string }>(bundle, 'Organization').map((o) => o.name)).toEqual(['Harbour Clinic']);
  });
});
