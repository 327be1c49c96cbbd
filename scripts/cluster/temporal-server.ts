// The real Temporal server (pinned 1.32.2, built from the Go module proxy) on PostgreSQL, for
// `npm run cluster`, its kill-a-worker test and the knee measurement (scripts/cluster/README.md).
//
// Binaries: .tools/temporal-server/ in the checkout, then a machine cache outside it
// (~/.cache/kap-pathways/temporal-server-1.32.2/, KAP_TEMPORAL_SERVER_CACHE), which a fresh clone on
// the same machine finds instead of building again; else `go install` (about 4-10 minutes on 2 cores),
// filling both. The schema files and the config template come from the Go module (or the cache, which
// keeps a copy). Nothing here starts without the binaries: a missing toolchain is an error, never a skip.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import { EAGER_DISPATCH_CONFIG, eagerDispatchEnabled, portIsFree, waitForTemporal } from '../../src/temporal/dev-server';
import { resolveToolchain } from '../../src/temporal/toolchain';
import { COURSE_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { type Child, startChild } from '../../chaos/procs';

export const TEMPORAL_SERVER_VERSION = '1.32.2';
/** The module needs Go >= 1.26.10; the proxy serves this toolchain where the machine's go is older. */
const GO_TOOLCHAIN = 'go1.27.3';
const MODULE = 'go.temporal.io/server';

export interface ServerFiles {
  dir: string;
  server: string;
  sql: string;
  /** schema/postgresql/v12 (temporal/versioned, visibility/versioned). */
  schemaDir: string;
  /** config/development-postgres12.yaml */
  configTemplate: string;
  /** config/dynamicconfig/development-sql.yaml */
  dynamicConfig: string;
}

export const checkoutDir = () => path.join(PROJECT_ROOT, '.tools', 'temporal-server');
export const machineCacheDir = () => process.env.KAP_TEMPORAL_SERVER_CACHE || path.join(os.homedir(), '.cache', 'kap-pathways', `temporal-server-${TEMPORAL_SERVER_VERSION}`);

function filesIn(dir: string): ServerFiles {
  return {
    dir,
    server: path.join(dir, 'server'),
    sql: path.join(dir, 'sql'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    configTemplate: path.join(dir, 'config', 'development-postgres12.yaml'),
    dynamicConfig: path.join(dir, 'config', 'dynamicconfig', 'development-sql.yaml'),
  };
}

/** The binaries in `dir` are there and the server says it is the pinned version. */
function binariesOk(f: ServerFiles): boolean {
  if (!fs.existsSync(f.server) || !fs.existsSync(f.sql)) return false;
  const r = spawnSync(f.server, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.includes(`version ${TEMPORAL_SERVER_VERSION}`);
}
const assetsOk = (f: ServerFiles) => fs.existsSync(path.join(f.schemaDir, 'temporal', 'versioned')) && fs.existsSync(path.join(f.schemaDir, 'visibility', 'versioned')) && fs.existsSync(f.configTemplate) && fs.existsSync(f.dynamicConfig);

function goEnv(name: string): string | null {
  try {
    return execFileSync('go', ['env', name], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN } }).trim() || null;
  } catch {
    return null;
  }
}

/** The module's own folder in the Go module cache (downloaded when absent and go is there). */
function moduleDir(log: (m: string) => void): string | null {
  const modcache = goEnv('GOMODCACHE');
  if (!modcache) return null;
  const dir = path.join(modcache, `${MODULE}@v${TEMPORAL_SERVER_VERSION}`);
  if (!fs.existsSync(dir)) {
    log(`downloading ${MODULE}@v${TEMPORAL_SERVER_VERSION} (schema files, config templates)`);
    execFileSync('go', ['mod', 'download', `${MODULE}@v${TEMPORAL_SERVER_VERSION}`], { stdio: 'inherit', env: { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN, GOFLAGS: '-mod=mod' }, cwd: os.tmpdir() });
  }
  return fs.existsSync(dir) ? dir : null;
}

/** Copies (a hard link where it can) one file, leaving it writable by us. */
function place(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  try {
    fs.linkSync(from, tmp);
  } catch {
    fs.copyFileSync(from, tmp);
  }
  fs.renameSync(tmp, to);
}

function copyAssets(fromRoot: ServerFiles | string, to: ServerFiles): void {
  const src = typeof fromRoot === 'string' ? filesIn(fromRoot) : fromRoot;
  fs.rmSync(to.schemaDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(to.schemaDir), { recursive: true });
  fs.cpSync(src.schemaDir, to.schemaDir, { recursive: true });
  place(src.configTemplate, to.configTemplate);
  place(src.dynamicConfig, to.dynamicConfig);
  for (const f of [to.schemaDir, path.dirname(to.configTemplate), path.dirname(to.dynamicConfig)]) fs.chmodSync(f, 0o755);
}

/**
 * The pinned server, SQL tool, schema files and config template, found or built (see the top of this
 * file). Throws, naming what to install, when none can be had.
 */
export function ensureServerFiles(log: (m: string) => void = () => undefined): ServerFiles {
  const checkout = filesIn(checkoutDir());
  const cache = filesIn(machineCacheDir());
  let from: ServerFiles | null = null;
  if (binariesOk(checkout)) from = checkout;
  else if (binariesOk(cache)) from = cache;

  if (!from) {
    if (!goEnv('GOROOT')) throw new Error(`no Temporal server ${TEMPORAL_SERVER_VERSION} in ${checkout.dir} or ${cache.dir}, and no Go toolchain to build it (install golang-go, or put the server and sql binaries in ${checkout.dir})`);
    const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-temporal-build-'));
    log(`building Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool with go install (${GO_TOOLCHAIN}; about 4-10 minutes the first time)`);
    const t = Date.now();
    try {
      execFileSync('go', ['install', `${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`], {
        stdio: 'inherit',
        cwd: os.tmpdir(),
        env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod', GOTOOLCHAIN: GO_TOOLCHAIN },
      });
      place(path.join(gobin, 'server'), cache.server);
      place(path.join(gobin, 'sql'), cache.sql);
    } catch (err) {
      throw new Error(`building the Temporal server ${TEMPORAL_SERVER_VERSION} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      fs.rmSync(gobin, { recursive: true, force: true });
    }
    if (!binariesOk(cache)) throw new Error(`go install finished but ${cache.server} is not Temporal server ${TEMPORAL_SERVER_VERSION}`);
    log(`built in ${Math.round((Date.now() - t) / 1000)} s`);
    from = cache;
  }

  // The schema files and config templates: beside the binaries, else from the cache or the Go module.
  if (!assetsOk(from)) {
    const other = from === checkout ? cache : checkout;
    if (assetsOk(other)) copyAssets(other, from);
    else {
      const mod = moduleDir(log);
      if (!mod) throw new Error(`no schema files for Temporal ${TEMPORAL_SERVER_VERSION}: neither ${from.dir}/schema nor the Go module cache has them (install golang-go)`);
      copyAssets(mod, from);
    }
  }
  // Fill the other place: the machine cache for the next fresh clone, the checkout's tools folder for this one.
  for (const to of [cache, checkout]) {
    if (to === from) continue;
    try {
      if (!binariesOk(to)) {
        place(from.server, to.server);
        place(from.sql, to.sql);
      }
      if (!assetsOk(to)) copyAssets(from, to);
    } catch (err) {
      log(`could not fill ${to.dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return from;
}

// ------------------------------------------------------------------ the database side

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

export function pgTarget(url: string): PgTarget {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'postgres'), password: decodeURIComponent(u.password) };
}

/** Temporal's two databases on the PostgreSQL at `pg`: created, set up and updated to the newest schema with the SQL tool. */
export function setupSchemas(files: ServerFiles, pg: PgTarget, log: (m: string) => void = () => undefined): void {
  const env = { ...process.env, SQL_PLUGIN: 'postgres12', SQL_HOST: pg.host, SQL_PORT: String(pg.port), SQL_USER: pg.user, SQL_PASSWORD: pg.password };
  const sql = (args: string[]) => spawnSync(files.sql, args, { env, encoding: 'utf8', timeout: 180_000 });
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    const created = sql(['--db', db, 'create-database']);
    if (created.status !== 0 && !/already exists/.test(created.stdout + created.stderr)) throw new Error(`temporal-sql-tool create-database ${db} failed: ${(created.stderr || created.stdout).slice(-800)}`);
    const setup = sql(['--db', db, 'setup-schema', '-v', '0.0']);
    // A database set up by an earlier run on the same server (a URL given): update-schema brings it up to date.
    if (setup.status !== 0 && !/already exists/.test(setup.stdout + setup.stderr)) throw new Error(`temporal-sql-tool setup-schema ${db} failed: ${(setup.stderr || setup.stdout).slice(-800)}`);
    const update = sql(['--db', db, 'update-schema', '-d', path.join(files.schemaDir, dir, 'versioned')]);
    if (update.status !== 0) throw new Error(`temporal-sql-tool update-schema ${db} failed: ${(update.stderr || update.stdout).slice(-800)}`);
    log(`schema ${db} ready`);
  }
}

// ------------------------------------------------------------------ the server's config

export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
  pprof: number;
}

/**
 * A free loopback port below 32768: the server keeps its membership ports in a smallint column
 * (cluster_membership.rpc_port), and the kernel's ephemeral ports (freePort) start above it.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.has(port) && (await portIsFree(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

export async function freeServerPorts(frontend?: number): Promise<ServerPorts> {
  const taken = new Set<number>(frontend ? [frontend] : []);
  const p = async () => freeLowPort(taken);
  return {
    frontend: frontend ?? (await p()),
    frontendHttp: await p(),
    frontendMembership: await p(),
    history: await p(),
    historyMembership: await p(),
    matching: await p(),
    matchingMembership: await p(),
    worker: await p(),
    workerMembership: await p(),
    metrics: await p(),
    pprof: await p(),
  };
}

/**
 * The server's config from the module's development-postgres12.yaml: the PostgreSQL address and user,
 * every port (loopback, none of the defaults another server on this machine may hold), the cluster's
 * rpcAddress, the dynamic config beside it. Throws when the template no longer has a line it rewrites.
 */
export function renderServerConfig(template: string, pg: PgTarget, ports: ServerPorts, dynamicConfigPath: string, historyShards = 4): string {
  let service = '';
  const seen = new Set<string>();
  const servicePorts: Record<string, Record<string, number>> = {
    frontend: { grpcPort: ports.frontend, membershipPort: ports.frontendMembership, httpPort: ports.frontendHttp },
    history: { grpcPort: ports.history, membershipPort: ports.historyMembership },
    matching: { grpcPort: ports.matching, membershipPort: ports.matchingMembership },
    worker: { grpcPort: ports.worker, membershipPort: ports.workerMembership },
  };
  const lines = template.split('\n').map((line) => {
    const svc = /^ {2}(frontend|history|matching|worker):\s*$/.exec(line);
    if (svc) service = svc[1]!;
    else if (/^\S/.test(line)) service = '';
    const put = (key: string, value: string) => {
      seen.add(key);
      return line.replace(/:\s*.*$/, `: ${value}`);
    };
    const m = /^\s*(\w+):/.exec(line);
    const key = m?.[1];
    if (!key) return line;
    if (key === 'connectAddr') return put('connectAddr', JSON.stringify(`${pg.host}:${pg.port}`));
    if (key === 'user') return put('user', JSON.stringify(pg.user));
    if (key === 'password') return put('password', JSON.stringify(pg.password));
    if (key === 'numHistoryShards') return put('numHistoryShards', String(historyShards));
    if (key === 'listenAddress') return put('listenAddress', JSON.stringify(`127.0.0.1:${ports.metrics}`));
    if (key === 'rpcAddress') return put('rpcAddress', JSON.stringify(`127.0.0.1:${ports.frontend}`));
    if (key === 'filepath') return put('filepath', JSON.stringify(dynamicConfigPath));
    if (key === 'port' && /^ {4}port:/.test(line)) return put('pprof', String(ports.pprof));
    if (service && servicePorts[service]?.[key] !== undefined) return put(`${service}.${key}`, String(servicePorts[service]![key]));
    return line;
  });
  const needed = ['connectAddr', 'user', 'password', 'numHistoryShards', 'listenAddress', 'rpcAddress', 'filepath', 'pprof', ...Object.entries(servicePorts).flatMap(([s, ks]) => Object.keys(ks).map((k) => `${s}.${k}`))];
  const missing = needed.filter((k) => !seen.has(k));
  if (missing.length) throw new Error(`the server's config template has no ${missing.join(', ')} line: it changed, update scripts/cluster/temporal-server.ts`);
  return lines.join('\n');
}

// ------------------------------------------------------------------ the server

export interface TemporalServerOptions {
  files: ServerFiles;
  pg: PgTarget;
  /** Where the config and the log go. */
  root: string;
  frontendPort?: number;
  historyShards?: number;
  namespace?: string;
  log?: (m: string) => void;
}

export class TemporalServer {
  child: Child | null = null;
  ports!: ServerPorts;
  readonly logFile: string;
  readonly namespace: string;
  private readonly log: (m: string) => void;

  constructor(readonly opts: TemporalServerOptions) {
    this.logFile = path.join(opts.root, 'temporal-server.log');
    this.namespace = opts.namespace ?? 'default';
    this.log = opts.log ?? (() => undefined);
  }

  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  /** Schemas, config, start, health, namespace and the engine's search attributes. */
  async start(): Promise<void> {
    const { files, pg, root } = this.opts;
    setupSchemas(files, pg, this.log);
    this.ports = await freeServerPorts(this.opts.frontendPort);
    const configDir = path.join(root, 'temporal-config');
    fs.mkdirSync(path.join(configDir, 'dynamicconfig'), { recursive: true });
    const dynamicConfig = path.join(configDir, 'dynamicconfig', 'development-sql.yaml');
    fs.copyFileSync(files.dynamicConfig, dynamicConfig);
    // The engine's settings after the module's (all commented out in 1.32.2): eager dispatch as the dev server has it.
    if (eagerDispatchEnabled()) {
      fs.appendFileSync(dynamicConfig, `\n# kap-pathways (src/temporal/dev-server.ts EAGER_DISPATCH_CONFIG)\n${Object.entries(EAGER_DISPATCH_CONFIG).map(([k, v]) => `${k}:\n  - value: ${JSON.stringify(v)}\n`).join('')}`);
    }
    const configFile = path.join(configDir, 'development.yaml');
    fs.writeFileSync(configFile, renderServerConfig(fs.readFileSync(files.configTemplate, 'utf8'), pg, this.ports, dynamicConfig, this.opts.historyShards));
    const child = await startChild({ name: 'temporal-server', command: files.server, args: ['--config-file', configFile, '--allow-no-auth', 'start'], cwd: root, logFile: this.logFile });
    this.child = child;
    await waitForTemporal(this.address, 180_000, () => child.alive()).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)} (see ${this.logFile})`);
    });
    this.log(`Temporal server ${TEMPORAL_SERVER_VERSION} answering on ${this.address}`);
    await this.registerNamespace();
  }

  private cli(args: string[], okIf?: RegExp): void {
    const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
    const r = spawnSync(temporalCli, [...args, '--address', this.address, '--command-timeout', '30s'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0 && !(okIf && okIf.test(r.stdout + r.stderr))) {
      const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : (r.stderr || r.stdout).slice(-600) || `exit ${r.status}`;
      throw new Error(`temporal ${args.slice(0, 3).join(' ')} failed: ${why}`);
    }
  }

  /**
   * The namespace, then one search attribute per course attribute (src/workflows/search-attributes.ts).
   * Each is retried for up to 3 minutes: on a loaded machine the server answers GetSystemInfo before
   * its history and matching services have joined, and the namespace cache catches up every 10 s.
   */
  private async registerNamespace(): Promise<void> {
    const until = Date.now() + 180_000;
    const retried = async (args: string[], okIf: RegExp) => {
      for (;;) {
        try {
          this.cli(args, okIf);
          return;
        } catch (err) {
          if (Date.now() > until || !this.child?.alive()) throw err;
          this.log(`${String(err).slice(0, 200)}; again`);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    };
    await retried(['operator', 'namespace', 'create', '--namespace', this.namespace, '--retention', '72h'], /already (exists|registered)/i);
    for (const [name, type] of Object.entries(COURSE_SEARCH_ATTRIBUTES)) {
      await retried(['operator', 'search-attribute', 'create', '--namespace', this.namespace, '--name', name, '--type', type], /already exists/i);
    }
    this.log(`namespace ${this.namespace} with search attributes ${Object.keys(COURSE_SEARCH_ATTRIBUTES).join(', ')}`);
  }

  async stop(): Promise<void> {
    await this.child?.stop(20_000);
    this.child = null;
  }
}
