// Failures (errors that cross Temporal: an activity's, a workflow's, an Update's) keep their message and
// stack trace in an encrypted payload (`encodedAttributes`, sealed by the payload codec) rather than in
// clear text in history: the server and its Web UI see "Encoded failure". The messages are scrubbed of
// client data besides (src/activities/notify.ts); this is the defence in depth. The type, the
// non-retryable flag and the structure stay readable, so retries and the stuck board work as before.
// One exception: the refusal of a payload not sealed by the engine (src/workflows/refused.ts) goes to
// a caller without the keys, so its fixed message stays readable (and its stack trace is dropped).
// Bundle-safe: loaded into the workflow sandbox too (WorkerOptions.dataConverter.failureConverterPath).
import { ApplicationFailure, DefaultFailureConverter, type FailureConverter } from '@temporalio/common';
import { REFUSED_PAYLOAD_FAILURE } from '../workflows/refused';

const sealed = new DefaultFailureConverter({ encodeCommonAttributes: true });
const readable = new DefaultFailureConverter();

export const failureConverter: FailureConverter = {
  errorToFailure(err, payloadConverter, context) {
    if (err instanceof ApplicationFailure && err.type === REFUSED_PAYLOAD_FAILURE && !err.cause) {
      return { ...readable.errorToFailure(err, payloadConverter, context), stackTrace: '' };
    }
    return sealed.errorToFailure(err, payloadConverter, context);
  },
  failureToError(failure, payloadConverter, context) {
    return sealed.failureToError(failure, payloadConverter, context);
  },
};
