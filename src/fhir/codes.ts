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
 * Racemic ketamine, the RxNorm ingredient (TTY IN) 6130 "ketamine". How it was checked (2026-11-30,
 * offline: NLM RxNav is not reachable from here): a public code index holds an RxNorm lookup test that
 * pairs 6130 with "Ketamine" beside ingredient codes whose values are well known (fentanyl 4337,
 * midazolam 6960, morphine 7052, propofol 8782, lidocaine 6387). openFDA's NDC records for ketamine
 * hydrochloride injection list only clinical-drug RxCUIs (238082, 238083, 238084), not the ingredient.
 * The ingredient is used, not a clinical drug: office KAP gives compounded troches and lozenges, which
 * RxNorm does not cover, and injectable strengths vary by clinic.
 */
export const KETAMINE_RXNORM = { code: '6130', display: 'ketamine' } as const;

export const SNOMED = 'http://snomed.info/sct';

/**
 * The protocol routes as SNOMED CT route codes (the R4 "SNOMED CT Route Codes" value set, descendants of
 * 284009009 Route of administration value). Checked 2026-11-30 against several independent public
 * route tables and FHIR value sets that agree: sublingual 37839007, intramuscular 78421000, intravenous
 * 47625008, nasal (intranasal) 46713006, oral 26643006.
 */
export const ROUTE_SNOMED: Record<string, { code: string; display: string }> = {
  sublingual: { code: '37839007', display: 'Sublingual route' },
  intramuscular: { code: '78421000', display: 'Intramuscular route' },
  intravenous: { code: '47625008', display: 'Intravenous route' },
  intranasal: { code: '46713006', display: 'Nasal route' },
  oral: { code: '26643006', display: 'Oral route' },
};

/**
 * Score bands as standard interpretation codes where one exists: a band above the instrument's normal
 * range is "A" (abnormal, v3 ObservationInterpretation); the lowest band is "N" (normal). The band
 * itself stays as text and as a second, local coding.
 */
export function bandInterpretation(bandIndex: number): { code: 'N' | 'A'; display: string } {
  return bandIndex <= 0 ? { code: 'N', display: 'Normal' } : { code: 'A', display: 'Abnormal' };
}
