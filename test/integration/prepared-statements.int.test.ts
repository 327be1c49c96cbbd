// Named prepared statements (src/db/prepared.ts) on the test database (embedded PGlite, or the
// PostgreSQL server in DATABASE_URL): a repeated statement is prepared once on its connection and then
// reused, a statement without parameters (a migration's script) is sent as it always was, the number of
// names per connection is capped, and DATABASE_PREPARED_STATEMENTS=off prepares nothing.
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/connect';
import { prepareRepeatedStatements } from '../../src/db/prepared';
import { testDatabaseUrl } from './mail-helpers';

async function withDb<T>(preparedStatements: boolean | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const db = createDb({ url: testDatabaseUrl(), poolMax: 1, ...(preparedStatements === undefined ? {} : { preparedStatements }) });
    try {
      await db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute();
    } catch (err) {
      await db.destroy().catch(() => undefined);
      // The embedded server refuses a new connection for a moment after the previous one closed.
      if (Date.now() - t0 > 15_000) throw err;
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  }
}

/** This connection's prepared statements whose text mentions `marker`. */
async function preparedWith(db: Db, marker: string): Promise<Array<{ name: string; statement: string }>> {
  const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements where statement like ${`%${marker}%`} and name like 'kap\\_%'`.execute(db);
  return rows;
}

test('a statement repeated on a connection is prepared once and reused, with the right rows each time', async () => {
  await withDb(undefined, async (db) => {
    const marker = `prep_${Date.now()}`;
    const answers: string[] = [];
    for (const v of ['a', 'b', 'c']) {
      const { rows } = await sql<{ v: string }>`select ${v}::text as v, ${marker}::text as m`.execute(db);
      answers.push(rows[0]!.v);
    }
    expect(answers).toEqual(['a', 'b', 'c']);
    const prepared = await preparedWith(db, '::text as m');
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.name).toMatch(/^kap_[A-Za-z0-9_-]{24}$/);
  });
});

test('a script without parameters (several statements, as a migration sends) is not prepared and still runs', async () => {
  await withDb(undefined, async (db) => {
    const t = `prep_script_${process.pid}_${Date.now()}`;
    await sql.raw(`create temporary table ${t} (x int); insert into ${t} values (1), (2);`).execute(db);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(t)} where x > ${0}`.execute(db);
    expect(rows[0]!.n).toBe(2);
    expect(await preparedWith(db, `insert into ${t}`)).toEqual([]);
  });
});

test('a connection names at most the cap; past it statements are sent unnamed and still answer', async () => {
  const t0 = Date.now();
  let client: pg.Client;
  for (;;) {
    client = new pg.Client({ connectionString: testDatabaseUrl() });
    try {
      await client.connect();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() - t0 > 15_000) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    prepareRepeatedStatements(client, 3);
    const results: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { rows } = await client.query(`select $1::int + ${i} as n /* cap ${i} */`, [10]);
      results.push(rows[0].n as number);
    }
    expect(results).toEqual([10, 11, 12, 13, 14, 15]);
    const { rows } = await client.query(`select count(*)::int as n from pg_prepared_statements where name like 'kap\\_%' and statement like '%/* cap %'`);
    expect(rows[0].n).toBe(3);
  } finally {
    await client.end();
  }
});

test('a new connection starts clean: what an earlier connection prepared (the embedded server keeps one session) is not in its way', async () => {
  const marker = 'again_marker';
  for (let round = 0; round < 2; round++) {
    await withDb(undefined, async (db) => {
      const { rows } = await sql<{ v: number }>`select ${round}::int as v, 1 as ${sql.ref(marker)}`.execute(db);
      expect(rows[0]!.v).toBe(round);
      expect(await preparedWith(db, marker)).toHaveLength(1);
    });
  }
});

test('DATABASE_PREPARED_STATEMENTS=off prepares nothing; the setting refuses other values', async () => {
  await withDb(false, async (db) => {
    for (const v of [1, 2]) await sql`select ${v}::int as off_marker`.execute(db);
    expect(await preparedWith(db, 'off_marker')).toEqual([]);
  });
  expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'off' } as NodeJS.ProcessEnv).DATABASE_PREPARED_STATEMENTS).toBe('off');
  expect(loadConfig({} as NodeJS.ProcessEnv).DATABASE_PREPARED_STATEMENTS).toBe('on');
  expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'maybe' } as NodeJS.ProcessEnv)).toThrow(/DATABASE_PREPARED_STATEMENTS/);
});
