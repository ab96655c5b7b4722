import fc from 'fast-check';

// Default seed of the fuzz tests, so that two runs generate the same inputs unless FUZZ_SEED sets another.
const DEFAULT_SEED = 20_261_205;

/**
 * Base seed of every property in test/fuzz: FUZZ_SEED when set (an integer, or `random` for a new one
 * each run), else DEFAULT_SEED. A failure names it, so `FUZZ_SEED=<seed> npx jest test/fuzz` generates
 * the same inputs again. The servers keep state between requests, so a rerun repeats the inputs but
 * not always every response.
 */
export const FUZZ_SEED = readSeed(process.env.FUZZ_SEED);

function readSeed(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_SEED;
  if (text === 'random') return Math.floor(Math.random() * 0x7fff_ffff);
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`invalid FUZZ_SEED ${JSON.stringify(text)}: expected an integer or 'random'`);
  return seed;
}

/** Seed of one property: the base seed shifted by `offset`, so that properties draw different values. */
export function propertySeed(offset: number): number {
  return (FUZZ_SEED + offset) | 0;
}

/**
 * Runs an asynchronous property with fast-check and rethrows a failure with the FUZZ_SEED that
 * reproduces it in front of fast-check's own report (counterexample, seed and path).
 */
export async function checkProperty<T>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<T>,
  options: { numRuns: number; seedOffset: number; endOnFailure?: boolean },
): Promise<void> {
  try {
    await fc.assert(property, { seed: propertySeed(options.seedOffset), numRuns: options.numRuns, endOnFailure: options.endOnFailure ?? false, includeErrorInReport: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${name} failed; reproduce with FUZZ_SEED=${FUZZ_SEED} npx jest test/fuzz\n${reason}`);
  }
}

/** Draws `count` values from an arbitrary with a seed derived from FUZZ_SEED, the same ones on every run. */
export function sampleValues<T>(arbitrary: fc.Arbitrary<T>, count: number, seedOffset: number): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed: propertySeed(seedOffset) });
}
