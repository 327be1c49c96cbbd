// Eligibility from a screening record (clinical.md section 2). Every hard stop blocks clearance
// unless someone in a role the protocol names (prescribers by default) overrides it with a recorded,
// non-empty reason. Who overrode is the authenticated principal, filled in by the workflow from the
// action's actor: a request names only the hard stop and the reason. Review items and interacting
// medications send the case to a prescriber. Nothing is assumed: every hard stop and every review item
// is answered explicitly (yes, no, or not assessed with a reason); an unanswered one leaves the
// screening incomplete, a hard stop not assessed leaves it incomplete (with its reason), and a review
// item not assessed goes to the prescriber with its reason.
import type { Role } from '../protocol';
import { block, note, type Decision, type Reason } from './decision';

export const HARD_STOPS = {
  'psychotic-disorder': 'History of a primary psychotic disorder',
  'acute-mania': 'Acute mania or mixed state',
  'suicidal-ideation-with-intent': 'Active suicidal ideation with intent',
  'uncontrolled-hypertension': 'Uncontrolled hypertension',
  'uncontrolled-substance-use': 'Uncontrolled substance use disorder',
  'ketamine-allergy': 'Allergy to ketamine or esketamine',
  pregnancy: 'Pregnancy',
  'aneurysmal-vascular-disease': 'Aneurysmal vascular disease (brain, chest, abdominal aorta, arms or legs)',
  'arteriovenous-malformation': 'Arteriovenous malformation',
  'intracerebral-haemorrhage': 'History of intracerebral haemorrhage',
  'severe-hepatic-impairment': 'Severe hepatic impairment',
  'uncontrolled-glaucoma': 'Uncontrolled glaucoma',
  'severe-breathing-problems': 'Severe breathing problems',
} as const;
export type HardStop = keyof typeof HARD_STOPS;

/**
 * The hard stops that are suicide-risk signals: answered yes at screening, each opens a high
 * suicide-risk safety item that only a clinician's review closes, whether or not the course goes on.
 */
export const SUICIDE_HARD_STOPS: readonly HardStop[] = ['suicidal-ideation-with-intent'];

export const REVIEW_ITEMS = {
  'bipolar-disorder': 'Bipolar disorder (case by case)',
  'psychosis-first-degree-relative': 'Psychotic disorder in a first-degree relative (a hard stop at some clinics)',
  'liver-disease': 'Liver disease',
  cystitis: 'Cystitis or urinary tract symptoms',
  hyperthyroidism: 'Hyperthyroidism',
  'prior-ketamine-use': 'Prior ketamine use (including non-medical)',
  breastfeeding: 'Breastfeeding',
} as const;
export type ReviewItem = keyof typeof REVIEW_ITEMS;

export const INTERACTING_MEDICATION_CLASSES = {
  benzodiazepine: 'Benzodiazepine',
  lamotrigine: 'Lamotrigine',
  maoi: 'MAO inhibitor',
  opioid: 'Opioid',
  psychostimulant: 'Psychostimulant',
  'other-sedative': 'Other sedative',
} as const;
export type MedicationClass = keyof typeof INTERACTING_MEDICATION_CLASSES | 'other';

/** Above this daily diazepam-equivalent dose, benzodiazepines predicted non-response (Frontiers Psychiatry 2020). */
export const BENZODIAZEPINE_MAX_DIAZEPAM_EQUIVALENT_MG = 8;

export interface Medication {
  name: string;
  class: MedicationClass;
  /** For benzodiazepines: total daily dose as diazepam equivalent, in mg. */
  diazepamEquivalentMgPerDay?: number;
}

/** An override as a request carries it: which hard stop and why (never who: that is the principal). */
export interface HardStopOverrideRequest {
  hardStop: HardStop;
  reason: string;
}

/** An override with the principal who made it (from the credential, never from the request body). */
export interface HardStopOverride extends HardStopOverrideRequest {
  byRole: Role;
  /**
   * The staff id, or `token:<id>` for an API token without a staff member. Only a staff member (a
   * person) may override: an override without a staff id is rejected.
   */
  byUserId?: string;
}

/** Who may override a hard stop when the protocol does not say. */
export const DEFAULT_OVERRIDE_ROLES: readonly Role[] = ['prescriber'];

/**
 * One screening answer: present (`true` / 'yes'), absent (`false` / 'no'), or not assessed with the
 * reason it could not be (`{ notAssessed: reason }`). A missing answer is never read as "absent".
 */
export type ScreeningAnswer = boolean | 'yes' | 'no' | { notAssessed: string };

/** Present / absent / not assessed (with its reason) / unanswered (missing or not a valid answer). */
export function readAnswer(v: unknown): { kind: 'present' } | { kind: 'absent' } | { kind: 'not-assessed'; reason: string } | { kind: 'unanswered' } {
  if (v === true || v === 'yes') return { kind: 'present' };
  if (v === false || v === 'no') return { kind: 'absent' };
  if (typeof v === 'object' && v !== null && typeof (v as { notAssessed?: unknown }).notAssessed === 'string' && (v as { notAssessed: string }).notAssessed.trim()) {
    return { kind: 'not-assessed', reason: (v as { notAssessed: string }).notAssessed.trim() };
  }
  return { kind: 'unanswered' };
}

export interface ScreeningRecord {
  /** An explicit answer to every hard-stop question. A missing one leaves the screening incomplete. */
  hardStops: Partial<Record<HardStop, ScreeningAnswer>>;
  /** An explicit answer to every review item. A missing one leaves the screening incomplete. */
  reviewItems?: Partial<Record<ReviewItem, ScreeningAnswer>>;
  medications?: readonly Medication[];
  /** Baseline C-SSRS risk, if done: 'high' counts as the suicidal-ideation hard stop. */
  cssrsRisk?: 'none' | 'low' | 'moderate' | 'high';
  /** Baseline PHQ-9 item 9, if done: > 0 is a review item. */
  phq9Item9?: number;
  overrides?: readonly HardStopOverride[];
}

export type EligibilityDecision = 'eligible' | 'needs-review' | 'incomplete' | 'ineligible';

const article = (r: string) => (/^[aeiou]/.test(r) ? `an ${r}` : `a ${r}`);

/** `overrideRoles`: the roles allowed to override a hard stop (the protocol's `safety.hardStopOverrideRoles`). */
export function checkEligibility(record: ScreeningRecord, opts: { overrideRoles?: readonly Role[] } = {}): Decision<EligibilityDecision> {
  const overrideRoles = opts.overrideRoles?.length ? opts.overrideRoles : DEFAULT_OVERRIDE_ROLES;
  const reasons: Reason[] = [];
  const present = new Set<HardStop>();
  const missing: HardStop[] = [];
  const notAssessed = new Map<HardStop, string>();
  for (const stop of Object.keys(HARD_STOPS) as HardStop[]) {
    const a = readAnswer(record.hardStops?.[stop]);
    if (a.kind === 'present') present.add(stop);
    else if (a.kind === 'not-assessed') notAssessed.set(stop, a.reason);
    else if (a.kind === 'unanswered') missing.push(stop);
  }
  if (record.cssrsRisk === 'high') present.add('suicidal-ideation-with-intent');

  // Overrides: only the protocol's override roles, only with a reason, only for a hard stop actually present.
  const overridden = new Map<HardStop, HardStopOverride>();
  for (const o of record.overrides ?? []) {
    if (!present.has(o.hardStop)) continue;
    if (!o.byUserId || o.byUserId.startsWith('token:')) {
      // An override is a clinical judgement by a person: a token bound to no staff member names nobody.
      reasons.push(note('override-rejected', `Override of "${HARD_STOPS[o.hardStop]}" rejected: an override of a hard stop is a clinical judgement by a person; this API token belongs to no staff member (sign in, or use a token bound to a staff member in the role)`));
    } else if (!overrideRoles.includes(o.byRole)) {
      reasons.push(note('override-rejected', `Override of "${HARD_STOPS[o.hardStop]}" rejected: only ${overrideRoles.map(article).join(' or ')} may override a hard stop (was ${o.byRole})`));
    } else if (typeof o.reason !== 'string' || o.reason.trim() === '') {
      reasons.push(note('override-rejected', `Override of "${HARD_STOPS[o.hardStop]}" rejected: a reason must be recorded`));
    } else overridden.set(o.hardStop, o);
  }
  for (const stop of present) {
    const o = overridden.get(stop);
    const why = stop === 'suicidal-ideation-with-intent' && record.cssrsRisk === 'high' && readAnswer(record.hardStops?.[stop]).kind !== 'present' ? ' (C-SSRS high risk)' : '';
    if (o) reasons.push(note(`hard-stop-overridden:${stop}`, `${HARD_STOPS[stop]}${why}: overridden by ${o.byRole}${o.byUserId ? ` ${o.byUserId}` : ''}: ${o.reason.trim()}`));
    else reasons.push(block(`hard-stop:${stop}`, `${HARD_STOPS[stop]}${why}`));
  }
  for (const stop of missing) if (!present.has(stop)) reasons.push(block(`not-assessed:${stop}`, `Not answered: ${HARD_STOPS[stop]}`));
  for (const [stop, why] of notAssessed) if (!present.has(stop)) reasons.push(block(`not-assessed:${stop}`, `Not assessed: ${HARD_STOPS[stop]} (${why})`));

  for (const item of Object.keys(REVIEW_ITEMS) as ReviewItem[]) {
    const a = readAnswer(record.reviewItems?.[item]);
    if (a.kind === 'present') reasons.push(block(`review:${item}`, REVIEW_ITEMS[item]));
    else if (a.kind === 'not-assessed') reasons.push(block(`review:not-assessed:${item}`, `Not assessed: ${REVIEW_ITEMS[item]} (${a.reason}): prescriber to review`));
    else if (a.kind === 'unanswered') reasons.push(block(`not-assessed:review:${item}`, `Not answered: ${REVIEW_ITEMS[item]}`));
  }
  if (record.phq9Item9 !== undefined && record.phq9Item9 > 0) reasons.push(block('review:phq9-item9', `PHQ-9 item 9 = ${record.phq9Item9}: suicide-risk assessment before clearance`));
  if (record.cssrsRisk === 'moderate') reasons.push(block('review:cssrs-moderate', 'C-SSRS moderate risk'));

  for (const med of record.medications ?? []) {
    if (med.class === 'other') continue;
    const label = `${INTERACTING_MEDICATION_CLASSES[med.class]}: ${med.name}`;
    if (med.class === 'benzodiazepine') {
      const mg = med.diazepamEquivalentMgPerDay;
      if (mg === undefined) reasons.push(block('interaction:benzodiazepine-dose-unknown', `${label}: record the daily diazepam-equivalent dose`));
      else if (mg > BENZODIAZEPINE_MAX_DIAZEPAM_EQUIVALENT_MG) {
        reasons.push(block('interaction:benzodiazepine-high-dose', `${label}: ${mg} mg/day diazepam-equivalent is above ${BENZODIAZEPINE_MAX_DIAZEPAM_EQUIVALENT_MG} mg (predicts non-response)`));
      } else reasons.push(note('interaction:benzodiazepine', `${label}: ${mg} mg/day diazepam-equivalent; pause before each dose`));
    } else {
      reasons.push(block(`interaction:${med.class}`, label));
    }
  }

  const has = (prefix: string) => reasons.some((r) => r.blocking && r.code.startsWith(prefix));
  const decision: EligibilityDecision =
    has('hard-stop:')
      ? 'ineligible'
      : has('not-assessed:')
        ? 'incomplete'
        : has('review:') || has('interaction:')
          ? 'needs-review'
          : 'eligible';
  return { decision, reasons };
}
