import { createRng, deriveSeed, sampleIndices } from '@labelloop/ml';

// The bench:noise protocol shared by its library run and its --e2e run through the product: the same seeded
// sample, the same flipped labels and the same scores, so the two results compare row for row.

export type NoiseDataset = 'mnist' | 'spam';

export const NOISE_RATE = 0.1;

/** Per dataset: the rows sampled per seed, out of how many, and the classes. */
export const NOISE_DATASETS: Record<NoiseDataset, { n: number; total: number; numClasses: number }> = {
  // MNIST's 60k training images.
  mnist: { n: 5000, total: 60_000, numClasses: 10 },
  // SpamAssassin's 6,046 e-mails.
  spam: { n: 2000, total: 6046, numClasses: 2 },
};

export function noiseDataset(name: string | undefined): NoiseDataset {
  const dataset = name ?? 'mnist';
  if (dataset !== 'mnist' && dataset !== 'spam') throw new Error('--dataset mnist|spam');
  return dataset;
}

/** The seed's sample: positions in the whole dataset. */
export function sampleRows(dataset: NoiseDataset, seed: number): number[] {
  const { total, n } = NOISE_DATASETS[dataset];
  return sampleIndices(total, n, createRng(deriveSeed(seed, 1)));
}

/** NOISE_RATE of the labels flipped (seeded) to a uniformly random other class; `flips` holds their positions. */
export function flipLabels(
  truth: ArrayLike<number>,
  numClasses: number,
  seed: number,
): { noisy: Int32Array; flips: Set<number> } {
  const rng = createRng(deriveSeed(seed, 2));
  const noisy = Int32Array.from(truth);
  const flips = new Set(sampleIndices(truth.length, Math.round(truth.length * NOISE_RATE), rng));
  for (const i of flips) noisy[i] = (truth[i] + 1 + Math.floor(rng() * (numClasses - 1))) % numClasses;
  return { noisy, flips };
}

export interface Scores {
  precision_at_k: number;
  recall_at_2k: number;
  auroc: number;
}

/** The scores of a ranking, most suspicious first: `isFlip[r]` says whether row r's label was flipped. */
export function scoreRanking(isFlip: boolean[], flipped: number): Scores {
  const k = flipped;
  return {
    precision_at_k: isFlip.slice(0, k).filter(Boolean).length / k,
    recall_at_2k: isFlip.slice(0, 2 * k).filter(Boolean).length / k,
    auroc: aurocFromRanking(isFlip),
  };
}

/** AUROC of a ranking (most suspicious first) against positives, by the Mann-Whitney count. */
function aurocFromRanking(isPositive: boolean[]): number {
  let negativesBelow = 0;
  let pairs = 0;
  const positives = isPositive.filter(Boolean).length;
  const negatives = isPositive.length - positives;
  for (let i = isPositive.length - 1; i >= 0; i--) {
    if (isPositive[i]) pairs += negativesBelow;
    else negativesBelow++;
  }
  return positives && negatives ? pairs / (positives * negatives) : 0;
}
