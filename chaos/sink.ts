// The chaos runner's own SMTP server: it records every message it accepts by Message-ID, and it can
// go down (port closed, open connections cut) and come back on the same loopback port. Nothing is
// stored anywhere but in this process's memory: the checks compare it with the outbox.
import type { Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  messageId: string | null;
  at: number;
  bytes: number;
}

export class ChaosSmtpSink {
  readonly received: Received[] = [];
  /** Connections cut while the server was going down (a message may have been mid-transfer). */
  cutConnections = 0;
  private server: SMTPServer | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {}

  get url(): string {
    return `smtp://${this.host}:${this.port}`;
  }

  get up(): boolean {
    return this.server !== null;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      name: 'kap-chaos-sink',
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      size: 10 * 1024 * 1024,
      onConnect: (session, callback) => callback(),
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (err) => callback(err));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          // Only the header block: the Message-ID is what the outbox row holds.
          const head = raw.subarray(0, Math.max(raw.indexOf('\r\n\r\n'), 0) || raw.length).toString('utf8').replace(/\r\n[ \t]+/g, ' ');
          const m = /^message-id:\s*(<[^>\r\n]+>)/im.exec(head);
          this.received.push({ messageId: m ? m[1]! : null, at: Date.now(), bytes: raw.length });
          callback(null, `Ok: queued as chaos-${this.received.length}` as never);
        });
      },
    });
    server.on('error', () => undefined);
    server.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** An outage: stop listening and cut every open connection at once. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
    for (const s of this.sockets) {
      this.cutConnections++;
      s.destroy();
    }
    this.sockets.clear();
    await closed;
  }

  /** How many times each Message-ID arrived. */
  counts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.received) if (r.messageId) m.set(r.messageId, (m.get(r.messageId) ?? 0) + 1);
    return m;
  }
}
