// The `audit` activity: system entries in the audit trail, written by workflows at most once each.
// The workflow makes the event key deterministically (e.g. `<courseId>/dose-2/given`), so a retried
// activity or a replayed workflow finds the entry instead of writing a second one.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/connect';
import { appendAudit } from '../db/audit';

export interface AuditInput {
  /** Deterministic idempotency key; one key = one entry ever. */
  eventKey: string;
  action: string;
  courseId?: string | null;
  clinicId?: string | null;
  clientId?: string | null;
  /** Defaults to the system (the engine itself); a staff member, or a token without one, when the workflow acts on their Update. */
  actor?: { type: 'system' | 'staff' | 'token' | 'client'; id?: string | null };
  /** Identifiers and codes only: never answers, scores, notes or contact details. */
  detail?: Record<string, string | number | boolean | null>;
  /** Workflow time of the event (ISO); defaults to the insert time. */
  at?: string;
}

export function createAuditActivities(deps: { db: Db }) {
  return {
    async audit(input: AuditInput): Promise<{ recorded: boolean }> {
      if (!input.eventKey || input.eventKey.length > 500) throw ApplicationFailure.nonRetryable('eventKey is required (at most 500 characters)', 'InvalidAuditInput');
      if (!/^[a-z][a-z0-9_.-]{1,99}$/.test(input.action)) throw ApplicationFailure.nonRetryable(`action ${JSON.stringify(input.action)} is not a dotted lower-case verb`, 'InvalidAuditInput');
      let clientId = input.clientId ?? null;
      let clinicId = input.clinicId ?? null;
      if (input.courseId && (!clientId || !clinicId)) {
        // Fill the client and clinic from the course, so per-client queries find the entry directly.
        const course = await deps.db.selectFrom('courses').select(['client_id', 'clinic_id']).where('id', '=', input.courseId).executeTakeFirst();
        clientId ??= course?.client_id ?? null;
        clinicId ??= course?.clinic_id ?? null;
      }
      const recorded = await appendAudit(deps.db, {
        actor: { type: input.actor?.type ?? 'system', id: input.actor?.id ?? null },
        action: input.action,
        clinicId,
        clientId,
        courseId: input.courseId ?? null,
        eventKey: input.eventKey,
        detail: input.detail ?? {},
        ...(input.at ? { at: input.at } : {}),
      });
      return { recorded };
    },
  };
}
