import { ivSeriesV1 } from './iv-series';
import { kapOfficeV1 } from './kap-office';
import { spravatoRemsV1 } from './spravato-rems';
import type { ProtocolInput } from '../protocol';

export { ivSeriesV1, kapOfficeV1, spravatoRemsV1 };

/** Every protocol version shipped with the engine, as plain data. Add new versions; never edit old ones. */
export const SHIPPED_PROTOCOLS: readonly ProtocolInput[] = [kapOfficeV1, ivSeriesV1, spravatoRemsV1];
