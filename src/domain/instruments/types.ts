import type { InstrumentId } from './instrument-id';

export interface AnswerOption {
  value: number;
  label: string;
  /** LOINC answer code (LA...), where one exists. */
  loincCode?: string;
}

export interface InstrumentItem {
  /** 1-based, as printed on the form. */
  number: number;
  text: string;
  /** LOINC code of the item, where one exists. */
  loincCode?: string;
  /** Options for this item when they differ from the instrument's default options. */
  options?: readonly AnswerOption[];
}

/** A severity band, inclusive at both ends. */
export interface Band {
  id: string;
  label: string;
  min: number;
  max: number;
}

export interface ScoreFlag {
  code: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  item?: number;
}

export interface ScoreResult {
  instrumentId: InstrumentId;
  total: number;
  maxTotal: number;
  band: string;
  bandLabel: string;
  flags: ScoreFlag[];
  /** Items whose answers need a clinician now (e.g. PHQ-9 item 9 > 0). */
  criticalItems: number[];
  /** True when any flag is critical: raise a clinician alert. */
  critical: boolean;
}

export interface Instrument<R extends ScoreResult = ScoreResult> {
  id: InstrumentId;
  name: string;
  shortName: string;
  /** The stem shown above the items. */
  prompt: string;
  answerKind: 'integer' | 'yes-no';
  items: readonly InstrumentItem[];
  options: readonly AnswerOption[];
  minTotal: number;
  maxTotal: number;
  bands: readonly Band[];
  loinc?: { panel?: string; total?: string };
  /** How the item texts were sourced. */
  itemTextSource: 'verbatim-public-domain' | 'paraphrase';
  /** Score answers in item order. Throws InvalidAnswersError naming every bad item. */
  score(answers: readonly unknown[]): R;
}

/** One bad answer: `item` is the 1-based item number (or label such as "6b"), null for the whole list. */
export interface AnswerProblem {
  item: number | string | null;
  reason: string;
}

/** Thrown by `score` when answers are invalid; `problems` names each bad item. */
export class InvalidAnswersError extends Error {
  readonly code = 'INVALID_ANSWERS';
  constructor(
    readonly instrumentId: InstrumentId,
    readonly problems: readonly AnswerProblem[],
  ) {
    super(`invalid ${instrumentId} answers: ${problems.map((p) => (p.item === null ? p.reason : `item ${p.item}: ${p.reason}`)).join('; ')}`);
    this.name = 'InvalidAnswersError';
  }
}

export function bandFor(bands: readonly Band[], total: number): Band {
  const band = bands.find((b) => total >= b.min && total <= b.max);
  if (!band) throw new RangeError(`no band for total ${total}`);
  return band;
}
