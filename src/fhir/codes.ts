// Standard codes the FHIR mapping uses beyond the instruments' own (questionnaires.ts), each with where
// it was checked. Where no standard code was verified, the mapping uses a local code system under the
// configured FHIR_SYSTEM_BASE, or text only.

export const LOINC = 'http://loinc.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const V3_INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/**
 * PCL-5 (LOINC 2.75+): panel 101697-1 "Post traumatic stress disorder checklist - civilian version DSM-5
 * [PCL-5]" and score 101698-9 "PTSD PCL-5 score [PCL-5]" (LOINC term pages, checked 2026-11-30). Item
 * codes were not verified: the items keep no code.
 */
export const PCL5_LOINC = { panel: '101697-1', total: '101698-9' } as const;

/**
 * C-SSRS screener items, from the HL7 US Behavioral Health Profiles IG's C-SSRS example (LOINC codes per
 * item, checked 2026-11-30): 1 93246-7, 2 93247-5, 3 93248-3, 4 93249-1, 5 93250-9, 6 93267-3, 6b
 * 93269-9; suicide risk level 93374-7 with LA9194-7 "Low"; answers LA33-6 Yes / LA32-8 No. A panel
 * code was not verified: the Questionnaire has none. Moderate and high risk answers were not verified
 * in LOINC: those levels keep the local risk code system (text says the level).
 */
export const CSSRS_LOINC = {
  items: { '1': '93246-7', '2': '93247-5', '3': '93248-3', '4': '93249-1', '5': '93250-9', '6': '93267-3', '6b': '93269-9' } as Record<string, string>,
  riskLevel: '93374-7',
  riskAnswers: { low: { code: 'LA9194-7', display: 'Low' } } as Record<string, { code: string; display: string }>,
  yes: { code: 'LA33-6', display: 'Yes' },
  no: { code: 'LA32-8', display: 'No' },
} as const;

/**
 * Vital signs: the R4 core vital-signs profiles and their LOINC codes (as the profiles in the FHIR R4
 * core definitions require): blood pressure panel 85354-9 with systolic 8480-6 and diastolic 8462-4,
 * heart rate 8867-4, oxygen saturation 2708-6 (the oxygensat profile's code) with 59408-5 (by pulse
 * oximetry) beside it. Units are UCUM.
 */
export const VITALS = {
  bp: { profile: 'http://hl7.org/fhir/StructureDefinition/bp', panel: '85354-9', systolic: '8480-6', diastolic: '8462-4' },
  heartRate: { profile: 'http://hl7.org/fhir/StructureDefinition/heartrate', code: '8867-4' },
  spo2: { profile: 'http://hl7.org/fhir/StructureDefinition/oxygensat', code: '2708-6', pulseOximetry: '59408-5' },
} as const;

/** Esketamine Nasal Spray, RxNorm SCDF 2201623 (NLM RxNorm via NDC List, checked 2026-11-30). */
export const ESKETAMINE_RXNORM = { code: '2201623', display: 'esketamine Nasal Spray' } as const;

/**
 * Score bands as standard interpretation codes where one exists: a band above the instrument's normal
 * range is "A" (abnormal, v3 ObservationInterpretation); the lowest band is "N" (normal). The band
 * itself stays as text and as a second, local coding.
 */
export function bandInterpretation(bandIndex: number): { code: 'N' | 'A'; display: string } {
  return bandIndex <= 0 ? { code: 'N', display: 'Normal' } : { code: 'A', display: 'Abnormal' };
}
