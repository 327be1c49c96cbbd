// The embedded default's first start on an empty database: someone must be able to log in and script.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFirstAdmin } from '../../src/auth/first-admin';
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
