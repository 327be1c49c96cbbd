// The action catalogue as workflow code reaches it: loaded on the first action any workflow of this
// worker validates, then kept for every later one.
//
// The SDK evaluates every module a workflow imports once per workflow it creates (each new course, each
// course back from outside the worker's cache), except the modules the worker preloads
// (src/worker/bundle.ts PRELOAD_MODULES), which it evaluates once and deep-freezes. zod and the
// catalogue's schemas cannot be preloaded: zod installs parts of each schema on first use, which a frozen
// object refuses. So this module is preloaded and the catalogue is not: the first workflow that validates
// an action evaluates the catalogue (and zod) in its own module cache, and `loaded` keeps the result for
// the others. Nothing freezes it, so zod's first-use parts install as they do in the API.
//
// What is kept is pure: the schemas and the functions that parse with them (src/domain/README.md). A
// parse's result depends on its input only, never on which workflow built the schema, so a course replays
// the same whether or not the catalogue was already loaded. It cost each course about 8.5 ms of the
// workflow thread on its first action, and again on every replay after an eviction (docs/performance.md).
// Names that workflow code needs at load come from the zod-free list (src/domain/actions/names.ts).
import type * as Catalogue from '../../domain/actions/catalogue';

let loaded: typeof Catalogue | undefined;

export function actionCatalogue(): typeof Catalogue {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('../../domain/actions/catalogue') as typeof Catalogue);
}
