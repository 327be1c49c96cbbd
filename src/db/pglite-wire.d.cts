/** What the wire server uses of a PGlite instance. */
export interface PgliteSession {
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  execProtocolRawStream(message: Uint8Array, opts: { onRawData: (data: Uint8Array) => void }): Promise<void>;
  isInTransaction(): boolean;
  exec(sql: string): Promise<unknown>;
}

export interface PgliteWireServer {
  /** Listens; resolves with the bound port (rejects with the listen error, e.g. EADDRINUSE). */
  start(): Promise<number>;
  /** Clients being served now (at most `maxConnections`; one more waits, then is refused with SQLSTATE 53300). */
  connections(): number;
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
}

export function servePglite(
  db: PgliteSession,
  opts: {
    port: number;
    host?: string;
    /** Clients served at once (1: PGlite is one session). */
    maxConnections?: number;
    /** How long a client that arrives while every place is taken waits for one before it is refused (5 s). */
    admitWithinMs?: number;
  },
): PgliteWireServer;
