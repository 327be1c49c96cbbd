// Seeded helpers for property tests: same seed, same cases, so failures replay.
import { mulberry32 } from '../../../src/prng';

export { mulberry32 };

export function randomInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** Run `body` for `runs` cases, each with its own seeded generator; the failing seed is in the message. */
export function forAll(runs: number, body: (rand: () => number, seed: number) => void, baseSeed = 20240601): void {
  for (let i = 0; i < runs; i++) {
    const seed = baseSeed + i;
    try {
      body(mulberry32(seed), seed);
    } catch (err) {
      throw new Error(`property failed for seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
