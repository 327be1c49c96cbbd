// Child processes of the chaos runner: each in a process group of its own (so that a kill reaches
// everything it started, e.g. tsx's node), output appended to a log file in the run's temp folder,
// and every group still alive killed when the runner exits, however it exits.
//
// A PostgreSQL postmaster puts each process it forks (backends, checkpointer, WAL writer) in a session
// of its own (setsid), out of reach of a signal to its group; for such a child (`treeKill`) a SIGKILL
// first stops the leader (SIGSTOP: it can fork nothing more), then kills every descendant and the
// group in one go, so that no process of the tree outlives the others.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';

const live = new Set<ChildProcess>();
const treeKill = new WeakSet<ChildProcess>();

/** Every live descendant of `pid`, from /proc (empty where there is no /proc). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(e), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [c, pp] of parentOf) {
      if (pp === p) {
        out.push(c);
        queue.push(c);
      }
    }
  }
  return out;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (signal === 'SIGKILL' && treeKill.has(child)) {
    try {
      process.kill(child.pid, 'SIGSTOP');
    } catch {
      // already gone
    }
    for (const pid of descendants(child.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
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
  /** `signal` (SIGTERM by default) to the group, SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** The child moves its own children out of its group (PostgreSQL): a SIGKILL reaches every descendant. */
  treeKill?: boolean;
  logFile: string;
  /** Resolves start() when a line of output matches; otherwise start() resolves at once. */
  readyWhen?: RegExp;
  readyTimeoutMs?: number;
}

export async function startChild(opts: SpawnOptions): Promise<Child> {
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  log.write(`\n--- ${new Date().toISOString()} start ${opts.name}\n`);
  const child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, uid: opts.uid, gid: opts.gid });
  live.add(child);
  if (opts.treeKill) treeKill.add(child);
  // An orphan of a killed process (a PostgreSQL backend) may still write to the inherited pipe after the exit.
  const append = (d: Buffer | string) => {
    if (!log.writableEnded) log.write(d);
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      append(`--- ${new Date().toISOString()} exit ${opts.name} code=${code} signal=${signal}\n`);
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
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
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
    async stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM') {
      if (!alive()) return;
      killGroup(child, signal);
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

/** What an engine process needs to run as in production, against a Temporal server this run started on loopback. */
export interface EngineEnvInput {
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  payloadKeys: string;
  secretKey: string;
  publicUrl: string;
}

/**
 * The environment of a worker or API child in the chaos harness and `npm run cluster`: production
 * settings, nothing inherited but PATH and HOME. `extra` adds or overrides (DATA_DIR, PORT...).
 */
export function engineEnv(e: EngineEnvInput, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: e.temporalAddress,
    // A server on loopback that this run started: this machine's users are its operators.
    TEMPORAL_ALLOW_UNAUTHENTICATED: 'true',
    DATABASE_URL: e.databaseUrl,
    SMTP_URL: e.smtpUrl,
    PAYLOAD_KEYS: e.payloadKeys,
    SECRET_KEY: e.secretKey,
    PUBLIC_URL: e.publicUrl,
    TEMPORAL_METRICS_BIND: 'off',
    ...extra,
  };
}
