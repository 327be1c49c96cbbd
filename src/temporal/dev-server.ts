// The Temporal dev server (from the Temporal CLI) as a child process: the embedded default of
// `npm start` and the server the integration tests run against.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { COURSE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; omitted = headless. */
  uiPort?: number;
  /** SQLite file; omitted = in memory. */
  dbFile?: string;
  namespace?: string;
  /** Where the server's own log goes (a file); omitted = discarded. */
  logFile?: string;
  /** Codec endpoint for the Web UI to decode payloads. */
  uiCodecEndpoint?: string;
  /**
   * Where to record the server's pid (`npm start`: DATA_DIR/temporal-dev-server.pid). A server left
   * running by a previous process that was killed (SIGKILL, a crash) is found through it and stopped
   * before this one starts; the file is removed when the server stops.
   */
  pidFile?: string;
  startTimeoutMs?: number;
  /**
   * The server's HTTP API port; omitted = a free one picked now. (Left to the CLI it is the gRPC port
   * + 1000, which nothing checked: a test run's dev server failed to start on it, in use by another
   * process.)
   */
  httpPort?: number;
}

/**
 * Eager dispatch (on by default in this engine's servers): an activity a workflow task schedules on
 * the worker's own task queue (every email) comes back in the reply to that task instead of through
 * matching. The server's default leaves eager activities off. Eager workflow start is allowed too: in
 * `npm start` the API's client shares the worker's connection and asks for it at enrollment
 * (src/client/temporal.ts requestsEagerStart); `npm run api` has a connection of its own and does
 * not. `TEMPORAL_EAGER_DISPATCH=off` = the server's defaults. Decided here alone
 * (every server the engine starts reads it: `npm start`, the test harness, the bench, `npm run
 * cluster`); src/config.ts only refuses a value other than on/off at startup.
 */
export const EAGER_DISPATCH_CONFIG: Record<string, boolean> = {
  'system.enableActivityEagerExecution': true,
  'system.enableEagerWorkflowStart': true,
};

export function eagerDispatchEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TEMPORAL_EAGER_DISPATCH !== 'off';
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until a Temporal frontend answers GetSystemInfo, or throws after the timeout. */
export async function waitForTemporal(address: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    if (!isAlive()) throw new Error('the Temporal dev server exited during start-up');
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} not reachable after ${timeoutMs} ms: ${String(lastError)}`);
}

// ---- A server left behind --------------------------------------------------------------------------

interface PidRecord {
  pid: number;
  /** The process that started it (`npm start`); while it runs, the server is not a leftover. */
  ownerPid?: number;
  port: number;
  uiPort?: number;
  command: string;
  startedAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's command line (Linux /proc), or null when it cannot be read. */
export function commandLineOf(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || null;
  } catch {
    return null;
  }
}

/** The parent pid of a process (Linux /proc), or null. */
function parentOf(pid: number): number | null {
  try {
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** A Temporal CLI dev server (`temporal server start-dev ...`), judged by its command line. */
export function isDevServerCommand(cmdline: string | null): boolean {
  return !!cmdline && /temporal/.test(cmdline) && /\bserver start-dev\b/.test(cmdline);
}

/** Who listens on a TCP port on this machine, from /proc (Linux): pid and command line when visible. */
export function portHolder(port: number): { pid: number | null; command: string | null } | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; st 0A = LISTEN; inode is the tenth field.
      if (f.length < 10 || f[3] !== '0A') continue;
      if (parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (!inodes.size) return null;
  let procs: string[] = [];
  try {
    procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { pid: null, command: null };
  }
  for (const pid of procs) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return { pid: Number(pid), command: commandLineOf(Number(pid)) };
    }
  }
  return { pid: null, command: null };
}

/** "port 7233 is in use by pid 123 (temporal server start-dev ...)", or as much of it as is visible. */
export function describePortInUse(port: number, what: string): string {
  const holder = portHolder(port);
  const by = holder?.pid ? ` by pid ${holder.pid}${holder.command ? ` (${holder.command.slice(0, 300)})` : ''}` : holder ? ' by a process of another user' : '';
  return `${what} port ${port} is in use${by}`;
}

async function waitUntilFree(ports: number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let free = true;
    for (const p of ports) if (!(await portIsFree(p))) free = false;
    if (free) return true;
    if (Date.now() > until) return false;
    await sleep(100);
  }
}

/**
 * Stops the dev server a previous process recorded in the pid file and left running (that process was
 * killed before it could stop it). A pid that is no longer a Temporal dev server (gone, or reused by
 * another program) is left alone. Returns the pid stopped, if any.
 */
export async function stopLeftoverDevServer(pidFile: string, log?: (msg: string) => void): Promise<number | null> {
  let rec: PidRecord;
  try {
    rec = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as PidRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fs.rmSync(pidFile, { force: true }); // unreadable: stale
    return null;
  }
  if (!Number.isInteger(rec.pid) || rec.pid <= 1 || !isAlive(rec.pid) || !isDevServerCommand(commandLineOf(rec.pid))) {
    fs.rmSync(pidFile, { force: true });
    return null;
  }
  // Still the child of the live process that started it: another `npm start` on this data folder.
  if (rec.ownerPid && rec.ownerPid !== process.pid && isAlive(rec.ownerPid) && parentOf(rec.pid) === rec.ownerPid) {
    throw new Error(`the data folder is in use: process ${rec.ownerPid} (${commandLineOf(rec.ownerPid) ?? 'unknown'}) is running with its Temporal dev server (pid ${rec.pid}, port ${rec.port}); stop it first, or use another DATA_DIR`);
  }
  log?.(`stopping the Temporal dev server (pid ${rec.pid}) left running by a previous start`);
  // Its own process group (spawned detached): the group goes, whatever it started.
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const until = Date.now() + 10_000;
  while (isAlive(rec.pid) && Date.now() < until) await sleep(100);
  if (isAlive(rec.pid)) {
    signal('SIGKILL');
    while (isAlive(rec.pid) && Date.now() < until + 5_000) await sleep(100);
  }
  if (isAlive(rec.pid)) throw new Error(`the Temporal dev server left running by a previous start (pid ${rec.pid}, ${pidFile}) did not stop`);
  const ports = [rec.port, ...(rec.uiPort ? [rec.uiPort] : [])].filter((p) => Number.isInteger(p) && p > 0);
  await waitUntilFree(ports, 10_000);
  fs.rmSync(pidFile, { force: true });
  return rec.pid;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const host = '127.0.0.1';
  if (opts.pidFile) await stopLeftoverDevServer(opts.pidFile);
  if (!(await portIsFree(opts.port))) {
    throw new Error(`${describePortInUse(opts.port, 'Temporal')}: another Temporal server? Stop it, or set TEMPORAL_PORT, or TEMPORAL_ADDRESS to use it`);
  }
  if (opts.uiPort && !(await portIsFree(opts.uiPort))) {
    throw new Error(`${describePortInUse(opts.uiPort, 'Temporal Web UI')} (set TEMPORAL_UI_PORT)`);
  }
  const httpPort = opts.httpPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', host, '--port', String(opts.port), '--http-port', String(httpPort), '--namespace', opts.namespace ?? 'default', '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-ip', host, '--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true, mode: 0o700 });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  for (const [name, type] of Object.entries(COURSE_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(eagerDispatchEnabled() ? EAGER_DISPATCH_CONFIG : {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  let out: number | 'ignore' = 'ignore';
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true, mode: 0o700 });
    out = fs.openSync(opts.logFile, 'a', 0o600);
  }
  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server last, after the
  // worker has drained. The 'exit' hook below still kills it if this process ends any other way.
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', out, out], detached: true });
  if (typeof out === 'number') fs.closeSync(out);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const pid = child.pid;
  const removePidFile = () => {
    if (!opts.pidFile || !pid) return;
    try {
      if ((JSON.parse(fs.readFileSync(opts.pidFile, 'utf8')) as PidRecord).pid === pid) fs.rmSync(opts.pidFile, { force: true });
    } catch {
      /* gone already */
    }
  };
  if (opts.pidFile && pid) {
    const rec: PidRecord = { pid, ownerPid: process.pid, port: opts.port, ...(opts.uiPort ? { uiPort: opts.uiPort } : {}), command: [opts.cliPath, ...args].join(' '), startedAt: new Date().toISOString() };
    fs.mkdirSync(path.dirname(opts.pidFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(opts.pidFile, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
  }
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
    removePidFile();
  };
  process.once('exit', killOnExit);

  const address = `${host}:${opts.port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(t);
    }
    removePidFile();
  };
  try {
    await waitForTemporal(address, opts.startTimeoutMs ?? 60_000, () => !exited);
  } catch (err) {
    await stop();
    // The log's last lines: whoever started it may remove the file (the benchmark's temporary folder).
    let tail = '';
    try {
      if (opts.logFile) tail = fs.readFileSync(opts.logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      /* no log to quote */
    }
    const hint = opts.logFile ? ` (see ${opts.logFile}${tail ? `; its last lines:\n${tail}` : ''})` : '';
    throw new Error(`${err instanceof Error ? err.message : String(err)}${hint}`);
  }
  return { address, uiUrl: opts.uiPort ? `http://${host}:${opts.uiPort}` : undefined, process: child, stop };
}
