// History events per complete course, per protocol: one course of every shipped protocol enrolled on
// the live stack (real activities, projections in PostgreSQL) at a high time scale (protocol days per
// real day) and driven to its end by the course integration tests' driver
// (test/integration/course-driver.ts: intake, preparation, every dose with its integration session
// and REMS form, the maintenance decision; assessments left unanswered expire as missed, a real path).
// Counted per run of the course workflow (it continues as new before a run reaches its event budget),
// walking the chain back from the last run as scripts/record-histories.ts does.
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { enrollClient } from '../../src/client/courses';
import type { Db } from '../../src/db/connect';
import { getProtocol, listProtocols } from '../../src/domain';
import { LiveCourse } from '../../test/integration/course-driver';
import { seedClients } from './starts';

export interface ProtocolHistory {
  protocol: string;
  status: string;
  runs: number;
  /** Events of the largest run (the figure the 2,000-events-per-run target is about). */
  maxEventsPerRun: number;
  eventsPerRun: number[];
  totalEvents: number;
  /** The server's historySizeBytes of every run, summed (payloads encrypted, as stored). */
  historyBytes: number;
  /** How many assessments (forms) the course opened: held in the course's own history since 2026-12-02. */
  assessments: number;
  /** Bytes of the course's rows in the engine's database (pg_column_size over every table with a course_id, and its courses row), indexes not counted. */
  dbRowBytes: number;
  realSeconds: number;
}

/** Bytes of one course's rows: every table with a `course_id` column, and its `courses` row. */
async function courseRowBytes(db: Db, courseId: string): Promise<number> {
  const { rows: tables } = await sql<{ table_name: string }>`select table_name from information_schema.columns where column_name = 'course_id' and table_schema = current_schema() order by table_name`.execute(db);
  let bytes = Number((await sql<{ b: string | null }>`select sum(pg_column_size(c.*))::text as b from courses c where id = ${courseId}`.execute(db)).rows[0]?.b ?? 0);
  for (const t of tables) {
    const { rows } = await sql<{ b: string | null }>`select sum(pg_column_size(t.*))::text as b from ${sql.table(t.table_name)} t where course_id = ${courseId}`.execute(db);
    bytes += Number(rows[0]?.b ?? 0);
  }
  const items = await sql<{ b: string | null }>`select sum(pg_column_size(i.*))::text as b from assessment_items i join assessments a on a.id = i.assessment_id where a.course_id = ${courseId}`.execute(db);
  return bytes + Number(items.rows[0]?.b ?? 0);
}

/** Index bytes per heap byte over the tables that hold course rows (to scale row bytes to disk). */
export async function courseTablesIndexRatio(db: Db): Promise<{ heapBytes: number; indexBytes: number; indexPerHeap: number }> {
  const { rows } = await sql<{ heap: string; idx: string }>`
    select sum(pg_table_size(c.oid))::text as heap, sum(pg_indexes_size(c.oid))::text as idx
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind = 'r'
      and (c.relname = 'courses' or c.relname in (select table_name from information_schema.columns where column_name = 'course_id' and table_schema = current_schema()))`.execute(db);
  const heapBytes = Number(rows[0]?.heap ?? 0);
  const indexBytes = Number(rows[0]?.idx ?? 0);
  return { heapBytes, indexBytes, indexPerHeap: heapBytes ? Math.round((indexBytes / heapBytes) * 100) / 100 : 0 };
}

/** Events of every run of a course's workflow chain, first run first; the server's history bytes of them all. */
async function eventsPerRun(temporal: Client, workflowId: string): Promise<{ events: number[]; bytes: number }> {
  let runId: string | undefined = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  const out: number[] = [];
  let bytes = 0;
  while (runId) {
    const handle: ReturnType<Client['workflow']['getHandle']> = temporal.workflow.getHandle(workflowId, runId);
    const h: Awaited<ReturnType<typeof handle.fetchHistory>> = await handle.fetchHistory();
    out.unshift(h.events?.length ?? 0);
    bytes += (await handle.describe()).historySize ?? 0;
    runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return { events: out, bytes };
}

/** How many forms the course opened (distinct assessment steps with rows). */
async function formsOf(db: Db, courseId: string): Promise<number> {
  const r = await db.selectFrom('assessments').select((eb) => eb.fn.count<string>('step_key').distinct().as('n')).where('course_id', '=', courseId).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function benchHistories(opts: { db: Db; temporal: Client; taskQueue: string; timeScale: number; protocols?: string[]; log: (m: string) => void }): Promise<ProtocolHistory[]> {
  const protocols = (opts.protocols ?? listProtocols().map((p) => p.id)).map((id) => getProtocol(id)!);
  const clientIds = await seedClients(opts.db, 'bench-live', protocols.length, `bench-hist-${Date.now().toString(36)}-`);
  return Promise.all(
    protocols.map(async (protocol, i) => {
      const t0 = Date.now();
      const { course } = await enrollClient({ db: opts.db, temporal: opts.temporal, taskQueue: opts.taskQueue }, { type: 'system', id: 'bench' }, { clientId: clientIds[i]!, protocolId: protocol.id, protocolVersion: protocol.version, timeScale: opts.timeScale });
      const final = await new LiveCourse(opts.temporal, opts.db, course.id, protocol).runToCompletion();
      const { events: runs, bytes: historyBytes } = await eventsPerRun(opts.temporal, course.workflow_id);
      const dbRowBytes = await courseRowBytes(opts.db, course.id);
      const forms = await formsOf(opts.db, course.id);
      const realSeconds = Math.round((Date.now() - t0) / 100) / 10;
      opts.log(`  ${protocol.id}: ${final.status} in ${realSeconds} s, events per run ${runs.join(' + ')}, history ${historyBytes} bytes (the course, with its ${forms} assessments), rows ${dbRowBytes} bytes`);
      return { protocol: protocol.id, status: final.status, runs: runs.length, maxEventsPerRun: Math.max(...runs), eventsPerRun: runs, totalEvents: runs.reduce((a, b) => a + b, 0), historyBytes, assessments: forms, dbRowBytes, realSeconds };
    }),
  );
}
