// A real PostgreSQL server for the chaos run: Debian's binaries (`initdb` + `postgres`, as .ci/run
// uses), a fresh cluster in the run's temp folder, listening on a free loopback port. The postmaster
// runs in a process group of its own (chaos/procs.ts); a kill stops the postmaster and SIGKILLs it with
// every backend and auxiliary process at once (they live in sessions of their own), as a power cut of
// that process tree would: nothing is flushed, no shutdown checkpoint is written. Started again on the same data directory, the server finds it was
// not shut down and replays its WAL (crash recovery); `recoveries()` counts the "redo done" lines of
// its log, the proof that it did.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Child, startChild } from './procs';

/** The newest `/usr/lib/postgresql/<v>/bin` (or PG_BIN), where `initdb` and `postgres` live. */
export function findPostgresBin(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'postgres'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres'))) : [];
  versions.sort((a, b) => Number(a) - Number(b));
  const v = versions.pop();
  if (v) return path.join(root, v, 'bin');
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (fs.existsSync(path.join(dir, 'postgres'))) return dir;
  } catch {
    // no pg_config on PATH
  }
  throw new Error('chaos: no PostgreSQL server binaries found (install the postgresql package, or set PG_BIN to the folder holding initdb and postgres)');
}

/** PostgreSQL will not run as root: when we are root, its processes run as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    // no postgres user
  }
  throw new Error('chaos: running as root, and there is no `postgres` user for the PostgreSQL server to run as');
}

export class ChaosPostgres {
  child: Child | null = null;
  readonly bin = findPostgresBin();
  private readonly user = serverUser();
  private readonly dataDir: string;
  private readonly socketDir: string;
  readonly logFile: string;

  constructor(
    readonly root: string,
    readonly port: number,
  ) {
    this.dataDir = path.join(root, 'pg', 'data');
    this.socketDir = path.join(root, 'pg', 'socket');
    this.logFile = path.join(root, 'postgres.log');
  }

  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres?sslmode=disable`;
  }

  get up(): boolean {
    return this.child?.alive() ?? false;
  }

  /** A new cluster (trust authentication on loopback; it lives only as long as the run). */
  init(): void {
    fs.mkdirSync(this.socketDir, { recursive: true });
    if (this.user) {
      // The run's temp folder is root's (0700): let the server's user through to its own folder.
      fs.chmodSync(this.root, 0o711);
      for (const d of [path.join(this.root, 'pg'), this.socketDir]) fs.chownSync(d, this.user.uid, this.user.gid);
    }
    execFileSync(path.join(this.bin, 'initdb'), ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: this.user?.uid,
      gid: this.user?.gid,
      cwd: path.join(this.root, 'pg'),
    });
  }

  /** Starts the postmaster on the data directory; resolves once it accepts connections (after any crash recovery). */
  async start(): Promise<void> {
    this.child = await startChild({
      name: 'postgres',
      command: path.join(this.bin, 'postgres'),
      args: ['-D', this.dataDir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${this.socketDir}`, '-c', 'max_connections=60', '-c', 'log_min_messages=log'],
      cwd: path.join(this.root, 'pg'),
      uid: this.user?.uid,
      gid: this.user?.gid,
      treeKill: true,
      logFile: this.logFile,
      readyWhen: /database system is ready to accept connections/,
      readyTimeoutMs: 120_000,
    });
  }

  /** SIGKILL to the postmaster's process group (every backend with it). */
  async kill(): Promise<void> {
    await this.child?.kill();
    this.child = null;
  }

  /** A clean stop at the end of the run: SIGINT (PostgreSQL's fast shutdown), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    await this.child?.stop(20_000, 'SIGINT');
    this.child = null;
  }

  /** Crash recoveries the server has completed ("redo done" in its log). */
  recoveries(): number {
    try {
      return (fs.readFileSync(this.logFile, 'utf8').match(/redo done at/g) ?? []).length;
    } catch {
      return 0;
    }
  }
}
