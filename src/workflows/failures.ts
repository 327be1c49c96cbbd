// Turning the state machines' Rejections into the only error type that may leave a handler.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { Rejection } from './rejection';
import { isUnusableInput, REFUSED_PAYLOAD_FAILURE, REFUSED_PAYLOAD_MESSAGE } from './refused';

/**
 * Throws when the codec refused the input, or there is none (src/workflows/refused.ts): in an Update's
 * validator this rejects the Update (nothing reaches history); at a workflow's start it fails the
 * workflow at once.
 */
export function refuseUnsealed(input: unknown): void {
  if (isUnusableInput(input)) throw ApplicationFailure.create({ type: REFUSED_PAYLOAD_FAILURE, message: REFUSED_PAYLOAD_MESSAGE, nonRetryable: true });
}

/** Runs `fn`; a Rejection (or any other error) leaves as an ApplicationFailure, never as a plain Error. */
export function asFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Rejection) {
      throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: true, details: [err.reasons] });
    }
    if (err instanceof ApplicationFailure) throw err;
    // A bug: fail this one message, not the workflow task (which would retry forever).
    throw ApplicationFailure.create({ type: 'InternalError', message: err instanceof Error ? err.message : String(err), nonRetryable: true });
  }
}

/**
 * Notifications are best effort from the workflow's side: a permanent failure (no recipient, a
 * blocked message) is recorded by the notify activity in the outbox and audit log, and the course
 * carries on. Cancellation still propagates.
 */
export async function tolerateNotifyFailure(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ActivityFailure) return;
    throw err;
  }
}
