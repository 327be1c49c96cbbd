// `npm start` after a SIGKILL: the Temporal dev server the killed process started (its own process
// group, so it survives) is found through DATA_DIR/temporal-dev-server.pid and stopped by the next
// start; a port held by anything else is reported with the pid and command line that hold it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { commandLineOf, freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { resolveToolchain } from '../../src/temporal/toolchain';

const root = path.resolve(__dirname, '../..');
const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
let dir: string;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-devsrv-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a dev server left running by a killed start is stopped by the next start, which records its own', async () => {
  const port = await freePort();
  const pidFile = path.join(dir, 'temporal-dev-server.pid');
  // The first start, in a process of its own that is then killed with SIGKILL (nothing runs on exit).
  const child = spawn(process.execPath, ['--import', require.resolve('tsx'), path.join(__dirname, 'dev-server-child.ts'), temporalCli, String(port), pidFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const oldPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the first start exited with ${code}`)));
  });
  const recorded = JSON.parse(fs.readFileSync(pidFile, 'utf8'));
  expect(recorded).toMatchObject({ pid: oldPid, ownerPid: child.pid, port });
  expect(fs.statSync(pidFile).mode & 0o777).toBe(0o600);
  // While the process that started it runs, it is not a leftover: a second start refuses, naming it.
  const second = await startDevServer({ cliPath: temporalCli, port, pidFile, startTimeoutMs: 5_000 }).then(
    () => null,
    (e: Error) => e,
  );
  expect(second?.message).toContain(`process ${child.pid}`);
  expect(second?.message).toContain(`pid ${oldPid}`);
  expect(alive(oldPid)).toBe(true);
  const childExit = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await childExit;
  // The orphan still runs and holds the port.
  expect(alive(oldPid)).toBe(true);
  expect(commandLineOf(oldPid)).toContain('start-dev');

  let server: DevServer | undefined;
  try {
    server = await startDevServer({ cliPath: temporalCli, port, pidFile, startTimeoutMs: 60_000 });
    expect(alive(oldPid)).toBe(false);
    expect(server.process.pid).not.toBe(oldPid);
    expect(JSON.parse(fs.readFileSync(pidFile, 'utf8'))).toMatchObject({ pid: server.process.pid, port });
  } finally {
    await server?.stop();
    if (alive(oldPid)) process.kill(-oldPid, 'SIGKILL');
  }
  // A clean stop removes the pid file.
  expect(fs.existsSync(pidFile)).toBe(false);
}, 120_000);

test('a port held by another program: the error names the port, the pid and its command line; a pid file naming another program leaves it alone', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const port = (holder.address() as net.AddressInfo).port;
  const pidFile = path.join(dir, 'temporal-dev-server.pid');
  // A stale pid file whose pid is now some other program (here: this test process).
  fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, port, command: 'temporal server start-dev', startedAt: new Date().toISOString() }));
  try {
    const err = await startDevServer({ cliPath: temporalCli, port, pidFile, startTimeoutMs: 5_000 }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(`port ${port} is in use by pid ${process.pid}`);
    expect(err!.message).toContain(commandLineOf(process.pid)!.slice(0, 60));
    expect(alive(process.pid)).toBe(true);
    expect(fs.existsSync(pidFile)).toBe(false); // the stale record is gone
  } finally {
    await new Promise((r) => holder.close(r));
  }
});

test('a dev server that exits during start-up: the error quotes the last lines of its log (the log may be removed after)', async () => {
  const cli = path.join(dir, 'temporal');
  fs.writeFileSync(cli, '#!/bin/sh\necho "starting"\necho "unable to bind: simulated failure" >&2\nexit 1\n', { mode: 0o700 });
  const logFile = path.join(dir, 'temporal.log');
  const err = await startDevServer({ cliPath: cli, port: await freePort(), logFile, startTimeoutMs: 10_000 }).then(
    () => null,
    (e: Error) => e,
  );
  expect(err?.message).toContain('the Temporal dev server exited during start-up');
  expect(err?.message).toContain(`see ${logFile}; its last lines:\nstarting\nunable to bind: simulated failure`);
}, 30_000);
