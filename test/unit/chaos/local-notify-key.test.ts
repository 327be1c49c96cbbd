// The chaos checks read an invitation's first attempt, a local activity, from its marker
// (chaos/email-checks.ts, localNotifyKey): the marker holds no input, so the outbox key comes from the
// result or from the sealed failure's message. Markers built as the worker writes them, sealed with the
// engine's codec and failure converter.
import crypto from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter, TimeoutFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { localNotifyKey } from '../../../chaos/email-checks';
import { EncryptionCodec } from '../../../src/security/payload-codec';
import { failureConverter } from '../../../src/temporal/failure-converter';

const codec = new EncryptionCodec([{ id: 'k1', key: crypto.randomBytes(32) }]);
const KEY = 'c-1/screening/invitation';

/** As core writes it: the marker's data in clear JSON, the result sealed by the codec. */
async function marker(activityType: string, outcome: { result?: unknown; failure?: Error }): Promise<temporal.api.history.v1.IMarkerRecordedEventAttributes> {
  const data = defaultPayloadConverter.toPayload({ seq: 1, attempt: 1, activity_id: '1', activity_type: activityType });
  const details: Record<string, temporal.api.common.v1.IPayloads> = { data: { payloads: [data] } };
  if (outcome.result !== undefined) details.result = { payloads: await codec.encode([defaultPayloadConverter.toPayload(outcome.result)]) };
  let failure: temporal.api.failure.v1.IFailure | undefined;
  if (outcome.failure) {
    failure = failureConverter.errorToFailure(outcome.failure, defaultPayloadConverter);
    // The worker seals encodedAttributes with the codec as it sends the failure.
    if (failure.encodedAttributes) [failure.encodedAttributes] = await codec.encode([failure.encodedAttributes as never]);
  }
  return { markerName: 'core_local_activity', details, ...(failure ? { failure } : {}) };
}

test('a sent invitation: the key from the sealed result', async () => {
  expect(await localNotifyKey(await marker('notify', { result: { key: KEY, status: 'sent', messageId: '<x@kap>' } }), codec)).toBe(KEY);
});

test('a refusal for good: the key from the sealed failure message, which shows none in clear text', async () => {
  const m = await marker('notify', { failure: ApplicationFailure.create({ message: `smtp-refused: outbox ${KEY} (SMTP 550)`, type: 'SmtpRejected', nonRetryable: true }) });
  expect(JSON.stringify(m.failure)).not.toContain(KEY);
  expect(await localNotifyKey(m, codec)).toBe(KEY);
});

test('another local activity is not an email; a timeout or a failure for now leaves the key to its retry', async () => {
  expect(await localNotifyKey(await marker('projectCourse', { result: { ok: true } }), codec)).toBeUndefined();
  expect(await localNotifyKey(await marker('notify', { failure: new TimeoutFailure('timed out', undefined, 'START_TO_CLOSE') }), codec)).toBeUndefined();
  expect(await localNotifyKey(await marker('notify', { failure: ApplicationFailure.create({ message: 'database unavailable', nonRetryable: false }) }), codec)).toBeUndefined();
});

test('a notify marker that names no key, and will have no retry, is reported (null), not passed over', async () => {
  expect(await localNotifyKey(await marker('notify', { result: { status: 'sent' } }), codec)).toBeNull();
  expect(await localNotifyKey(await marker('notify', { failure: ApplicationFailure.create({ message: 'key is required', type: 'InvalidNotifyInput', nonRetryable: true }) }), codec)).toBeNull();
});
