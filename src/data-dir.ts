// The data folder (DATA_DIR) holds the embedded database (client records), Temporal's SQLite file,
// the signing and payload keys and the first admin's credentials: only the account that runs the
// engine may read it. Folders are 0700 and files 0600, fixed on every start for files left by an
// older version or another tool, and the process umask makes new files private from the start.
//
// PGlite (Emscripten's NODEFS) sets modes on some files itself (its initdb writes 0666 whatever the
// umask), so the embedded database's folder is swept again once PGlite has opened it and when it
// closes (src/db/embedded-postgres.ts); the 0700 folder keeps anything between sweeps unreachable.
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** New files and folders of this process (and the children it starts): owner only. */
export function usePrivateUmask(): void {
  process.umask(0o077);
}

/**
 * Creates the folder (0700) if missing and makes it and everything under it private: folders 0700,
 * files 0600. Symbolic links under it are left alone (never followed). Returns how many modes it changed.
 */
export function makePrivate(folder: string): number {
  fs.mkdirSync(folder, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dir = fs.realpathSync(folder); // DATA_DIR may itself be a link to the real folder
  let changed = 0;
  const fix = (p: string, want: number): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile (a WAL segment recycled)
      throw err;
    }
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o7777) !== want) {
      try {
        fs.chmodSync(p, want);
        changed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };
  const walk = (d: string): void => {
    fix(d, PRIVATE_DIR_MODE);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.isSymbolicLink()) fix(p, PRIVATE_FILE_MODE);
    }
  };
  walk(dir);
  return changed;
}
