// A client's care as a FHIR R4 Bundle (type `collection`): Patient (minimal), the clinic as an
// Organization, the staff named in the record as Practitioners, the Questionnaires of the instruments
// used, a QuestionnaireResponse per completed assessment, an Observation per score derived from its
// response, and per course a CarePlan with one Task per step, an Encounter per dosing session (with a
// MedicationAdministration once dosed), vital-sign Observations (R4 core vital-signs profiles),
// AdverseEvents, Consents and one Flag per open safety hold.
// Pure: the same input always gives the same bundle (ids are name-based UUIDs of our record ids),
// so a receiver can upsert on re-export. Entries reference each other by `urn:uuid:` fullUrls.
import type { AdverseEvent, Bundle, BundleEntry, CarePlan, CodeableConcept, Consent, Encounter, Flag, MedicationAdministration, Observation, ObservationComponent, Organization, Patient, Practitioner, Questionnaire, Reference, Resource, Task } from '@medplum/fhirtypes';
import { getInstrument } from '../domain/instruments/registry';
import { fhirId, fullUrl } from './ids';
import { DEFAULT_SYSTEM_BASE, type FhirAssessment, type FhirCourse, type FhirExportInput, type FhirExportOptions, type FhirStep } from './model';
import { CSSRS_LOINC, ESKETAMINE_RXNORM, KETAMINE_RXNORM, OBSERVATION_CATEGORY, ROUTE_SNOMED, RXNORM, SNOMED, UCUM, V3_ACT_CODE, V3_INTERPRETATION, VITALS, bandInterpretation } from './codes';
import { LOINC, buildQuestionnaire, buildQuestionnaireResponse, totalCode } from './questionnaires';
import type { FhirSession, FhirStaff, FhirVitals } from './model';

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

  const organization = input.clinic
    ? add<Organization>({
        resourceType: 'Organization',
        id: fhirId('Organization', input.clinic.id),
        identifier: [{ system: `${base}/clinic-id`, value: input.clinic.id }],
        active: true,
        name: input.clinic.name,
      })
    : undefined;
  const orgRef = organization ? ref(organization, organization.name) : undefined;

  // Minimal on purpose: what a receiver needs to match the person, nothing more (no contact details).
  // Gender only as the client record holds it (female, male, unknown: AdministrativeGender codes); never guessed.
  const patient = add<Patient>({
    resourceType: 'Patient',
    id: fhirId('Patient', client.id),
    identifier: [{ system: `${base}/client-id`, value: client.id }],
    name: [{ family: client.familyName, given: [client.givenName] }],
    ...(client.sex ? { gender: client.sex } : {}),
    ...(client.birthDate ? { birthDate: client.birthDate } : {}),
    ...(orgRef ? { managingOrganization: orgRef } : {}),
  });
  const patientRef = ref(patient, `${client.givenName} ${client.familyName}`);

  // Staff named anywhere in the record, once each (name and our identifier only).
  const practitioners = new Map<string, Reference<any>>();
  const practitionerRef = (st: FhirStaff): Reference<any> => {
    let r = practitioners.get(st.id);
    if (!r) {
      const p = add<Practitioner>({
        resourceType: 'Practitioner',
        id: fhirId('Practitioner', st.id),
        identifier: [{ system: `${base}/staff-id`, value: st.id }],
        active: true,
        ...(st.name ? { name: [{ text: st.name }] } : {}),
      });
      r = ref(p, st.name ?? undefined);
      practitioners.set(st.id, r);
    }
    return r;
  };

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

    addSessions(course, carePlanRef);

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
        ? practitionerRef(s.ownerStaff)
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

  function addSessions(course: FhirCourse, carePlanRef: Reference<any>): void {
    const encounters = new Map<string, Reference<any>>();
    for (const ses of course.sessions ?? []) {
      const status = encounterStatus(ses);
      if (!status) continue;
      const start = ses.dosedAt ?? ses.startsAt;
      const enc = add<Encounter>({
        resourceType: 'Encounter',
        id: fhirId('Encounter', ses.id),
        identifier: [{ system: `${base}/session-id`, value: ses.id }],
        status,
        class: { system: V3_ACT_CODE, code: 'AMB', display: 'ambulatory' },
        type: [{ coding: [{ system: `${base}/CodeSystem/session-kind`, code: 'dosing-session' }], text: `Dosing session ${ses.stepKey}` }],
        subject: patientRef,
        ...(start ? { period: { start, ...(ses.completedAt ? { end: ses.completedAt } : {}) } } : {}),
        ...(orgRef ? { serviceProvider: orgRef } : {}),
      });
      const encRef = ref(enc);
      encounters.set(ses.stepKey, encRef);
      if (ses.dose && ses.dosedAt) {
        const drug = course.drug ?? 'ketamine';
        add<MedicationAdministration>({
          resourceType: 'MedicationAdministration',
          id: fhirId('MedicationAdministration', ses.id),
          identifier: [{ system: `${base}/session-id`, value: ses.id }],
          status: 'completed',
          medicationCodeableConcept:
            drug === 'esketamine'
              ? { coding: [{ system: RXNORM, code: ESKETAMINE_RXNORM.code, display: ESKETAMINE_RXNORM.display }], text: 'esketamine' }
              : { coding: [{ system: RXNORM, code: KETAMINE_RXNORM.code, display: KETAMINE_RXNORM.display }], text: 'ketamine' },
          subject: patientRef,
          context: encRef,
          supportingInformation: [carePlanRef],
          effectiveDateTime: ses.dosedAt,
          // The lot as the dose action recorded it (for esketamine, the REMS form's lot when the dose
          // record has none): a note (R4 MedicationAdministration has no lot element; a receiver reads it here).
          ...(ses.dose.lotNumber ? { note: [{ text: `Lot number: ${ses.dose.lotNumber}` }] } : {}),
          dosage: {
            route: ROUTE_SNOMED[ses.dose.route]
              ? { coding: [{ system: SNOMED, code: ROUTE_SNOMED[ses.dose.route]!.code, display: ROUTE_SNOMED[ses.dose.route]!.display }], text: ses.dose.route }
              : { text: ses.dose.route },
            ...(ses.dose.doseMg !== null ? { dose: { value: ses.dose.doseMg, unit: 'mg', system: UCUM, code: 'mg' } } : {}),
          },
        });
      }
    }
    for (const v of course.vitals ?? []) {
      for (const obs of vitalObservations(base, v, patientRef, encounters.get(v.stepKey))) add(obs);
    }
    for (const ae of course.adverseEvents ?? []) {
      add<AdverseEvent>({
        resourceType: 'AdverseEvent',
        id: fhirId('AdverseEvent', ae.id),
        identifier: { system: `${base}/adverse-event-id`, value: ae.id },
        actuality: 'actual',
        category: [{ coding: [{ system: `${base}/CodeSystem/adverse-event-category`, code: ae.category }], text: ae.category }],
        event: { text: ae.description ?? ae.category },
        subject: patientRef,
        ...(ae.stepKey && encounters.get(ae.stepKey) ? { encounter: encounters.get(ae.stepKey) } : {}),
        date: ae.onsetAt,
        recordedDate: ae.recordedAt,
        ...(ae.recordedBy ? { recorder: practitionerRef(ae.recordedBy) } : {}),
        seriousness: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adverse-event-seriousness', code: ae.serious ? 'Serious' : 'Non-serious', display: ae.serious ? 'Serious' : 'Non-serious' }],
        },
        // R4's severity value set has mild | moderate | severe; life-threatening is severe, said in text.
        severity: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adverse-event-severity', code: ae.severity === 'life-threatening' ? 'severe' : ae.severity }],
          text: ae.severity,
        },
      });
    }
    for (const c of course.consents ?? []) {
      add<Consent>({
        resourceType: 'Consent',
        id: fhirId('Consent', c.id),
        identifier: [{ system: `${base}/consent-id`, value: c.id }],
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'treatment', display: 'Treatment' }] },
        category: [
          { coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Consent Document' }] },
          { coding: [{ system: `${base}/CodeSystem/consent-kind`, code: c.kind }], text: `${c.kind} (document version ${c.documentVersion})` },
        ],
        patient: patientRef,
        dateTime: c.signedByClientAt,
        performer: [patientRef, ...(c.prescriber ? [practitionerRef(c.prescriber)] : [])],
        ...(orgRef ? { organization: [orgRef] } : {}),
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: { type: 'permit', period: { start: c.signedByClientAt } },
      });
    }
  }

  return {
    resourceType: 'Bundle',
    id: fhirId('Bundle', `${client.id}:${input.courses.map((c) => c.id).join(',')}`),
    type: 'collection',
    timestamp: input.exportedAt ?? new Date().toISOString(),
    entry: entries,
  };
}

/** course_sessions.status -> Encounter.status; an unscheduled session is no encounter yet. */
export function encounterStatus(ses: FhirSession): Encounter['status'] | null {
  switch (ses.status) {
    case 'unscheduled':
      return null;
    case 'scheduled':
      return 'planned';
    case 'checked-in':
    case 'held':
      return 'arrived';
    case 'dosed':
      return 'in-progress';
    case 'completed':
      return 'finished';
    case 'no-show':
    case 'cancelled':
      return 'cancelled';
  }
}

const vitalCategory = [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] }];

/** One reading as the R4 core vital-signs profiles want it: a BP panel, a heart rate, an SpO2. */
export function vitalObservations(base: string, v: FhirVitals, subject: Reference<any>, encounter: Reference<any> | undefined): Observation[] {
  const common = (kind: string) => ({
    resourceType: 'Observation' as const,
    id: fhirId('Observation', `${v.id}/${kind}`),
    identifier: [{ system: `${base}/vitals-id`, value: `${v.id}/${kind}` }],
    status: 'final' as const,
    category: vitalCategory,
    subject,
    ...(encounter ? { encounter } : {}),
    effectiveDateTime: v.takenAt,
    note: [{ text: v.phase === 'monitoring' && v.minutesAfterDose !== null ? `monitoring, ${v.minutesAfterDose} min after the dose` : v.phase }],
  });
  const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
  const out: Observation[] = [
    {
      ...common('bp'),
      meta: { profile: [VITALS.bp.profile] },
      code: { coding: [{ system: LOINC, code: VITALS.bp.panel, display: 'Blood pressure panel with all children optional' }], text: 'Blood pressure' },
      component: [
        { code: { coding: [{ system: LOINC, code: VITALS.bp.systolic, display: 'Systolic blood pressure' }] }, valueQuantity: mmHg(v.systolic) },
        { code: { coding: [{ system: LOINC, code: VITALS.bp.diastolic, display: 'Diastolic blood pressure' }] }, valueQuantity: mmHg(v.diastolic) },
      ],
    },
  ];
  if (v.heartRate !== null) {
    out.push({
      ...common('hr'),
      meta: { profile: [VITALS.heartRate.profile] },
      code: { coding: [{ system: LOINC, code: VITALS.heartRate.code, display: 'Heart rate' }], text: 'Heart rate' },
      valueQuantity: { value: v.heartRate, unit: 'beats/minute', system: UCUM, code: '/min' },
    });
  }
  if (v.spo2 !== null) {
    out.push({
      ...common('spo2'),
      meta: { profile: [VITALS.spo2.profile] },
      code: {
        coding: [
          { system: LOINC, code: VITALS.spo2.code, display: 'Oxygen saturation in Arterial blood' },
          { system: LOINC, code: VITALS.spo2.pulseOximetry, display: 'Oxygen saturation in Arterial blood by Pulse oximetry' },
        ],
        text: 'SpO2',
      },
      valueQuantity: { value: v.spo2, unit: '%', system: UCUM, code: '%' },
    });
  }
  return out;
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
    const std = instrument.id === 'cssrs' ? CSSRS_LOINC.riskAnswers[a.band] : undefined;
    return {
      ...common,
      code:
        instrument.id === 'cssrs'
          ? { coding: [{ system: LOINC, code: CSSRS_LOINC.riskLevel, display: 'Suicide risk level' }], text: `${instrument.shortName} risk level` }
          : { coding: [{ system: `${base}/CodeSystem/scores`, code: `${instrument.id}-risk`, display: `${instrument.shortName} risk level` }], text: `${instrument.shortName} risk level` },
      valueCodeableConcept: {
        coding: [...(std ? [{ system: LOINC, code: std.code, display: std.display }] : []), { system: `${base}/CodeSystem/${instrument.id}-risk`, code: a.band }],
        text: a.band,
      },
    };
  }
  if (a.total === null) return null;
  const total = totalCode(instrument);
  const code: CodeableConcept = total
    ? { coding: [{ system: LOINC, code: total, display: `${instrument.shortName} total score` }], text: `${instrument.shortName} total score` }
    : { coding: [{ system: `${base}/CodeSystem/scores`, code: `${instrument.id}-total`, display: `${instrument.shortName} total score` }], text: `${instrument.shortName} total score` };
  const band = a.band ? instrument.bands.find((b) => b.id === a.band) : undefined;
  return {
    ...common,
    code,
    valueInteger: a.total,
    ...(a.band
      ? {
          interpretation: [
            {
              coding: [
                ...(band ? [{ system: V3_INTERPRETATION, ...bandInterpretation(instrument.bands.indexOf(band)) }] : []),
                { system: `${base}/CodeSystem/${instrument.id}-band`, code: a.band },
              ],
              text: band?.label ?? a.band,
            },
          ],
        }
      : {}),
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
