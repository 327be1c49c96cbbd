// Questionnaires for the engine's instruments (PHQ-9, GAD-7, PCL-5, C-SSRS screener, QIDS-SR16),
// built from the domain's instrument definitions, and QuestionnaireResponses for answered ones.
// LOINC codes where LOINC has them (PHQ-9 panel 44249-1 and items, GAD-7 panel 69737-5 and items,
// answer codes LA6568-5..LA6571-9); a local code system otherwise, with the ordinal value of each
// answer carried in the standard `ordinalValue` extension so a receiver can re-score.
import type { Coding, Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem, Reference } from '@medplum/fhirtypes';
import { getInstrument } from '../domain/instruments/registry';
import type { AnswerOption, Instrument, InstrumentItem } from '../domain/instruments/types';
import { CSSRS_LOINC, PCL5_LOINC } from './codes';
import { fhirId } from './ids';
import type { FhirAssessment } from './model';

export const LOINC = 'http://loinc.org';
const ORDINAL_VALUE = 'http://hl7.org/fhir/StructureDefinition/ordinalValue';
/** Version of our Questionnaire definitions; bump when items or options change. */
export const QUESTIONNAIRE_VERSION = '1';

export function questionnaireUrl(base: string, instrumentId: string): string {
  return `${base}/Questionnaire/${instrumentId}`;
}

function answerCoding(base: string, instrument: Instrument, opt: AnswerOption): Coding {
  return opt.loincCode
    ? { system: LOINC, code: opt.loincCode, display: opt.label }
    : { system: `${base}/CodeSystem/${instrument.id}-answers`, code: String(opt.value), display: opt.label };
}

function optionsOf(instrument: Instrument, item: InstrumentItem): readonly AnswerOption[] {
  return item.options ?? instrument.options;
}

/** C-SSRS: items 3-5 are asked only if item 2 is yes; 6b only if 6 is yes. */
function cssrsItems(instrument: Instrument): QuestionnaireItem[] {
  const items: QuestionnaireItem[] = instrument.items.map((it) => ({
    linkId: String(it.number),
    prefix: `${it.number}.`,
    ...(CSSRS_LOINC.items[String(it.number)] ? { code: [{ system: LOINC, code: CSSRS_LOINC.items[String(it.number)]! }] } : {}),
    text: it.text,
    type: 'boolean',
    required: it.number <= 2 || it.number === 6,
    ...(it.number >= 3 && it.number <= 5 ? { enableWhen: [{ question: '2', operator: '=', answerBoolean: true }] } : {}),
  }));
  items.push({ linkId: '6b', prefix: '6b.', code: [{ system: LOINC, code: CSSRS_LOINC.items['6b']! }], text: 'If yes to 6: was this within the past 3 months?', type: 'boolean', enableWhen: [{ question: '6', operator: '=', answerBoolean: true }] });
  return items;
}

/** The instrument's LOINC panel: its own definition's, else the one verified here (codes.ts). */
export function panelCode(instrument: Instrument): string | undefined {
  return instrument.loinc?.panel ?? (instrument.id === 'pcl5' ? PCL5_LOINC.panel : undefined);
}

/** The instrument's LOINC total-score code, likewise. */
export function totalCode(instrument: Instrument): string | undefined {
  return instrument.loinc?.total ?? (instrument.id === 'pcl5' ? PCL5_LOINC.total : undefined);
}

export function buildQuestionnaire(base: string, instrumentId: string): Questionnaire | null {
  const instrument = getInstrument(instrumentId);
  if (!instrument) return null;
  const items: QuestionnaireItem[] =
    instrument.answerKind === 'yes-no'
      ? cssrsItems(instrument)
      : instrument.items.map((it) => ({
          linkId: String(it.number),
          prefix: `${it.number}.`,
          ...(it.loincCode ? { code: [{ system: LOINC, code: it.loincCode }] } : {}),
          text: it.text,
          type: 'choice',
          required: true,
          answerOption: optionsOf(instrument, it).map((opt) => ({
            valueCoding: { ...answerCoding(base, instrument, opt), extension: [{ url: ORDINAL_VALUE, valueDecimal: opt.value }] },
          })),
        }));
  return {
    resourceType: 'Questionnaire',
    id: fhirId('Questionnaire', instrumentId),
    url: questionnaireUrl(base, instrumentId),
    version: QUESTIONNAIRE_VERSION,
    name: instrument.shortName.replace(/[^A-Za-z0-9]/g, ''),
    title: instrument.name,
    status: 'active',
    subjectType: ['Patient'],
    ...(panelCode(instrument) ? { code: [{ system: LOINC, code: panelCode(instrument)!, display: instrument.name }] } : {}),
    description: instrument.prompt,
    ...(instrument.itemTextSource === 'paraphrase' ? { copyright: 'Item texts are short paraphrases of the published instrument.' } : {}),
    item: items,
  };
}

/** The response to one completed assessment; null for one that was not answered. */
export function buildQuestionnaireResponse(base: string, a: FhirAssessment, subject: Reference<any>, authorRef: Reference<any>): QuestionnaireResponse | null {
  const instrument = getInstrument(a.instrumentId);
  if (!instrument || a.status !== 'completed') return null;
  const items: QuestionnaireResponseItem[] = [];
  const labels = instrument.answerKind === 'yes-no' ? [...instrument.items.map((i) => String(i.number)), '6b'] : instrument.items.map((i) => String(i.number));
  for (const linkId of labels) {
    const v = a.answers[linkId];
    if (v === null || v === undefined) continue; // skipped by the form's rules: no answer, not "no"
    const it = instrument.items.find((i) => String(i.number) === linkId);
    const text = it?.text ?? (linkId === '6b' ? 'If yes to 6: was this within the past 3 months?' : undefined);
    if (instrument.answerKind === 'yes-no') {
      items.push({ linkId, ...(text ? { text } : {}), answer: [{ valueBoolean: v === true }] });
      continue;
    }
    const opt = it ? optionsOf(instrument, it).find((o) => o.value === Number(v)) : undefined;
    if (!opt) continue;
    items.push({ linkId, ...(text ? { text } : {}), answer: [{ valueCoding: answerCoding(base, instrument, opt) }] });
  }
  return {
    resourceType: 'QuestionnaireResponse',
    id: fhirId('QuestionnaireResponse', a.id),
    identifier: { system: `${base}/assessment-id`, value: a.id },
    questionnaire: `${questionnaireUrl(base, instrument.id)}|${QUESTIONNAIRE_VERSION}`,
    status: 'completed',
    subject,
    ...(a.completedAt ? { authored: a.completedAt } : {}),
    // The client filled it in (through a signed link): the client is the author and the source.
    author: authorRef,
    source: authorRef,
    item: items,
  };
}
