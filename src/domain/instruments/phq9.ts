// PHQ-9 (Kroenke, Spitzer, Williams 2001). Public domain: "No permission required to reproduce,
// translate, display or distribute." Item texts verbatim.
import { bandFor, type AnswerOption, type Band, type Instrument, type ScoreFlag, type ScoreResult } from './types';
import { sum, validateIntegerAnswers } from './validate';

/** The frequency scale shared by PHQ-9 and GAD-7, with LOINC answer codes. */
export const FREQUENCY_OPTIONS: readonly AnswerOption[] = [
  { value: 0, label: 'Not at all', loincCode: 'LA6568-5' },
  { value: 1, label: 'Several days', loincCode: 'LA6569-3' },
  { value: 2, label: 'More than half the days', loincCode: 'LA6570-1' },
  { value: 3, label: 'Nearly every day', loincCode: 'LA6571-9' },
];

export const PHQ9_BANDS: readonly Band[] = [
  { id: 'minimal', label: 'Minimal', min: 0, max: 4 },
  { id: 'mild', label: 'Mild', min: 5, max: 9 },
  { id: 'moderate', label: 'Moderate', min: 10, max: 14 },
  { id: 'moderately-severe', label: 'Moderately severe', min: 15, max: 19 },
  { id: 'severe', label: 'Severe', min: 20, max: 27 },
];

export interface Phq9Result extends ScoreResult {
  instrumentId: 'phq9';
  /** Item 9 (thoughts of being better off dead or self-harm), 0-3. */
  item9: number;
}

export const phq9: Instrument<Phq9Result> = {
  id: 'phq9',
  name: 'Patient Health Questionnaire-9',
  shortName: 'PHQ-9',
  prompt: 'Over the last 2 weeks, how often have you been bothered by any of the following problems?',
  answerKind: 'integer',
  itemTextSource: 'verbatim-public-domain',
  items: [
    { number: 1, loincCode: '44250-9', text: 'Little interest or pleasure in doing things' },
    { number: 2, loincCode: '44255-8', text: 'Feeling down, depressed, or hopeless' },
    { number: 3, loincCode: '44259-0', text: 'Trouble falling or staying asleep, or sleeping too much' },
    { number: 4, loincCode: '44254-1', text: 'Feeling tired or having little energy' },
    { number: 5, loincCode: '44251-7', text: 'Poor appetite or overeating' },
    { number: 6, loincCode: '44258-2', text: 'Feeling bad about yourself - or that you are a failure or have let yourself or your family down' },
    { number: 7, loincCode: '44252-5', text: 'Trouble concentrating on things, such as reading the newspaper or watching television' },
    {
      number: 8,
      loincCode: '44253-3',
      text: 'Moving or speaking so slowly that other people could have noticed? Or the opposite - being so fidgety or restless that you have been moving around a lot more than usual',
    },
    { number: 9, loincCode: '44260-8', text: 'Thoughts that you would be better off dead or of hurting yourself in some way' },
  ],
  options: FREQUENCY_OPTIONS,
  minTotal: 0,
  maxTotal: 27,
  bands: PHQ9_BANDS,
  loinc: { panel: '44249-1', total: '44261-6' },
  score(answers) {
    const a = validateIntegerAnswers('phq9', answers, 9, 0, 3, 'PHQ-9');
    const total = sum(a);
    const band = bandFor(PHQ9_BANDS, total);
    const item9 = a[8]!;
    const flags: ScoreFlag[] = [];
    if (item9 > 0) {
      flags.push({
        code: 'phq9-item9-positive',
        severity: 'critical',
        item: 9,
        message: `Item 9 (thoughts of death or self-harm) answered "${FREQUENCY_OPTIONS[item9]!.label}": complete a suicide-risk assessment (C-SSRS) before the visit ends`,
      });
    }
    return {
      instrumentId: 'phq9',
      total,
      maxTotal: 27,
      band: band.id,
      bandLabel: band.label,
      flags,
      criticalItems: item9 > 0 ? [9] : [],
      critical: item9 > 0,
      item9,
    };
  },
};
