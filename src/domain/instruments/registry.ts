import { cssrs } from './cssrs';
import { gad7 } from './gad7';
import type { InstrumentId } from './instrument-id';
import { pcl5 } from './pcl5';
import { phq9 } from './phq9';
import { qidsSr16 } from './qids-sr16';
import type { Instrument } from './types';

const INSTRUMENTS: Record<InstrumentId, Instrument> = {
  phq9,
  gad7,
  pcl5,
  cssrs,
  'qids-sr16': qidsSr16,
};

/** The instrument with this id ('phq9', 'gad7', 'pcl5', 'cssrs', 'qids-sr16'), or undefined. */
export function getInstrument(id: string): Instrument | undefined {
  return Object.prototype.hasOwnProperty.call(INSTRUMENTS, id) ? INSTRUMENTS[id as InstrumentId] : undefined;
}

export function listInstruments(): Instrument[] {
  return Object.values(INSTRUMENTS);
}
