// What the course worker's workflow bundle is built from. No Node dependencies beyond require.resolve, so
// the workflow tests and the replay test bundle exactly as the worker does.
export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Failure messages and stack traces go to history encrypted (src/temporal/failure-converter.ts); give it to bundleWorkflowCode too. */
export const FAILURE_CONVERTER_PATH = require.resolve('../temporal/failure-converter');

/**
 * Modules the workflow bundle evaluates once per worker instead of once per workflow. The SDK's reusable V8
 * context re-evaluates every module a workflow imports for each workflow it creates (a new course, a course
 * back from outside the cache, an assessment): with zod and the action catalogue's schemas that was most of
 * a workflow's start-up cost (docs/performance.md). These are the pure domain rules (src/domain/README.md:
 * no state, no I/O, nothing that differs between workflows). The SDK deep-freezes them, so a module that
 * kept per-workflow state would throw rather than leak; the workflow and replay tests bundle with the same
 * list. Not zod, nor anything that builds zod schemas at load: zod sets its global config and installs
 * parts of each schema type on first use, which a frozen module refuses ("object is not extensible"). The
 * action catalogue builds each schema on first use instead (src/domain/actions/catalogue.ts), and
 * src/workflows/machine/catalogue.ts keeps it for every workflow once one has loaded it.
 */
export const PRELOAD_MODULES: readonly string[] = [
  require.resolve('../workflows/stack-trace-limit'),
  // Holds the action catalogue once the first workflow has loaded it (it is not preloaded: zod).
  require.resolve('../workflows/machine/catalogue'),
  ...['actions/names', 'instruments/registry', 'instruments/validate', 'plan-course', 'protocol-move', 'rules/booster', 'rules/decision', 'rules/discharge-readiness', 'rules/eligibility', 'rules/pre-dose-check', 'rules/suicide-risk', 'time'].map((m) => require.resolve(`../domain/${m}`)),
];

/** What the course worker's bundle is built from; tests that bundle the workflows themselves use the same. */
export const WORKFLOW_BUNDLE_OPTIONS = { workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, preloadModules: [...PRELOAD_MODULES] };

