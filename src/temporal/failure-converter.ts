// Failures (errors that cross Temporal: an activity's, a workflow's, an Update's) keep their message and
// stack trace in an encrypted payload (`encodedAttributes`, sealed by the payload codec) rather than in
// clear text in history: the server and its Web UI see "Encoded failure". The messages are scrubbed of
// client data besides (src/activities/notify.ts); this is the defence in depth. The type, the
// non-retryable flag and the structure stay readable, so retries and the stuck board work as before.
// Bundle-safe: loaded into the workflow sandbox too (WorkerOptions.dataConverter.failureConverterPath).
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
