import { hashString } from '@labelloop/ml';

/** A number in [0, 1) fixed by (seed, salt, id): the same item always lands in the same place. */
export function unitHash(seed: number, salt: string, id: string): number {
  return hashString(`${seed}:${salt}:${id}`) / 2 ** 32;
}

export function assignSplit(seed: number, externalId: string, holdoutFraction: number): 'pool' | 'holdout' {
  return unitHash(seed, 'split', externalId) < holdoutFraction ? 'holdout' : 'pool';
}

/** Before any model exists the queue is a seeded random order. */
export function coldStartPriority(seed: number, externalId: string): number {
  return unitHash(seed, 'priority', externalId);
}
