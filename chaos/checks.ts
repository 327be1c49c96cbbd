// After the run: what the workflows say happened, against what PostgreSQL and the SMTP sink hold.
//
// Sources of truth:
//   - each course workflow's result (a short summary: status, end reason, doses, event counter) and
//     the expected end of its profile;
//   - every workflow history (the courses): the notify activities it scheduled and
//     completed, with their keys (payloads decoded with the same codec as the worker's);
//   - the SMTP sink of the runner: every message received, by Message-ID.
// Against: courses, course_steps, course_events, email_outbox, audit_log.
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker/worker';
import { EncryptionCodec } from '../src/security/payload-codec';
import type { Db } from '../src/db/connect';
import type { CourseResult } from '../src/workflows/messages';
import type { Profile } from './driver';
import { historyToJson } from '../src/temporal/history-json';
import { sql } from 'kysely';
import { checkEmails, emptyEmailReport, firstAttemptKeys, type EmailReport, type Problem } from './email-checks';

export interface CourseUnderTest {
  courseId: string;
  profile: Profile;
}

export type { Problem };

export interface CheckReport {
  courses: { started: number; finishedAsExpected: number; notAsExpected: number; unfinished: number };
  projection: { courseRowsMismatched: number; stepRowsMissing: number; stepRowsUnexpected: number; stepRowsStale: number; eventGaps: number; eventDuplicates: number };
  emails: EmailReport;
  audit: { gaps: number; duplicates: number };
  /** Every workflow history replayed on the workflow code from scratch, as a restarted worker would. */
  /** `workflows`: every workflow the server lists; `histories` of them fetched and replayed; `unreadable` could not be fetched (not replayed: counted as failing). */
  replay: { workflows: number; histories: number; failures: number; unreadable: number };
  problems: Problem[];
}

const TERMINAL = new Set(['completed', 'withdrawn', 'ineligible']);



/** Notify keys from every workflow history: scheduled, and those whose activity completed. */
type Histories = Array<{ workflowId: string; runId: string; history: temporal.api.history.v1.IHistory }>;

async function notifyKeysFromHistories(client: Client, codec: PayloadCodec, problems: Problem[]): Promise<{ scheduled: Set<string>; completed: Set<string>; workflows: number; histories: Histories }> {
  const scheduled = new Set<string>();
  const completed = new Set<string>();
  const histories: Histories = [];
  let workflows = 0;
  for await (const wf of client.workflow.list({ query: '' })) {
    workflows++;
    let history: temporal.api.history.v1.IHistory;
    try {
      history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    } catch (err) {
      problems.push({ kind: 'history-unreadable', detail: `${wf.workflowId}/${wf.runId}: ${String(err)}` });
      continue;
    }
    histories.push({ workflowId: wf.workflowId, runId: wf.runId, history });
    const byScheduledId = new Map<string, string>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s && s.activityType?.name === 'notify') {
        const payloads = s.input?.payloads ?? [];
        const [decoded] = await codec.decode(payloads as never);
        const input = decoded ? (defaultPayloadConverter.fromPayload(decoded as never) as { key?: string }) : undefined;
        if (input?.key) {
          scheduled.add(input.key);
          byScheduledId.set(String(e.eventId), input.key);
        }
      }
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const key = byScheduledId.get(String(c.scheduledEventId));
        if (key) completed.add(key);
      }
      // An invitation's first attempt runs in the projection's local activity (src/activities/first-attempts.ts):
      // its marker holds no input, so the keys come from its result.
      const m = e.markerRecordedEventAttributes;
      if (m?.markerName === 'core_local_activity') {
        const tried = await firstAttemptKeys(m, codec);
        if (tried === undefined) continue;
        if (tried === null) {
          problems.push({ kind: 'history-unreadable', detail: `${wf.workflowId}/${wf.runId}: a projection's marker holds first attempts the checks cannot read` });
          continue;
        }
        for (const { key, sent } of tried) {
          scheduled.add(key);
          if (sent) completed.add(key);
        }
      }
    }
  }
  return { scheduled, completed, workflows, histories };
}


/**
 * Replays every history on the current workflow code, from the first event, with the run's codec:
 * what a restarted worker (or one that evicted the workflow from its cache) does. A failure means that
 * workflow would be stuck on its next task. Failing histories are written to `artifactsDir` with the
 * run's payload key so that they can be replayed again (they hold synthetic data only).
 */
async function replayAll(histories: Histories, codec: PayloadCodec, problems: Problem[], artifactsDir: string, payloadKeys: string): Promise<{ histories: number; failures: number }> {
  const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent as never });
  let failures = 0;
  const byId = new Map(histories.map((h) => [`${h.workflowId}/${h.runId}`, h]));
  const input = histories.map((h) => ({ workflowId: `${h.workflowId}/${h.runId}`, history: h.history }));
  // As a live worker decodes: a payload not sealed with the keys becomes the refusal marker (src/workflows/refused.ts).
  const replayCodec = codec instanceof EncryptionCodec ? codec.withMode('mark') : codec;
  for await (const r of Worker.runReplayHistories({ workflowBundle, dataConverter: { payloadCodecs: [replayCodec] }, replayName: 'chaos-replay' }, input as never)) {
    if (!r.error) continue;
    failures++;
    problems.push({ kind: 'replay-failed', detail: `${r.workflowId}: ${r.error.message.slice(0, 400)}` });
    const h = byId.get(r.workflowId);
    if (h) {
      fs.mkdirSync(artifactsDir, { recursive: true });
      fs.writeFileSync(path.join(artifactsDir, `${h.workflowId}.${h.runId}.json`), historyToJson(h.history));
      fs.writeFileSync(path.join(artifactsDir, 'PAYLOAD_KEYS'), `${payloadKeys}\n`);
    }
  }
  return { histories: histories.length, failures };
}

/** Everything a report counts that must be zero: a run passes when this is 0. */
export function countFailures(report: CheckReport): number {
  const { courses, projection: p, emails: e, audit, replay } = report;
  return (
    courses.notAsExpected +
    courses.unfinished +
    p.courseRowsMismatched +
    p.stepRowsMissing +
    p.stepRowsUnexpected +
    p.stepRowsStale +
    p.eventGaps +
    p.eventDuplicates +
    e.missing +
    e.duplicated +
    e.unexpected +
    e.uncertainUnaccounted +
    e.failedOrBlockedUnexpected +
    e.orphans +
    audit.gaps +
    audit.duplicates +
    replay.failures +
    replay.unreadable
  );
}

export async function runChecks(opts: {
  db: Db;
  client: Client;
  codec: PayloadCodec;
  courses: CourseUnderTest[];
  sinkCounts: Map<string, number>;
  sinkReceived: number;
  artifactsDir: string;
  payloadKeys: string;
}): Promise<CheckReport> {
  const { db, client } = opts;
  const problems: Problem[] = [];
  const r: CheckReport = {
    courses: { started: opts.courses.length, finishedAsExpected: 0, notAsExpected: 0, unfinished: 0 },
    projection: { courseRowsMismatched: 0, stepRowsMissing: 0, stepRowsUnexpected: 0, stepRowsStale: 0, eventGaps: 0, eventDuplicates: 0 },
    emails: emptyEmailReport(opts.sinkReceived),
    audit: { gaps: 0, duplicates: 0 },
    replay: { workflows: 0, histories: 0, failures: 0, unreadable: 0 },
    problems,
  };

  // ---- courses: the workflow's result (a short summary) and the projection vs the profile's expectation
  for (const c of opts.courses) {
    const handle = client.workflow.getHandle(`course-${c.courseId}`);
    const d = await handle.describe().catch(() => null);
    if (!d || d.status.name !== 'COMPLETED') {
      r.courses.unfinished++;
      problems.push({ kind: 'course-unfinished', courseId: c.courseId, detail: `${c.profile.name}: workflow ${d?.status.name ?? 'not found'}` });
      continue;
    }
    const result = (await handle.result()) as CourseResult;
    const row = await db.selectFrom('courses').selectAll().where('id', '=', c.courseId).executeTakeFirst();
    const sessions = await db.selectFrom('course_sessions').select(['step_key', 'kind', 'status']).where('course_id', '=', c.courseId).execute();
    const dosesInDb = sessions.filter((x) => x.kind === 'dosing' && x.status === 'completed').length;
    const e = c.profile.expected;
    const asExpected = result.status === e.status && result.endReason === e.endReason && (e.dosesGiven === undefined || result.dosesGiven === e.dosesGiven);
    if (asExpected) r.courses.finishedAsExpected++;
    else {
      r.courses.notAsExpected++;
      problems.push({ kind: 'course-not-as-expected', courseId: c.courseId, detail: `${c.profile.name}: ${result.status} (${result.endReason}, ${result.dosesGiven} doses), expected ${e.status} (${e.endReason}, ${e.dosesGiven ?? '?'} doses)` });
    }

    // The course row says what the result says, and the projection's sessions hold the doses given.
    if (!row || row.status !== result.status || row.end_reason !== result.endReason || !row.ended_at || row.current_step !== null || dosesInDb !== result.dosesGiven) {
      r.projection.courseRowsMismatched++;
      problems.push({ kind: 'course-row-mismatch', courseId: c.courseId, detail: `row ${row ? `${row.status}/${row.end_reason}/ended ${row.ended_at ? 'yes' : 'no'}/step ${row.current_step}` : 'missing'}, ${dosesInDb} dosing sessions completed vs workflow ${result.status}/${result.endReason}, ${result.dosesGiven} doses` });
    }

    // Timeline: seq 1..N without a gap, N the workflow's own event counter, one start and one end
    // event, the end matching the result.
    const events = await db.selectFrom('course_events').select(['seq', 'type', 'step_key']).where('course_id', '=', c.courseId).orderBy('seq').execute();
    const seqs = events.map((x) => Number(x.seq));
    const distinct = new Set(seqs);
    if (distinct.size !== seqs.length) {
      r.projection.eventDuplicates += seqs.length - distinct.size;
      problems.push({ kind: 'event-duplicate', courseId: c.courseId, detail: `${seqs.length - distinct.size} repeated seq` });
    }
    const max = seqs.length ? Math.max(...seqs) : 0;
    if (max !== distinct.size || max !== result.seq) {
      r.projection.eventGaps += Math.max(Number(result.seq) || 0, max) - distinct.size || 1;
      problems.push({ kind: 'event-gap', courseId: c.courseId, detail: `${distinct.size} events, highest seq ${max}, the workflow's counter ${result.seq}` });
    }
    const starts = events.filter((x) => x.type === 'course.started').length;
    const ends = events.filter((x) => TERMINAL.has(x.type.replace(/^course\./, '')) && x.type.startsWith('course.')).length;
    const endType = `course.${result.status}`;
    if (starts !== 1 || ends !== 1 || events[events.length - 1]?.type !== endType) {
      r.projection.eventGaps += starts === 0 ? 1 : 0;
      r.projection.eventGaps += ends === 0 ? 1 : 0;
      r.projection.eventDuplicates += Math.max(starts - 1, 0) + Math.max(ends - 1, 0);
      problems.push({ kind: 'timeline-ends', courseId: c.courseId, detail: `${starts} course.started, ${ends} end events, last ${events[events.length - 1]?.type}, expected ${endType}` });
    }

    // Steps: every step the timeline says opened has its row; no row of a step that never opened is
    // open or done; on an ended course no row is still open (each is in its final state).
    const rows = await db.selectFrom('course_steps').select(['step_key', 'state']).where('course_id', '=', c.courseId).execute();
    const opened = new Set(events.filter((x) => x.type === 'step.opened' && x.step_key).map((x) => x.step_key!));
    const byKey = new Map(rows.map((x) => [x.step_key, x]));
    for (const k of opened) {
      if (!byKey.has(k)) {
        r.projection.stepRowsMissing++;
        problems.push({ kind: 'step-row-missing', courseId: c.courseId, detail: `${k} opened on the timeline, no course_steps row` });
      }
    }
    for (const x of rows) {
      if (x.state === 'open' || x.state === 'overdue') {
        r.projection.stepRowsStale++;
        problems.push({ kind: 'step-row-stale', courseId: c.courseId, detail: `${x.step_key}: row still ${x.state} on an ended course` });
      } else if (x.state === 'done' && !opened.has(x.step_key)) {
        r.projection.stepRowsUnexpected++;
        problems.push({ kind: 'step-row-unexpected', courseId: c.courseId, detail: `${x.step_key} done, never opened on the timeline` });
      }
    }
  }

  // ---- email: histories -> outbox -> sink
  const hist = await notifyKeysFromHistories(client, opts.codec, problems);
  const replayed = await replayAll(hist.histories, opts.codec, problems, opts.artifactsDir, opts.payloadKeys);
  r.replay = { workflows: hist.workflows, ...replayed, unreadable: hist.workflows - hist.histories.length };
  const outbox = await db
    .selectFrom('email_outbox')
    .select(['key', 'status', 'message_id', 'course_id', 'template', 'data', 'claim_token', 'claimed_until', 'last_error'])
    .select(sql<boolean>`claimed_until is not null and claimed_until < now()`.as('lease_over'))
    .execute();
  const courseIds = new Set((await db.selectFrom('courses').select('id').execute()).map((x) => x.id));
  const formIds = new Set((await db.selectFrom('assessments').select(['course_id', 'step_key']).execute()).map((x) => `${x.course_id}/${x.step_key}`));
  const uncertainAudit = new Set((await db.selectFrom('audit_log').select('event_key').where('action', '=', 'email.uncertain').execute()).map((x) => x.event_key));
  checkEmails({ outbox, scheduled: hist.scheduled, completed: hist.completed, sinkCounts: opts.sinkCounts, courseIds, formIds, uncertainAudit }, r.emails, problems);

  // ---- audit: enrollment once per course, one email.sent / email.uncertain per such row
  const audit = await db.selectFrom('audit_log').select(['action', 'course_id', 'event_key']).where('action', 'in', ['course.enroll', 'email.sent', 'email.uncertain']).execute();
  const enrolls = new Map<string, number>();
  const emailAudit = new Map<string, number>();
  for (const a of audit) {
    if (a.action === 'course.enroll' && a.course_id) enrolls.set(a.course_id, (enrolls.get(a.course_id) ?? 0) + 1);
    else if (a.event_key) emailAudit.set(a.event_key, (emailAudit.get(a.event_key) ?? 0) + 1);
  }
  for (const c of opts.courses) {
    const n = enrolls.get(c.courseId) ?? 0;
    if (n === 0) {
      r.audit.gaps++;
      problems.push({ kind: 'audit-no-enroll', courseId: c.courseId, detail: 'no course.enroll entry' });
    } else if (n > 1) {
      r.audit.duplicates += n - 1;
      problems.push({ kind: 'audit-enroll-twice', courseId: c.courseId, detail: `${n} course.enroll entries` });
    }
  }
  for (const o of outbox) {
    if (o.status !== 'sent' && o.status !== 'uncertain') continue;
    const n = emailAudit.get(`email.${o.status}:${o.key}`) ?? 0;
    if (n === 0) {
      r.audit.gaps++;
      problems.push({ kind: 'audit-email-gap', key: o.key, detail: `no email.${o.status} entry` });
    }
  }
  return r;
}
