// The ladder's SMTP sink in a process of its own. It stands for a clinic's mail relay, which is never
// on the engine's event loop: with the sink in the ladder's process its SMTP sessions (every course's
// screening invitation) ran on the engine's main thread and counted in the engine's CPU. `npm start`
// keeps its development sink in process; the bench measures the engine, so the relay's work is
// reported beside the engine's (`smtpSink` in a sample's CPU-seconds), not in it.
//
// Run as a module: the parent (SinkProcess.start) forks this file; the child starts chaos/sink.ts on the
// port given and answers the parent's requests for what it has accepted since an index.
import { type ChildProcess, fork } from 'node:child_process';
import { ChaosSmtpSink, type Received } from '../chaos/sink';

type Request = { id: number; from: number };
type Reply = { id: number; rows: Received[] } | { ready: string } | { failed: string };

export class SinkProcess {
  private readonly rows: Received[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (rows: Received[]) => void; reject: (err: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m: Reply) => {
      if ('id' in m) {
        this.waiting.get(m.id)?.resolve(m.rows);
        this.waiting.delete(m.id);
      }
    });
    // A sink that died answers nothing more: whoever waits on it hears so instead of waiting forever.
    child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`bench: the SMTP sink process exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** The sink's process id (its CPU-seconds: bench/cpu.ts treeCpuSeconds). */
  get pid(): number {
    return this.child.pid!;
  }

  static async start(port: number): Promise<SinkProcess> {
    // The parent's flags (tsx's loader) so the child runs this TypeScript file as the bench does.
    const child = fork(__filename, [String(port)], { execArgv: process.execArgv.filter((a) => a !== '--expose-gc'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench: the SMTP sink process exited (${code}) before it listened`));
      child.once('exit', onExit);
      child.once('message', (m: Reply) => {
        child.off('exit', onExit);
        if ('ready' in m) resolve(m.ready);
        else reject(new Error(`bench: the SMTP sink process failed: ${'failed' in m ? m.failed : JSON.stringify(m)}`));
      });
    });
    return new SinkProcess(child, url);
  }

  private reading: Promise<readonly Received[]> | null = null;

  /** Every message the sink accepted so far (Message-ID, when, size), in order (one read at a time: calls meanwhile share it). */
  received(): Promise<readonly Received[]> {
    this.reading ??= this.readMore().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async readMore(): Promise<readonly Received[]> {
    const id = this.nextId++;
    const more = await new Promise<Received[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, from: this.rows.length } satisfies Request, (err) => {
        if (err) {
          this.waiting.delete(id);
          reject(err);
        }
      });
    });
    this.rows.push(...more);
    return this.rows;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }
}

if (require.main === module) {
  const sink = new ChaosSmtpSink(Number(process.argv[2]));
  sink.start().then(
    () => process.send!({ ready: sink.url } satisfies Reply),
    (err: unknown) => {
      process.send!({ failed: String(err) } satisfies Reply);
      process.exit(1);
    },
  );
  process.on('message', (m: Request) => process.send!({ id: m.id, rows: sink.received.slice(m.from) } satisfies Reply));
  process.on('SIGTERM', () => void sink.stop().then(() => process.exit(0)));
  process.on('disconnect', () => void sink.stop().then(() => process.exit(0)));
}
