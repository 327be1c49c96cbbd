// Looking protocols up by (id, version). A course pins the exact version it started with and keeps a
// snapshot, so editing or adding a protocol never changes a running course.
import { assertProtocol, type Protocol } from './protocol';
import { SHIPPED_PROTOCOLS } from './protocols';

export interface ProtocolRegistry {
  /** The given version, or the latest version when `version` is omitted; undefined if unknown. */
  get(id: string, version?: number): Protocol | undefined;
  /** Every registered version, sorted by id then version. */
  list(): readonly Protocol[];
}

/** What a course stores: the protocol it follows, by id and version, plus the full snapshot. */
export interface ProtocolPin {
  protocolId: string;
  protocolVersion: number;
  snapshot: Protocol;
}

/**
 * Build a registry from protocol data (e.g. shipped protocols plus a clinic's own, loaded by the
 * caller). Throws if any protocol is invalid or an (id, version) pair appears twice.
 */
export function createProtocolRegistry(inputs: readonly unknown[]): ProtocolRegistry {
  const byKey = new Map<string, Protocol>();
  for (const input of inputs) {
    const protocol = deepFreeze(assertProtocol(input));
    const key = `${protocol.id}@${protocol.version}`;
    if (byKey.has(key)) throw new Error(`protocol ${key} is registered twice`);
    byKey.set(key, protocol);
  }
  const all = [...byKey.values()].sort((a, b) => (a.id === b.id ? a.version - b.version : a.id < b.id ? -1 : 1));
  return {
    get(id, version) {
      if (version !== undefined) return byKey.get(`${id}@${version}`);
      const versions = all.filter((p) => p.id === id);
      return versions[versions.length - 1];
    },
    list: () => all,
  };
}

// Built on first use rather than at import, so importing the domain stays cheap in workflow bundles.
let shipped: ProtocolRegistry | undefined;
function shippedRegistry(): ProtocolRegistry {
  shipped ??= createProtocolRegistry(SHIPPED_PROTOCOLS);
  return shipped;
}

/** A shipped protocol: the given version, or the latest. */
export function getProtocol(id: string, version?: number): Protocol | undefined {
  return shippedRegistry().get(id, version);
}

/** Every shipped protocol version. */
export function listProtocols(): readonly Protocol[] {
  return shippedRegistry().list();
}

/** Pin a course to this exact protocol version, with a detached copy as its snapshot. */
export function pinProtocol(protocol: Protocol): ProtocolPin {
  return { protocolId: protocol.id, protocolVersion: protocol.version, snapshot: JSON.parse(JSON.stringify(protocol)) as Protocol };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
