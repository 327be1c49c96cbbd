// Child processes of the chaos runner: each in a process group of its own (so that a kill reaches
// everything it started, e.g. tsx's node), output appended to a log file in the run's temp folder,
// and every group still alive killed when the runner exits, however it exits.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Kills every child group still alive (SIGKILL): the last line of defence on exit. */
export function killAllChildren(): void {
  for (const c of live) killGroup(c, 'SIGKILL');
  live.clear();
}
process.once('exit', killAllChildren);

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGKILL to the whole group; resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM to the group, SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Resolves start() when a line of output matches; otherwise start() resolves at once. */
  readyWhen?: RegExp;
  readyTimeoutMs?: number;
}

export async function startChild(opts: SpawnOptions): Promise<Child> {
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  log.write(`\n--- ${new Date().toISOString()} start ${opts.name}\n`);
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      log.write(`--- ${new Date().toISOString()} exit ${opts.name} code=${code} signal=${signal}\n`);
      log.end();
      resolve({ code, signal });
    }),
  );
  let ready: Promise<void> = Promise.resolve();
  if (opts.readyWhen) {
    const re = opts.readyWhen;
    ready = new Promise<void>((resolve, reject) => {
      let buf = '';
      const onData = (d: Buffer) => {
        buf = (buf + d.toString()).slice(-8192);
        if (re.test(buf)) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      const timer = setTimeout(() => reject(new Error(`${opts.name}: not ready within ${opts.readyTimeoutMs ?? 60_000} ms (see ${opts.logFile})`)), opts.readyTimeoutMs ?? 60_000);
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${opts.name} exited during start-up (code ${code}, signal ${signal}; see ${opts.logFile})`));
      });
    });
  }
  child.stdout!.on('data', (d: Buffer) => log.write(d));
  child.stderr!.on('data', (d: Buffer) => log.write(d));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle: Child = {
    name: opts.name,
    process: child,
    exited,
    alive,
    async kill() {
      killGroup(child, 'SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!alive()) return;
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await ready;
  } catch (err) {
    await handle.kill();
    throw err;
  }
  return handle;
}
