// The chaos checks read an invitation's first attempt from the projection's marker
// (chaos/email-checks.ts, firstAttemptKeys; src/activities/first-attempts.ts): the marker holds no
// input, so the outbox keys come from its sealed result. Markers built as the worker writes them,
// sealed with the engine's codec and failure converter.
import crypto from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { firstAttemptKeys } from '../../../chaos/email-checks';
import { EncryptionCodec } from '../../../src/security/payload-codec';
import { failureConverter } from '../../../src/temporal/failure-converter';

const codec = new EncryptionCodec([{ id: 'k1', key: crypto.randomBytes(32) }]);
const KEY = 'c-1/screening/invitation';

/** As core writes it: the marker's data in clear JSON, the result sealed by the codec. */
async function marker(activityType: string, outcome: { result?: unknown; failure?: Error }): Promise<temporal.api.history.v1.IMarkerRecordedEventAttributes> {
  const data = defaultPayloadConverter.toPayload({ seq: 1, attempt: 1, activity_id: '1', activity_type: activityType });
  const details: Record<string, temporal.api.common.v1.IPayloads> = { data: { payloads: [data] } };
  if (outcome.result !== undefined) details.result = { payloads: await codec.encode([defaultPayloadConverter.toPayload(outcome.result)]) };
  const failure = outcome.failure ? failureConverter.errorToFailure(outcome.failure, defaultPayloadConverter) : undefined;
  return { markerName: 'core_local_activity', details, ...(failure ? { failure } : {}) };
}

test('sent and refused-for-good attempts are read from the sealed result, which shows no key in clear text', async () => {
  const m = await marker('projectCourse', { result: { lost: false, firstAttempts: [{ key: KEY, outcome: 'sent' }, { key: `${KEY}-2`, outcome: 'failed' }] } });
  expect(JSON.stringify(m)).not.toContain(KEY);
  expect(await firstAttemptKeys(m, codec)).toEqual([
    { key: KEY, sent: true },
    { key: `${KEY}-2`, sent: false },
  ]);
});

test("an attempt handed to the regular activity is left to it; a projection without emails, a failed one, another activity: nothing", async () => {
  expect(await firstAttemptKeys(await marker('projectCourse', { result: { lost: false, firstAttempts: [{ key: KEY, outcome: 'retry' }] } }), codec)).toEqual([]);
  expect(await firstAttemptKeys(await marker('projectCourse', { result: { lost: false } }), codec)).toBeUndefined();
  expect(await firstAttemptKeys(await marker('projectCourse', { failure: ApplicationFailure.create({ message: 'database unavailable', nonRetryable: true }) }), codec)).toBeUndefined();
  expect(await firstAttemptKeys(await marker('recordAssessments', { result: { firstAttempts: [{ key: KEY, outcome: 'sent' }] } }), codec)).toBeUndefined();
});

test('first attempts the checks cannot read are reported (null), not passed over', async () => {
  expect(await firstAttemptKeys(await marker('projectCourse', { result: { firstAttempts: [{ outcome: 'sent' }] } }), codec)).toBeNull();
  expect(await firstAttemptKeys(await marker('projectCourse', { result: { firstAttempts: [{ key: KEY, outcome: 'maybe' }] } }), codec)).toBeNull();
  expect(await firstAttemptKeys(await marker('projectCourse', { result: { firstAttempts: 'sent' } }), codec)).toBeNull();
});
