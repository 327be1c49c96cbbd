// The embedded default's first start on an empty database: someone must be able to log in and script.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { announceFirstAdmin, ensureFirstAdmin, type FirstAdmin } from '../../src/auth/first-admin';
import { checkLogin } from '../../src/auth/sessions';
import { verifyApiToken } from '../../src/auth/tokens';
import { createDb, type Db } from '../../src/db/connect';
import { type ChildProcess, spawn } from 'node:child_process';
import { migrateToLatest } from '../../src/db/migrate';
import { freePort } from '../../src/temporal/dev-server';

// A fresh, empty PGlite in a process of its own (PGlite cannot start inside jest's VM sandbox).
let pg: ChildProcess;
let db: Db;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-first-admin-'));
  const port = await freePort();
  const root = path.join(__dirname, '../..');
  pg = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'src/db/embedded-postgres-main.ts'), '--data-dir', path.join(dir, 'pg'), '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    pg.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    pg.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code}`)));
  });
  db = createDb({ url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`, poolMax: 1 });
  await migrateToLatest(db);
}, 60_000);
afterAll(async () => {
  await db?.destroy();
  if (pg && pg.exitCode === null) {
    const exited = new Promise((r) => pg.once('exit', r));
    pg.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('creates an admin who can log in and an API token that works, once', async () => {
  const first = await ensureFirstAdmin(db, path.join(dir, 'data'));
  expect(first).not.toBeNull();
  expect(await checkLogin(db, first!.email, first!.password)).not.toBeNull();
  const principal = await verifyApiToken(db, first!.apiToken);
  expect(principal?.role).toBe('admin');
  expect(principal?.clinics).toBe('all');
  const file = fs.readFileSync(first!.credentialsFile, 'utf8');
  expect(file).toContain(first!.password);
  expect(file).toContain(first!.apiToken);
  expect(fs.statSync(first!.credentialsFile).mode & 0o777).toBe(0o600);
  // The password is stored hashed only.
  const row = await db.selectFrom('staff').select('password_hash').where('email', '=', first!.email).executeTakeFirstOrThrow();
  expect(row.password_hash).not.toContain(first!.password);
  // A second start finds someone who can log in and creates nothing.
  expect(await ensureFirstAdmin(db, path.join(dir, 'data'))).toBeNull();
});

test('the password and token reach the terminal and the credentials file only, never a captured stdout (the log)', async () => {
  // A later first start (no one can log in again) overwrites the file and keeps it 0600 even if it was widened.
  await db.updateTable('staff').set({ active: false }).execute();
  const file = path.join(dir, 'data', 'admin-credentials.txt');
  fs.chmodSync(file, 0o644);
  const admin = (await ensureFirstAdmin(db, path.join(dir, 'data'))) as FirstAdmin;
  expect(admin).not.toBeNull();
  expect(fs.statSync(admin.credentialsFile).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(admin.credentialsFile, 'utf8')).toContain(admin.password);

  // stdout is a terminal: the banner shows them.
  const onTty = announceFirstAdmin(admin, { isTTY: true }, () => {
    throw new Error('not asked: stdout is the terminal');
  }).join('\n');
  expect(onTty).toContain(admin.password);
  expect(onTty).toContain(admin.apiToken);

  // stdout captured (docker logs, systemd, `npm start > kap.log`) with a controlling terminal: the
  // secrets go to the terminal, the banner (the log) only names the file.
  const ttyFile = path.join(dir, 'tty.txt');
  const banner = announceFirstAdmin(admin, { isTTY: false }, () => fs.openSync(ttyFile, 'w')).join('\n');
  expect(banner).not.toContain(admin.password);
  expect(banner).not.toContain(admin.apiToken);
  expect(banner).toContain(admin.credentialsFile);
  const terminal = fs.readFileSync(ttyFile, 'utf8');
  expect(terminal).toContain(admin.password);
  expect(terminal).toContain(admin.apiToken);

  // No terminal at all (a container without one): the file only.
  const headless = announceFirstAdmin(admin, { isTTY: false }, () => null).join('\n');
  expect(headless).not.toContain(admin.password);
  expect(headless).toContain(admin.credentialsFile);
  expect(await checkLogin(db, admin.email, admin.password)).not.toBeNull();
});

test('npm start prints the first admin through announceFirstAdmin, and nothing in src logs a password', () => {
  const root = path.join(__dirname, '../..');
  const main = fs.readFileSync(path.join(root, 'src/main.ts'), 'utf8');
  expect(main).toMatch(/announceFirstAdmin\(firstAdmin\)/);
  expect(main).not.toMatch(/firstAdmin\.password/);
  // No pino call anywhere carries a first admin's password or token.
  const offenders: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && /log\.(info|warn|error|debug|trace|fatal)\([^)]*(password|apiToken)/.test(fs.readFileSync(p, 'utf8'))) offenders.push(p);
    }
  };
  walk(path.join(root, 'src'));
  expect(offenders).toEqual([]);
});
