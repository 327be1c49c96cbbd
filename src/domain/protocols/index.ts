import { ivSeriesV1 } from './iv-series';
import { kapOfficeV1 } from './kap-office';
import { spravatoRemsV1 } from './spravato-rems';
import type { Protocol, ProtocolInput } from '../protocol';

export { ivSeriesV1, kapOfficeV1, spravatoRemsV1 };

/** Every protocol version shipped with the engine, as plain data. Add new versions; never edit old ones. */
export const SHIPPED_PROTOCOLS: readonly ProtocolInput[] = [kapOfficeV1, ivSeriesV1, spravatoRemsV1];

/**
 * A shipped protocol by id (and version; latest when omitted), with the schema's defaults applied but
 * without running the zod schema: for workflow code, where every cached workflow would otherwise
 * evaluate zod and the schemas. A unit test checks that it equals the registry's parsed protocol.
 */
export function findShippedProtocol(id: string, version?: number): Protocol | undefined {
  const matches = SHIPPED_PROTOCOLS.filter((p) => p.id === id && (version === undefined || p.version === version));
  const raw = matches.sort((a, b) => b.version - a.version)[0];
  if (!raw) return undefined;
  const copy = JSON.parse(JSON.stringify(raw)) as ProtocolInput;
  return {
    ...copy,
    safety: { ...copy.safety, hardStopOverrideRoles: copy.safety.hardStopOverrideRoles ?? ['prescriber'] },
    phases: copy.phases.map((phase) => ({
      ...phase,
      repeat: phase.repeat ?? 'once',
      steps: phase.steps.map((step) => ({ ...step, waitsOn: step.waitsOn ?? 'person' })),
    })),
  } as Protocol;
}
