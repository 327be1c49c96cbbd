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
  startTimeoutMs?: number;
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

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const host = '127.0.0.1';
  if (!(await portIsFree(opts.port))) {
    throw new Error(`port ${opts.port} is in use: another Temporal server? Set TEMPORAL_PORT, or TEMPORAL_ADDRESS to use it`);
  }
  if (opts.uiPort && !(await portIsFree(opts.uiPort))) {
    throw new Error(`Temporal Web UI port ${opts.uiPort} is in use (set TEMPORAL_UI_PORT)`);
  }
  const args = ['server', 'start-dev', '--ip', host, '--port', String(opts.port), '--namespace', opts.namespace ?? 'default', '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-ip', host, '--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  else args.push('--headless');
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  for (const [name, type] of Object.entries(COURSE_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  let out: number | 'ignore' = 'ignore';
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    out = fs.openSync(opts.logFile, 'a');
  }
  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server last, after the
  // worker has drained. The 'exit' hook below still kills it if this process ends any other way.
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', out, out], detached: true });
  if (typeof out === 'number') fs.closeSync(out);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const killOnExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', killOnExit);

  const address = `${host}:${opts.port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exitPromise;
    clearTimeout(t);
  };
  try {
    await waitForTemporal(address, opts.startTimeoutMs ?? 60_000, () => !exited);
  } catch (err) {
    await stop();
    const hint = opts.logFile ? ` (see ${opts.logFile})` : '';
    throw new Error(`${err instanceof Error ? err.message : String(err)}${hint}`);
  }
  return { address, uiUrl: opts.uiPort ? `http://${host}:${opts.uiPort}` : undefined, process: child, stop };
}
