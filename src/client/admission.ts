// Enrollment admission: back-pressure at the one door through which new courses enter (issue #19).
//
// Every course's first workflow task, projection and screening invitation compete for the worker with
// the Updates staff are waiting on. Offered more enrollments per second than the workers complete (a
// network importing a spreadsheet of clients, a script in a loop), the queue in Temporal grows without
// bound: the first step of each new course comes later and later, staff actions wait behind it, and past
// a point the worker spends its time replaying courses evicted from its cache instead of progressing
// them. Admission keeps the queue short instead: before it starts a course, enrollment counts the
// courses enrolled in the last `windowSeconds` that have no step yet (the `courses_awaiting_first_step_idx`
// partial index, migration 0017); at `limit` or more it refuses with 503 and Retry-After, and changes
// nothing. The refused caller retries; the workers keep completing at their own rate.
//
// The count is read at most every `refreshMs` per process and raised by each enrollment this process
// admits in between, so a burst cannot run past the limit between two reads. Several API processes each
// read the same table: the limit holds across them within one refresh. A course whose workflow never
// runs leaves the window after `windowSeconds`, so one broken course cannot close the door.
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { AppError } from '../errors';

export interface AdmissionOptions {
  /** Courses waiting for their first step at which enrollment is refused; 0 = never refuse. */
  limit: number;
  /** Only courses enrolled this recently count as waiting (default 600 s). */
  windowSeconds?: number;
  /** How long one read of the count is reused (default 500 ms). */
  refreshMs?: number;
  /** The Retry-After given with a refusal (default 5 s). */
  retryAfterSeconds?: number;
}

export class EnrollmentBusyError extends AppError {
  constructor(
    readonly waiting: number,
    readonly limit: number,
    retryAfterSeconds: number,
  ) {
    super('unavailable', `${waiting} newly enrolled courses are still waiting for their first step (the limit is ${limit}, ENROLLMENT_BACKLOG_LIMIT): nothing was enrolled; try again in ${retryAfterSeconds} s`, [], retryAfterSeconds);
  }
}

export class EnrollmentAdmission {
  private read: { at: number; waiting: number } | undefined;
  private reading: Promise<number> | undefined;
  private refused = 0;

  constructor(
    private readonly db: Db,
    readonly options: AdmissionOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Refusals so far (GET /metrics). */
  get refusals(): number {
    return this.refused;
  }

  /** Courses enrolled in the window that have no step yet, as last read (plus this process's admissions since). */
  async waiting(): Promise<number> {
    const refreshMs = this.options.refreshMs ?? 500;
    if (this.read && this.now() - this.read.at < refreshMs) return this.read.waiting;
    this.reading ??= this.count().finally(() => (this.reading = undefined));
    const waiting = await this.reading;
    return waiting;
  }

  private async count(): Promise<number> {
    const windowSeconds = this.options.windowSeconds ?? 600;
    const at = this.now();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from courses
      where current_step is null and ended_at is null and enrolled_at > now() - make_interval(secs => ${windowSeconds})`.execute(this.db);
    const waiting = rows[0]?.n ?? 0;
    this.read = { at, waiting };
    return waiting;
  }

  /** Throws EnrollmentBusyError (503, Retry-After) when too many courses wait; else counts this one as waiting. */
  async admit(): Promise<void> {
    const { limit } = this.options;
    if (limit <= 0) return;
    await this.waiting();
    // After the await: other requests of the same burst may have been admitted on the same read.
    const waiting = this.read?.waiting ?? 0;
    if (waiting >= limit) {
      this.refused++;
      throw new EnrollmentBusyError(waiting, limit, this.options.retryAfterSeconds ?? 5);
    }
    if (this.read) this.read.waiting++;
  }
}
