import { deriveSeed, hashString } from '../random';

/** Keeps the random strategy's order apart from other hashes of the same seed and key. */
const RANDOM_ORDER_SALT = 7;

/**
 * The `random` strategy's acquisition score of an item: a uniform value in [0, 1) fixed by the seed and the item's
 * key. Ranked by it, the top N of whatever was scored is a uniform random sample, whatever order the items came
 * in; and an item keeps its score from pass to pass, so a ranking pass does not replace the queue with a fresh
 * draw each time.
 */
export function randomScore(seed: number, key: string): number {
  return deriveSeed(seed, RANDOM_ORDER_SALT, hashString(key)) / 2 ** 31;
}
