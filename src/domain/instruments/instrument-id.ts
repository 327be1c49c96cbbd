// No zod here: workflow code imports this module, and every cached workflow evaluates its imports.
/** Ids of the instruments the engine can score; protocols name instruments by these ids. */
export const INSTRUMENT_IDS = ['phq9', 'gad7', 'pcl5', 'cssrs', 'qids-sr16'] as const;
export type InstrumentId = (typeof INSTRUMENT_IDS)[number];

export function isInstrumentId(value: unknown): value is InstrumentId {
  return typeof value === 'string' && (INSTRUMENT_IDS as readonly string[]).includes(value);
}
