// The workflow sandbox's stack-trace depth, set once per worker thread. It is the first of the preloaded
// modules (src/worker/bundle.ts), so it runs before the SDK freezes the sandbox's built-ins.
//
// Why: for its `__stack_trace` query the SDK records a stack trace for every promise a workflow creates.
// A V8 promise hook builds an Error, formats each frame and maps it through the bundle's source map. A
// course's activation creates dozens of promises, so with V8's default depth (10) this was about a
// quarter of the workflow thread's busy time in a profile. V8 reads the depth from the Error of the
// sandbox in which the hook builds its Error, so this setting bounds that work and leaves the rest of
// the process alone (activities and the API keep the default).
//
// Measured (docs/performance.md, "A slower machine, one Update at a time, promise stack traces"): 300
// Updates in a row on one course cost 16.8-16.9 ms of process CPU each at depth 10, 15.1-15.5 at 4 and
// 14.8-14.9 at 0.
// Four keeps most of the gain. Each stack the query shows keeps three frames, because the SDK cuts the
// hook's own. That is enough for the query to say where a course waits (`at courseWorkflow
// (src/workflows/course.ts:<line>)`, tested in test/workflows/course-branches.test.ts). Errors thrown in
// workflow code keep four frames.
Error.stackTraceLimit = 4;
export {};
