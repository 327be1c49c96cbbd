// Enrollment admission: back-pressure at the one door through which new courses enter (issue #19).
//
// Every course's first workflow task, projection and screening invitation compete for the worker with
// the Updates staff are waiting on. Offered more enrollments per second than the workers complete (a
// network importing a spreadsheet of clients, a script in a loop), the queue in Temporal grows without
// bound: the first step of each new course comes later and later, staff actions wait behind it, and past
// a point the worker spends its time replaying courses evicted from its cache instead of progressing
// them. Admission keeps the queue short instead: before it starts a course, enrollment counts the
// courses enrolled in the last `windowSeconds` that have no step yet (the `courses_awaiting_first_step_idx`
// partial index, migration 0017); at `limit` or more it refuses with 503 and Retry-After (by clinic, as
// below), and changes nothing. The refused caller retries; the workers keep completing at their own rate.
//
// The backlog is shared by clinic: one clinic's bulk import must not shut every other clinic's door.
// Under the limit every enrollment is admitted. At the limit, a clinic with fewer courses waiting than an
// even share of the limit among the clinics that have courses waiting (itself included) is still
// admitted, so the importing clinic is refused and a clinic enrolling one client is not; never past
// twice the limit in all (admissionDecision below).
//
// The counts are read at most every `refreshMs` per process and raised by each enrollment this process
// admits in between, so a burst cannot run past the limit between two reads. Several API processes each
// read the same table: the limit holds across them within one refresh. A course whose workflow never
// runs leaves the window after `windowSeconds`, so one broken course cannot close the door.
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { AppError } from '../errors';

export interface AdmissionOptions {
  /** Courses waiting for their first step at which enrollment is refused (shared by clinic at that point); 0 = never refuse. */
  limit: number;
  /** Only courses enrolled this recently count as waiting (default 600 s). */
  windowSeconds?: number;
  /** How long one read of the counts is reused (default 500 ms). */
  refreshMs?: number;
  /** The Retry-After given with a refusal (default 5 s). */
  retryAfterSeconds?: number;
}

export class EnrollmentBusyError extends AppError {
  constructor(
    readonly waiting: number,
    readonly limit: number,
    readonly ofClinic: number,
    readonly share: number,
    retryAfterSeconds: number,
  ) {
    super(
      'unavailable',
      `${waiting} newly enrolled courses are still waiting for their first step, ${ofClinic} of them this clinic's (the limit is ${limit}, ENROLLMENT_BACKLOG_LIMIT; at the limit each clinic waiting may have ${share}): nothing was enrolled; try again in ${retryAfterSeconds} s`,
      [],
      retryAfterSeconds,
    );
  }
}

export interface AdmissionDecision {
  admit: boolean;
  /** Courses waiting in all, and of this clinic. */
  total: number;
  own: number;
  /** At the limit: the courses each clinic waiting may have (the limit shared evenly, at least 1). */
  share: number;
}

/**
 * Whether one more course of `clinicId` is admitted, given the courses waiting per clinic. Under `limit`
 * in all: yes. At the limit: if the clinic has fewer waiting than the limit shared evenly among the
 * clinics with courses waiting (itself counted), and fewer than twice the limit wait in all.
 */
export function admissionDecision(waiting: ReadonlyMap<string, number>, clinicId: string, limit: number): AdmissionDecision {
  let total = 0;
  let clinics = 0;
  for (const n of waiting.values()) {
    total += n;
    if (n > 0) clinics++;
  }
  const own = waiting.get(clinicId) ?? 0;
  if (own === 0) clinics++;
  const share = Math.max(1, Math.floor(limit / clinics));
  const admit = limit <= 0 || total < limit || (own < share && total < 2 * limit);
  return { admit, total, own, share };
}

export class EnrollmentAdmission {
  private read: { at: number; byClinic: Map<string, number> } | undefined;
  private reading: Promise<Map<string, number>> | undefined;
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
    let total = 0;
    for (const n of (await this.counts()).values()) total += n;
    return total;
  }

  private async counts(): Promise<Map<string, number>> {
    const refreshMs = this.options.refreshMs ?? 500;
    if (this.read && this.now() - this.read.at < refreshMs) return this.read.byClinic;
    this.reading ??= this.count().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async count(): Promise<Map<string, number>> {
    const windowSeconds = this.options.windowSeconds ?? 600;
    const at = this.now();
    const { rows } = await sql<{ clinic_id: string; n: number }>`
      select clinic_id, count(*)::int as n from courses
      where current_step is null and ended_at is null and enrolled_at > now() - make_interval(secs => ${windowSeconds})
      group by clinic_id`.execute(this.db);
    const byClinic = new Map(rows.map((r) => [r.clinic_id, r.n]));
    this.read = { at, byClinic };
    return byClinic;
  }

  /** Throws EnrollmentBusyError (503, Retry-After) when the clinic's enrollment waits (admissionDecision); else counts this one as waiting. */
  async admit(clinicId: string): Promise<void> {
    const { limit } = this.options;
    if (limit <= 0) return;
    await this.counts();
    // After the await: other requests of the same burst may have been admitted on the same read.
    const byClinic = this.read?.byClinic ?? new Map<string, number>();
    const d = admissionDecision(byClinic, clinicId, limit);
    if (!d.admit) {
      this.refused++;
      throw new EnrollmentBusyError(d.total, limit, d.own, d.share, this.options.retryAfterSeconds ?? 5);
    }
    byClinic.set(clinicId, d.own + 1);
  }
}
