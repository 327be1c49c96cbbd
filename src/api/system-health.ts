// Courses whose system work is failing: an activity retrying again and again, or a workflow task that
// keeps failing (a bug, a non-determinism error). Temporal knows this, the database does not, so we
// ask Temporal: `describe()` of open course workflows, read for pending-activity and workflow-task
// attempt counts. Bounded: at most `batchSize` describes per refresh, walking round-robin through
// the open courses, and at most one refresh per `ttlMs`; the board reads the cached result.
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import type { Logger } from '../log';
import { failureMessage } from '../client/temporal';

export interface SystemProblem {
  courseId: string;
  workflowId: string;
  kind: 'activity-retrying' | 'workflow-task-failing';
  /** Activity type, or 'workflow task'. */
  what: string;
  attempt: number;
  lastFailure: string | null;
  /** When the failing work was first scheduled, or last failed: how long it has been stuck. */
  since: string | null;
  checkedAt: string;
}

export interface SystemHealthOptions {
  /** Activity attempts at or above this count as "retrying again and again". */
  minActivityAttempts?: number;
  /** Workflow task attempts at or above this count as failing. */
  minWorkflowTaskAttempts?: number;
  batchSize?: number;
  ttlMs?: number;
  concurrency?: number;
}

export class SystemHealthMonitor {
  private problems = new Map<string, SystemProblem[]>();
  private cursor = '';
  private lastRefresh = 0;
  private running: Promise<void> | null = null;
  private readonly opts: Required<SystemHealthOptions>;

  constructor(
    private readonly db: Db,
    private readonly temporal: Client,
    private readonly log: Logger,
    opts: SystemHealthOptions = {},
  ) {
    this.opts = { minActivityAttempts: 3, minWorkflowTaskAttempts: 2, batchSize: 100, ttlMs: 30_000, concurrency: 4, ...opts };
  }

  /** Current problems; refreshes first when stale (waiting at most `waitMs` for it). */
  async current(waitMs = 1500): Promise<SystemProblem[]> {
    if (Date.now() - this.lastRefresh > this.opts.ttlMs) {
      const refresh = this.refresh();
      await Promise.race([refresh, new Promise((r) => setTimeout(r, waitMs).unref())]);
    }
    return [...this.problems.values()].flat();
  }

  /** One bounded pass over the next batch of open courses (concurrent callers share it). */
  refresh(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
      this.lastRefresh = Date.now();
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    let batch = await this.openCourses(this.cursor);
    if (batch.length < this.opts.batchSize && this.cursor !== '') {
      // Wrapped around: continue from the start.
      batch = batch.concat(await this.openCourses('', this.opts.batchSize - batch.length)).filter((c, i, a) => a.findIndex((x) => x.id === c.id) === i);
      this.cursor = '';
    }
    if (batch.length === 0) {
      this.problems.clear();
      return;
    }
    this.cursor = batch.length === this.opts.batchSize ? batch[batch.length - 1]!.id : '';
    const seen = new Set(batch.map((c) => c.id));
    let i = 0;
    const worker = async () => {
      while (i < batch.length) {
        const c = batch[i++]!;
        try {
          const found = await this.inspect(c.id, c.workflow_id);
          if (found.length) this.problems.set(c.id, found);
          else this.problems.delete(c.id);
        } catch (err) {
          // A course whose workflow is gone or unreachable is not a "system failure" we can show.
          this.log.debug({ courseId: c.id, err: String(err) }, 'describe failed');
          this.problems.delete(c.id);
        }
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    // Courses that ended since the last pass are no longer problems.
    const others = [...this.problems.keys()].filter((id) => !seen.has(id));
    if (others.length) {
      const open = new Set((await this.db.selectFrom('courses').select('id').where('ended_at', 'is', null).where('id', 'in', others).execute()).map((r) => r.id));
      for (const id of others) if (!open.has(id)) this.problems.delete(id);
    }
  }

  private openCourses(after: string, limit = this.opts.batchSize) {
    return this.db.selectFrom('courses').select(['id', 'workflow_id']).where('ended_at', 'is', null).where('id', '>', after).orderBy('id').limit(limit).execute();
  }

  private async inspect(courseId: string, workflowId: string): Promise<SystemProblem[]> {
    const desc = await this.temporal.workflow.getHandle(workflowId).describe();
    if (desc.status.name !== 'RUNNING') return [];
    const checkedAt = new Date().toISOString();
    const out: SystemProblem[] = [];
    const ts = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t && t.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : null);
    for (const a of desc.raw.pendingActivities ?? []) {
      if ((a.attempt ?? 0) >= this.opts.minActivityAttempts) {
        out.push({
          courseId,
          workflowId,
          kind: 'activity-retrying',
          what: a.activityType?.name ?? 'activity',
          attempt: a.attempt ?? 0,
          lastFailure: await failureMessage(this.temporal, a.lastFailure),
          since: ts(a.lastAttemptCompleteTime) ?? ts(a.lastStartedTime),
          checkedAt,
        });
      }
    }
    const wft = desc.raw.pendingWorkflowTask;
    if (wft && (wft.attempt ?? 0) >= this.opts.minWorkflowTaskAttempts) {
      out.push({ courseId, workflowId, kind: 'workflow-task-failing', what: 'workflow task', attempt: wft.attempt ?? 0, lastFailure: 'the workflow task keeps failing (see the worker log or the Temporal Web UI)', since: ts(wft.originalScheduledTime) ?? ts(wft.scheduledTime), checkedAt });
    }
    return out;
  }
}
