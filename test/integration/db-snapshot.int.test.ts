// inSnapshot (src/db/connect.ts): the one way a read of several statements gets one snapshot. On its
// own it opens a repeatable-read transaction; inside a caller's transaction it runs in that one (the
// caller's isolation, the caller's uncommitted rows) rather than opening a second on another connection.
import { sql } from 'kysely';
import { inSnapshot, type Db } from '../../src/db/connect';
import { openTestDb } from './mail-helpers';

let db: Db;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  await db.destroy();
});

const isolation = (d: Db) => sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(d).then((r) => r.rows[0]!.level);

test('on its own, the read runs in a repeatable-read transaction of its own', async () => {
  expect(await isolation(db)).toBe('read committed');
  const seen = await inSnapshot(db, async (s) => ({ isTransaction: s.isTransaction, level: await isolation(s) }));
  expect(seen).toEqual({ isTransaction: true, level: 'repeatable read' });
});

test("inside a caller's transaction, the read runs in that transaction and sees its uncommitted rows", async () => {
  const name = `snapshot-${Date.now()}`;
  const seen = await db
    .transaction()
    .setIsolationLevel('serializable')
    .execute(async (trx) => {
      await sql`create temporary table snapshot_probe (name text) on commit drop`.execute(trx);
      await sql`insert into snapshot_probe (name) values (${name})`.execute(trx);
      return inSnapshot(trx, async (s) => ({
        same: s === trx,
        level: await isolation(s),
        rows: (await sql<{ name: string }>`select name from snapshot_probe`.execute(s)).rows.map((r) => r.name),
      }));
    });
  expect(seen).toEqual({ same: true, level: 'serializable', rows: [name] });
});

test('an error in the read rolls its own transaction back and reaches the caller', async () => {
  await expect(
    inSnapshot(db, async (s) => {
      await sql`select 1`.execute(s);
      throw new Error('read failed');
    }),
  ).rejects.toThrow('read failed');
  // The connection is usable and outside any transaction afterwards (its own default isolation).
  expect(await isolation(db)).toBe('read committed');
});
