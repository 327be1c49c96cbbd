// The action catalogue as workflow code reaches it: loaded on the first action a workflow validates, not
// when the workflow starts. The SDK evaluates every module a workflow imports once per workflow it creates
// (each new course, each course back from outside the worker's cache); zod and the catalogue's schemas
// were the largest part of that (docs/performance.md). Most workflows never validate an action before
// they leave the cache, so they no longer pay for it.
// Names that workflow code needs at load come from the zod-free list (src/domain/actions/names.ts).
import type * as Catalogue from '../../domain/actions/catalogue';

// No module-level cache of our own: the bundle's require caches the module per workflow already.

export function actionCatalogue(): typeof Catalogue {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../domain/actions/catalogue') as typeof Catalogue;
}
