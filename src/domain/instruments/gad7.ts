// GAD-7 (Spitzer et al. 2006). Public domain, same terms as the PHQ-9. Item texts verbatim.
import { FREQUENCY_OPTIONS } from './phq9';
import { bandFor, type Band, type Instrument, type ScoreResult } from './types';
import { sum, validateIntegerAnswers } from './validate';

export const GAD7_BANDS: readonly Band[] = [
  { id: 'minimal', label: 'Minimal', min: 0, max: 4 },
  { id: 'mild', label: 'Mild', min: 5, max: 9 },
  { id: 'moderate', label: 'Moderate', min: 10, max: 14 },
  { id: 'severe', label: 'Severe', min: 15, max: 21 },
];

export interface Gad7Result extends ScoreResult {
  instrumentId: 'gad7';
}

export const gad7: Instrument<Gad7Result> = {
  id: 'gad7',
  name: 'Generalized Anxiety Disorder-7',
  shortName: 'GAD-7',
  prompt: 'Over the last 2 weeks, how often have you been bothered by the following problems?',
  answerKind: 'integer',
  itemTextSource: 'verbatim-public-domain',
  items: [
    { number: 1, loincCode: '69725-0', text: 'Feeling nervous, anxious, or on edge' },
    { number: 2, loincCode: '68509-9', text: 'Not being able to stop or control worrying' },
    { number: 3, loincCode: '69733-4', text: 'Worrying too much about different things' },
    { number: 4, loincCode: '69734-2', text: 'Trouble relaxing' },
    { number: 5, loincCode: '69735-9', text: 'Being so restless that it is hard to sit still' },
    { number: 6, loincCode: '69689-8', text: 'Becoming easily annoyed or irritable' },
    { number: 7, loincCode: '69736-7', text: 'Feeling afraid, as if something awful might happen' },
  ],
  options: FREQUENCY_OPTIONS,
  minTotal: 0,
  maxTotal: 21,
  bands: GAD7_BANDS,
  loinc: { panel: '69737-5', total: '70274-6' },
  score(answers) {
    const total = sum(validateIntegerAnswers('gad7', answers, 7, 0, 3, 'GAD-7'));
    const band = bandFor(GAD7_BANDS, total);
    return { instrumentId: 'gad7', total, maxTotal: 21, band: band.id, bandLabel: band.label, flags: [], criticalItems: [], critical: false };
  },
};
