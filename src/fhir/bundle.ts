// A client's care as a FHIR R4 Bundle (type `collection`): Patient (minimal), the Questionnaires of
// the instruments used, a QuestionnaireResponse per completed assessment, an Observation per score
// derived from its response, and per course a CarePlan with one Task per step.
// Pure: the same input always gives the same bundle (ids are name-based UUIDs of our record ids),
// so a receiver can upsert on re-export. Entries reference each other by `urn:uuid:` fullUrls.
import type { Bundle, BundleEntry, CarePlan, CodeableConcept, Flag, Observation, ObservationComponent, Patient, Questionnaire, Reference, Resource, Task } from '@medplum/fhirtypes';
import { getInstrument } from '../domain/instruments/registry';
import { fhirId, fullUrl } from './ids';
import { DEFAULT_SYSTEM_BASE, type FhirAssessment, type FhirCourse, type FhirExportInput, type FhirExportOptions, type FhirStep } from './model';
import { LOINC, buildQuestionnaire, buildQuestionnaireResponse } from './questionnaires';

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** course_steps.state -> Task.status (+ businessStatus for what FHIR's status cannot say). */
export function taskStatus(state: FhirStep['state']): { status: Task['status']; business?: string } {
  switch (state) {
    case 'open':
      return { status: 'ready' };
    case 'overdue':
      return { status: 'ready', business: 'overdue' };
    case 'done':
      return { status: 'completed' };
    case 'skipped':
      return { status: 'cancelled', business: 'skipped' };
    case 'cancelled':
      return { status: 'cancelled' };
  }
}

/** courses.status -> CarePlan.status. */
export function carePlanStatus(status: string): CarePlan['status'] {
  switch (status) {
    case 'active':
      return 'active';
    case 'paused':
      return 'on-hold';
    case 'completed':
      return 'completed';
    case 'withdrawn':
    case 'ineligible':
      return 'revoked';
    default:
      return 'unknown';
  }
}

const ref = (r: Resource & { id?: string }, display?: string): Reference<any> => ({ reference: fullUrl(r.id!), ...(display ? { display } : {}) });

export function buildFhirBundle(input: FhirExportInput, options: FhirExportOptions = {}): Bundle {
  const base = (options.systemBase ?? DEFAULT_SYSTEM_BASE).replace(/\/+$/, '');
  const entries: BundleEntry[] = [];
  const add = <T extends Resource & { id?: string }>(r: T): T => {
    entries.push({ fullUrl: fullUrl(r.id!), resource: r });
    return r;
  };
  const { client } = input;

  // Minimal on purpose: what a receiver needs to match the person, nothing more (no contact details).
  const patient = add<Patient>({
    resourceType: 'Patient',
    id: fhirId('Patient', client.id),
    identifier: [{ system: `${base}/client-id`, value: client.id }],
    name: [{ family: client.familyName, given: [client.givenName] }],
    ...(client.birthDate ? { birthDate: client.birthDate } : {}),
  });
  const patientRef = ref(patient, `${client.givenName} ${client.familyName}`);

  const instrumentIds = [...new Set(input.courses.flatMap((c) => c.assessments.filter((a) => a.status === 'completed').map((a) => a.instrumentId)))].sort();
  const questionnaires = new Map<string, Questionnaire>();
  for (const id of instrumentIds) {
    const q = buildQuestionnaire(base, id);
    if (q) questionnaires.set(id, add(q));
  }

  for (const course of input.courses) addCourse(course);

  function addCourse(course: FhirCourse): void {
    const carePlanId = fhirId('CarePlan', course.id);
    const carePlanRef: Reference<any> = { reference: fullUrl(carePlanId) };
    const outputs = new Map<string, Reference<any>[]>();

    for (const a of [...course.assessments].sort(byCompleted)) {
      const qr = buildQuestionnaireResponse(base, a, patientRef, patientRef);
      if (!qr) continue;
      qr.basedOn = [carePlanRef];
      add(qr);
      const qrRef = ref(qr);
      (outputs.get(a.stepKey) ?? outputs.set(a.stepKey, []).get(a.stepKey)!).push(qrRef);
      const obs = scoreObservation(base, a, patientRef, qrRef);
      const clusters = course.pcl5Clusters?.[a.id];
      if (obs && clusters) obs.component = pcl5Components(base, clusters);
      if (obs) {
        obs.basedOn = [carePlanRef];
        add(obs);
        outputs.get(a.stepKey)!.push(ref(obs));
      }
    }

    const taskIds = course.steps.map((s) => fhirId('Task', s.id));
    const carePlan = add<CarePlan>({
      resourceType: 'CarePlan',
      id: carePlanId,
      identifier: [{ system: `${base}/course-id`, value: course.id }],
      instantiatesUri: [`${base}/protocols/${course.protocol.id}/${course.protocol.version}`],
      status: carePlanStatus(course.status),
      intent: 'plan',
      title: course.protocol.name,
      subject: patientRef,
      period: { start: course.enrolledAt, ...(course.endedAt ? { end: course.endedAt } : {}) },
      // What was decided, in order (override reasons, review notes summaries...), then how it ended.
      ...((course.decisions ?? []).length || course.endReason
        ? { note: [...(course.decisions ?? []).map((d) => ({ time: d.at, text: d.summary })), ...(course.endReason ? [{ text: `Ended: ${course.endReason}` }] : [])] }
        : {}),
      activity: taskIds.map((id) => ({ reference: { reference: fullUrl(id) } })),
    });

    // One active Flag per open safety item: exactly the open set (a closed item is no Flag).
    for (const h of course.safetyItems ?? []) {
      add<Flag>({
        resourceType: 'Flag',
        id: fhirId('Flag', h.id),
        identifier: [{ system: `${base}/safety-item-id`, value: h.id }],
        status: 'active',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'safety', display: 'Safety' }] }],
        code: {
          coding: [{ system: `${base}/CodeSystem/safety-hold`, code: h.kind }],
          text: `${h.suicideRisk ? 'Suicide risk' : 'Safety hold'}${h.level ? ` (${h.level})` : ''}: ${h.reason}. Closes when ${h.closesWhen}.`,
        },
        subject: patientRef,
        period: { start: h.at },
      });
    }

    course.steps.forEach((s, i) => {
      const { status, business } = taskStatus(s.state);
      const performer = roleConcept(base, s.ownerRole);
      const owner: Reference<any> | undefined = s.ownerStaff
        ? { type: 'Practitioner', identifier: { system: `${base}/staff-id`, value: s.ownerStaff.id }, ...(s.ownerStaff.name ? { display: s.ownerStaff.name } : {}) }
        : s.ownerRole === 'client'
          ? patientRef
          : undefined;
      const out = outputs.get(s.stepKey) ?? [];
      add<Task>({
        resourceType: 'Task',
        id: taskIds[i]!,
        identifier: [{ system: `${base}/course-step-id`, value: s.id }],
        basedOn: [ref(carePlan)],
        status,
        ...(business ? { businessStatus: { coding: [{ system: `${base}/CodeSystem/step-state`, code: business }], text: business } } : {}),
        ...(s.state === 'skipped' || s.state === 'cancelled' ? { statusReason: { text: s.outcome ?? s.state } } : {}),
        intent: 'plan',
        code: { coding: [{ system: `${base}/CodeSystem/step-kind`, code: s.kind }], text: s.kind },
        description: s.name,
        for: patientRef,
        authoredOn: s.enteredAt,
        executionPeriod: { start: s.enteredAt, ...(s.completedAt ? { end: s.completedAt } : {}) },
        ...(performer ? { performerType: [performer] } : {}),
        ...(owner ? { owner } : {}),
        // The due window: from when the step opened until its deadline.
        restriction: { period: { start: s.enteredAt, ...(s.deadlineAt ? { end: s.deadlineAt } : {}) } },
        ...(out.length ? { output: out.map((r) => ({ type: { text: 'result' }, valueReference: r })) } : {}),
      });
    });
  }

  return {
    resourceType: 'Bundle',
    id: fhirId('Bundle', `${client.id}:${input.courses.map((c) => c.id).join(',')}`),
    type: 'collection',
    timestamp: input.exportedAt ?? new Date().toISOString(),
    entry: entries,
  };
}

function byCompleted(a: FhirAssessment, b: FhirAssessment): number {
  return (a.completedAt ?? '').localeCompare(b.completedAt ?? '') || a.id.localeCompare(b.id);
}

function roleConcept(base: string, role: string | null): CodeableConcept | undefined {
  if (!role) return undefined;
  return { coding: [{ system: `${base}/CodeSystem/care-role`, code: role }], text: role };
}

/** The total score (or, for the C-SSRS, the triaged risk level) as an Observation derived from the response. */
export function scoreObservation(base: string, a: FhirAssessment, subject: Reference<any>, derivedFrom: Reference<any>): Observation | null {
  const instrument = getInstrument(a.instrumentId);
  if (!instrument || a.status !== 'completed') return null;
  const common = {
    resourceType: 'Observation' as const,
    id: fhirId('Observation', a.id),
    identifier: [{ system: `${base}/assessment-id`, value: a.id }],
    status: 'final' as const,
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'survey', display: 'Survey' }] }],
    subject,
    ...(a.completedAt ? { effectiveDateTime: a.completedAt, issued: a.completedAt } : {}),
    derivedFrom: [derivedFrom],
  };
  if (instrument.answerKind === 'yes-no') {
    if (!a.band) return null;
    return {
      ...common,
      code: { coding: [{ system: `${base}/CodeSystem/scores`, code: `${instrument.id}-risk`, display: `${instrument.shortName} risk level` }], text: `${instrument.shortName} risk level` },
      valueCodeableConcept: { coding: [{ system: `${base}/CodeSystem/${instrument.id}-risk`, code: a.band }], text: a.band },
    };
  }
  if (a.total === null) return null;
  const code: CodeableConcept = instrument.loinc?.total
    ? { coding: [{ system: LOINC, code: instrument.loinc.total, display: `${instrument.shortName} total score` }], text: `${instrument.shortName} total score` }
    : { coding: [{ system: `${base}/CodeSystem/scores`, code: `${instrument.id}-total`, display: `${instrument.shortName} total score` }], text: `${instrument.shortName} total score` };
  const band = a.band ? instrument.bands.find((b) => b.id === a.band) : undefined;
  return {
    ...common,
    code,
    valueInteger: a.total,
    ...(a.band ? { interpretation: [{ coding: [{ system: `${base}/CodeSystem/${instrument.id}-band`, code: a.band }], text: band?.label ?? a.band }] } : {}),
    referenceRange: [{ low: { value: instrument.minTotal }, high: { value: instrument.maxTotal } }],
  };
}

/** The PCL-5's DSM-5 cluster rule as Observation components: one per cluster, then the rule itself. */
function pcl5Components(base: string, p: NonNullable<FhirCourse['pcl5Clusters']>[string]): ObservationComponent[] {
  const sys = `${base}/CodeSystem/pcl5-dsm5`;
  return [
    ...Object.entries(p.clusters).map(([k, c]) => ({
      code: { coding: [{ system: sys, code: `cluster-${k}` }], text: `DSM-5 cluster ${k}: items rated >= 2 (needs ${c.required})` },
      valueInteger: c.endorsed,
      interpretation: [{ text: c.met ? 'met' : 'not met' }],
    })),
    { code: { coding: [{ system: sys, code: 'dsm5-criteria-met' }], text: 'DSM-5 cluster rule (B>=1, C>=1, D>=2, E>=2)' }, valueBoolean: p.dsm5CriteriaMet },
  ];
}
