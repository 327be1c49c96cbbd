// QIDS-SR16 (Rush et al. 2003). Item texts and anchors are short paraphrases. Scoring (standard):
// sleep = max(items 1-4); appetite/weight = max(items 6-9); psychomotor = max(items 15-16);
// plus items 5, 10, 11, 12, 13, 14 => total 0-27.
import { bandFor, type AnswerOption, type Band, type Instrument, type ScoreFlag, type ScoreResult } from './types';
import { validateIntegerAnswers } from './validate';

export const QIDS_BANDS: readonly Band[] = [
  { id: 'none', label: 'None', min: 0, max: 5 },
  { id: 'mild', label: 'Mild', min: 6, max: 10 },
  { id: 'moderate', label: 'Moderate', min: 11, max: 15 },
  { id: 'severe', label: 'Severe', min: 16, max: 20 },
  { id: 'very-severe', label: 'Very severe', min: 21, max: 27 },
];

export interface QidsResult extends ScoreResult {
  instrumentId: 'qids-sr16';
  /** The nine DSM-IV symptom domains that make up the total. */
  domains: {
    sleep: number;
    sadMood: number;
    appetiteWeight: number;
    concentration: number;
    selfView: number;
    suicidalIdeation: number;
    interest: number;
    energy: number;
    psychomotor: number;
  };
}

const opts = (...labels: [string, string, string, string]): AnswerOption[] => labels.map((label, value) => ({ value, label }));

const ITEMS: Array<[string, AnswerOption[]]> = [
  ['Falling asleep', opts('Never takes longer than 30 minutes', 'Under half the time takes 30+ minutes', 'Over half the time takes 30+ minutes', 'Over half the time takes 60+ minutes')],
  ['Sleep during the night', opts('Do not wake up at night', 'Restless, light sleep, wake briefly', 'Wake at least once a night, fall back asleep easily', 'Wake more than once a night, stay awake 20+ minutes')],
  ['Waking up too early', opts('Mostly not', 'Under half the time wake 30+ minutes early', 'Almost always wake 1 hour+ early, fall back asleep eventually', 'Wake 1 hour+ early and cannot get back to sleep')],
  ['Sleeping too much', opts('No more than 7-8 hours a night, no naps', 'No more than 10 hours in 24 including naps', 'No more than 12 hours in 24 including naps', 'More than 12 hours in 24 including naps')],
  ['Feeling sad', opts('Do not feel sad', 'Sad less than half the time', 'Sad more than half the time', 'Sad nearly all the time')],
  ['Decreased appetite', opts('No change', 'Eat somewhat less often or smaller amounts', 'Eat much less, only with effort', 'Rarely eat in 24 hours, only with great effort')],
  ['Increased appetite', opts('No change', 'Feel a need to eat more often', 'Regularly eat more often or larger amounts', 'Driven to overeat at and between meals')],
  ['Decreased weight (last two weeks)', opts('No change', 'Feel as if slight weight loss', 'Lost 1 kg / 2 lb or more', 'Lost 2 kg / 5 lb or more')],
  ['Increased weight (last two weeks)', opts('No change', 'Feel as if slight weight gain', 'Gained 1 kg / 2 lb or more', 'Gained 2 kg / 5 lb or more')],
  ['Concentration and decision-making', opts('No change', 'Occasionally indecisive or attention wanders', 'Most of the time struggle to focus or decide', 'Cannot concentrate well enough to read or make even minor decisions')],
  ['View of myself', opts('See myself as equally worthwhile as others', 'More self-blaming than usual', 'Largely believe I cause problems for others', 'Think almost constantly about major and minor defects in myself')],
  ['Thoughts of death or suicide', opts('Do not think of suicide or death', 'Feel life is empty or wonder if it is worth living', 'Think of suicide or death several times a week for several minutes', 'Think of suicide or death several times a day in detail, or have made plans or attempted')],
  ['General interest', opts('No change from usual interest in people and activities', 'Less interested in people or activities', 'Interested in only one or two activities', 'Virtually no interest in formerly pursued activities')],
  ['Energy level', opts('No change', 'Get tired more easily than usual', 'Have to make a big effort to start or finish usual activities', 'Cannot carry out most usual daily activities for lack of energy')],
  ['Feeling slowed down', opts('Think, speak and move at usual rate', 'Thinking slowed down or voice dull', 'Takes several seconds to respond to most questions', 'Often unable to respond to questions without extreme effort')],
  ['Feeling restless', opts('Do not feel restless', 'Often fidgety, wringing hands, shifting in seat', 'Have impulses to move about and am quite restless', 'At times unable to stay seated, need to pace')],
];

export const qidsSr16: Instrument<QidsResult> = {
  id: 'qids-sr16',
  name: 'Quick Inventory of Depressive Symptomatology (Self-Report, 16 items)',
  shortName: 'QIDS-SR16',
  prompt: 'Choose the one answer for each item that best describes you over the past seven days.',
  answerKind: 'integer',
  itemTextSource: 'paraphrase',
  items: ITEMS.map(([text, options], i) => ({ number: i + 1, text, options })),
  options: opts('0', '1', '2', '3'),
  minTotal: 0,
  maxTotal: 27,
  bands: QIDS_BANDS,
  score(answers) {
    const a = validateIntegerAnswers('qids-sr16', answers, 16, 0, 3, 'QIDS-SR16');
    const item = (n: number) => a[n - 1]!;
    const domains: QidsResult['domains'] = {
      sleep: Math.max(item(1), item(2), item(3), item(4)),
      sadMood: item(5),
      appetiteWeight: Math.max(item(6), item(7), item(8), item(9)),
      concentration: item(10),
      selfView: item(11),
      suicidalIdeation: item(12),
      interest: item(13),
      energy: item(14),
      psychomotor: Math.max(item(15), item(16)),
    };
    const total = Object.values(domains).reduce((x, y) => x + y, 0);
    const band = bandFor(QIDS_BANDS, total);
    const flags: ScoreFlag[] = [];
    if (item(12) >= 2) {
      flags.push({ code: 'qids-item12-suicidal-thoughts', severity: 'critical', item: 12, message: 'Item 12: recurrent thoughts of suicide or death: complete a suicide-risk assessment (C-SSRS)' });
    } else if (item(12) === 1) {
      flags.push({ code: 'qids-item12-passive', severity: 'warning', item: 12, message: 'Item 12: feels life is empty or wonders if it is worth living: review at the visit' });
    }
    const critical = item(12) >= 2;
    return { instrumentId: 'qids-sr16', total, maxTotal: 27, band: band.id, bandLabel: band.label, flags, criticalItems: critical ? [12] : [], critical, domains };
  },
};
