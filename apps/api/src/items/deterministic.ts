/** FNV-1a, 32 bit: a fast, stable hash for split assignment and cold-start order. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A number in [0, 1) fixed by (seed, salt, id): the same item always lands in the same place. */
export function unitHash(seed: number, salt: string, id: string): number {
  return fnv1a(`${seed}:${salt}:${id}`) / 2 ** 32;
}

export function assignSplit(seed: number, externalId: string, holdoutFraction: number): 'pool' | 'holdout' {
  return unitHash(seed, 'split', externalId) < holdoutFraction ? 'holdout' : 'pool';
}

/** Before any model exists the queue is a seeded random order. */
export function coldStartPriority(seed: number, externalId: string): number {
  return unitHash(seed, 'priority', externalId);
}
