// Every resource type the engine emits, validated in one run of the HAPI FHIR R4 validator
// (test/fhir-validator: HAPI FHIR 8.8.0's FhirInstanceValidator, offline over the R4 core definitions).
// 0 errors; a new error fails the test with the resource, the path and the validator's message.
// Warnings (unknown code systems such as LOINC and RxNorm, which need a terminology server) are allowed.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { capabilityStatement, outcome } from '../../../src/fhir/api';
import { buildFhirBundle } from '../../../src/fhir/bundle';
import { hapiErrors, hapiValidate, type HapiMessage } from '../../fhir-validator/hapi';
import { completeCourse } from './fixture';

let messages: HapiMessage[];
let bundle: Bundle;
let esketamine: Resource;
const ROUTES = ['sublingual', 'intramuscular', 'intravenous', 'intranasal', 'oral'] as const;
const byRoute: Record<string, Resource> = {};
const broken = (r: Resource) => ({ ...(r as object), status: 'finished' });

beforeAll(() => {
  bundle = buildFhirBundle(completeCourse());
  const task = bundle.entry!.map((e) => e.resource!).find((r) => r.resourceType === 'Task')!;
  const resources: Record<string, unknown> = { bundle };
  // Each entry on its own as well (the read API serves them one by one), and one broken Task: the
  // validator must report it, or it is not checking anything.
  bundle.entry!.forEach((e, i) => (resources[`${i}-${e.resource!.resourceType}`] = e.resource));
  resources['negative-control-Task'] = broken(task);
  // An esketamine course: its MedicationAdministration carries the RxNorm code.
  const eske = completeCourse();
  eske.courses[0]!.drug = 'esketamine';
  esketamine = buildFhirBundle(eske).entry!.map((e) => e.resource!).find((r) => r.resourceType === 'MedicationAdministration')!;
  resources['esketamine-MedicationAdministration'] = esketamine;
  // Racemic ketamine by every route a protocol may name (RxNorm ingredient, SNOMED CT route code).
  for (const route of ROUTES) {
    const c = completeCourse();
    c.courses[0]!.sessions![0]!.dose = { route, doseMg: 35, lotNumber: `LOT-${route}` };
    byRoute[route] = buildFhirBundle(c).entry!.map((e) => e.resource!).find((r) => r.resourceType === 'MedicationAdministration')!;
    resources[`ketamine-${route}-MedicationAdministration`] = byRoute[route];
  }
  // What the FHIR API (src/fhir/api.ts) adds: its CapabilityStatement, its OperationOutcomes and
  // searchset Bundles (with the references relative, as it serves them).
  const patient = bundle.entry!.map((e) => e.resource!).find((r) => r.resourceType === 'Patient')!;
  resources['api-CapabilityStatement'] = capabilityStatement('https://clinic.example.org/fhir');
  resources['api-OperationOutcome'] = outcome('invalid', 'date: "yesterday" is not a FHIR date search', 'date');
  resources['api-searchset'] = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 1,
    link: [{ relation: 'self', url: 'https://clinic.example.org/fhir/Patient' }],
    entry: [{ fullUrl: `https://clinic.example.org/fhir/Patient/${patient.id}`, resource: patient, search: { mode: 'match' } }],
  };
  messages = hapiValidate(resources);
}, 600_000); // the JVM run takes 10-30 s; on a fresh clone without .ci/run, Maven first fetches the jars

test('the validator is not vacuous: a Task with an invalid status is an error', () => {
  expect(hapiErrors(messages).filter((m) => m.file === 'negative-control-Task').map((m) => m.location)).toContain('Task.status');
});

test('every emitted resource passes the HAPI FHIR R4 validator with 0 errors', () => {
  const types = [...new Set(bundle.entry!.map((e) => e.resource!.resourceType))].sort();
  expect(types).toEqual(['AdverseEvent', 'CarePlan', 'Consent', 'Encounter', 'Flag', 'MedicationAdministration', 'Observation', 'Organization', 'Patient', 'Practitioner', 'Questionnaire', 'QuestionnaireResponse', 'Task']);
  expect((esketamine as { medicationCodeableConcept: { coding: Array<{ system: string; code: string }> } }).medicationCodeableConcept.coding[0]).toEqual(expect.objectContaining({ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '2201623' }));
  expect(hapiErrors(messages).filter((m) => m.file !== 'negative-control-Task')).toEqual([]);
});

test('ketamine by each protocol route: RxNorm ingredient 6130, the SNOMED CT route code, the dose and lot as recorded', () => {
  type MA = { medicationCodeableConcept: { coding: Array<{ code: string }> }; dosage: { route: { coding: Array<{ system: string; code: string }> }; dose: { value: number } }; note: Array<{ text: string }> };
  const seen = ROUTES.map((r) => {
    const ma = byRoute[r] as unknown as MA;
    return [r, ma.medicationCodeableConcept.coding[0]!.code, ma.dosage.route.coding[0]!.system, ma.dosage.route.coding[0]!.code, ma.dosage.dose.value, ma.note[0]!.text];
  });
  expect(seen).toEqual([
    ['sublingual', '6130', 'http://snomed.info/sct', '37839007', 35, 'Lot number: LOT-sublingual'],
    ['intramuscular', '6130', 'http://snomed.info/sct', '78421000', 35, 'Lot number: LOT-intramuscular'],
    ['intravenous', '6130', 'http://snomed.info/sct', '47625008', 35, 'Lot number: LOT-intravenous'],
    ['intranasal', '6130', 'http://snomed.info/sct', '46713006', 35, 'Lot number: LOT-intranasal'],
    ['oral', '6130', 'http://snomed.info/sct', '26643006', 35, 'Lot number: LOT-oral'],
  ]);
  // hapiValidate throws unless the validator read every file, so 0 errors here is 0 errors on each.
  expect(hapiErrors(messages).filter((m) => m.file.startsWith('ketamine-'))).toEqual([]);
});
