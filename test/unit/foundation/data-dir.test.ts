// The data folder is private: folders 0700, files 0600, fixed on start for files left world-readable
// (PGlite's own files and WAL included), and new files private under the umask.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { makePrivate } from '../../../src/data-dir';

const modeOf = (p: string) => fs.lstatSync(p).mode & 0o777;

function everything(dir: string): Array<{ p: string; dir: boolean; mode: number }> {
  const out: Array<{ p: string; dir: boolean; mode: number }> = [{ p: dir, dir: true, mode: modeOf(dir) }];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...everything(p));
    else if (!e.isSymbolicLink()) out.push({ p, dir: false, mode: modeOf(p) });
  }
  return out;
}

/** Every entry whose mode is not the private one, as "mode path" (empty when all are private). */
const notPrivate = (dir: string) => everything(dir).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${e.mode.toString(8)} ${e.p}`);

let tmp: string;
const savedUmask = process.umask();
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-data-'));
});
afterEach(() => {
  process.umask(savedUmask);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('makePrivate fixes folders and files left open, creates a missing folder 0700 and leaves symlinks alone', () => {
  process.umask(0);
  const data = path.join(tmp, 'data');
  fs.mkdirSync(path.join(data, 'pg', 'pg_wal'), { recursive: true, mode: 0o777 });
  fs.chmodSync(data, 0o777);
  fs.chmodSync(path.join(data, 'pg'), 0o755);
  fs.writeFileSync(path.join(data, 'temporal.sqlite'), 'x', { mode: 0o666 });
  fs.writeFileSync(path.join(data, 'pg', 'pg_wal', '000000010000000000000001'), 'wal', { mode: 0o644 });
  const outside = path.join(tmp, 'outside.txt');
  fs.writeFileSync(outside, 'not ours', { mode: 0o644 });
  fs.symlinkSync(outside, path.join(data, 'link'));
  expect(notPrivate(data).length).toBe(5);

  expect(makePrivate(data)).toBe(5);
  expect(notPrivate(data)).toEqual([]);
  expect(modeOf(outside)).toBe(0o644); // the link was not followed
  expect(makePrivate(data)).toBe(0);

  const fresh = path.join(tmp, 'fresh', 'nested');
  makePrivate(fresh);
  expect(modeOf(fresh)).toBe(0o700);

  // DATA_DIR given as a link to the real folder: the folder itself is made private.
  const real = path.join(tmp, 'real');
  fs.mkdirSync(real, { mode: 0o755 });
  fs.chmodSync(real, 0o755);
  fs.symlinkSync(real, path.join(tmp, 'via-link'));
  makePrivate(path.join(tmp, 'via-link'));
  expect(modeOf(real)).toBe(0o700);
});

/** The embedded database as `npm run chaos` runs it: its own process (PGlite needs real ES modules). */
async function startPg(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const root = path.resolve(__dirname, '../../..');
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'src/db/embedded-postgres-main.ts'), '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`embedded-postgres exited with ${code}`)));
  });
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

test('the embedded database on a folder with 0666 files: every file 0600 after start, new files 0600, all 0600 after stop', async () => {
  const dataDir = path.join(tmp, 'pg');
  const first = await startPg(dataDir);
  await first.stop();
  // As an older version left it: everything open to everyone.
  for (const e of everything(dataDir)) fs.chmodSync(e.p, e.dir ? 0o777 : 0o666);
  expect(notPrivate(dataDir).length).toBeGreaterThan(100);

  const pg = await startPg(dataDir);
  try {
    expect(notPrivate(dataDir)).toEqual([]);
    const before = new Set(everything(dataDir).map((e) => e.p));
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await c.query('CREATE TABLE t (x int)');
    await c.query('INSERT INTO t SELECT generate_series(1, 5000)');
    await c.query('CHECKPOINT');
    await c.end();
    // Files PGlite created while running (the new table's relation files): private by the umask.
    const created = everything(dataDir).filter((e) => !before.has(e.p));
    expect(created.length).toBeGreaterThan(0);
    expect(created.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${e.mode.toString(8)} ${e.p}`)).toEqual([]);
    expect(modeOf(dataDir)).toBe(0o700);
  } finally {
    await pg.stop();
  }
  expect(notPrivate(dataDir)).toEqual([]);
  const wal = fs.readdirSync(path.join(dataDir, 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f));
  expect(wal.length).toBeGreaterThan(0);
  for (const f of wal) expect(modeOf(path.join(dataDir, 'pg_wal', f))).toBe(0o600);
}, 60_000);
