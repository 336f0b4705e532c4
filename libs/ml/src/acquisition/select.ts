import { type FeatureMatrix, takeRows } from '../matrix';
import { createRng, deriveSeed, sampleIndices } from '../random';
import type { AcquisitionSpec } from '../spec';
import { kCenterGreedy, kMeansPlusPlus } from './diversity';

export interface SelectInput {
  /** Uncertainty per pool row (from `scoreRows`), higher first. Ignored by `random`. */
  scores: Float32Array;
  /** Penultimate-layer rows aligned with `scores`; needed when `spec.diversity` is on. */
  embeddings?: FeatureMatrix;
  /** Class probabilities aligned with `scores` (n x classes, from `scoreRows`); needed by `spec.classBalanced`. */
  probabilities?: Float32Array;
  batchSize: number;
  spec: AcquisitionSpec;
}

/**
 * Pool row indices to label next. Uncertainty strategies take the top `batchSize x candidateMultiplier`
 * rows by score and, with diversity on, pick the batch among them by k-center greedy (starting from the
 * best-scored row) or k-means++, so a batch is not many near-copies of one confusing item. With
 * `classBalanced`, that top list is dealt round-robin over the predicted classes first (`balancedOrder`).
 */
export function selectBatch(input: SelectInput): number[] {
  const { scores, batchSize, spec } = input;
  const n = scores.length;
  if (spec.strategy === 'random') return sampleIndices(n, batchSize, createRng(deriveSeed(spec.seed, 7)));
  const want = spec.diversity ? Math.ceil(batchSize * spec.candidateMultiplier) : batchSize;
  let order: number[];
  if (spec.classBalanced) {
    if (!input.probabilities || input.probabilities.length % n !== 0 || input.probabilities.length === 0) {
      throw new Error('classBalanced needs probabilities with one row per score (from scoreRows)');
    }
    order = balancedOrder(scores, input.probabilities, input.probabilities.length / n).slice(0, want);
  } else order = topIndices(scores, want);
  if (!spec.diversity || order.length <= batchSize) return order.slice(0, batchSize);
  if (!input.embeddings || input.embeddings.rows !== n) {
    throw new Error('diversity needs embeddings with one row per score (from scoreRows)');
  }
  const candidates = takeRows(input.embeddings, order);
  const picked =
    spec.diversityMethod === 'k_center'
      ? kCenterGreedy(candidates, batchSize, { first: 0 })
      : kMeansPlusPlus(candidates, batchSize, deriveSeed(spec.seed, 8));
  return picked.map((i) => order[i]);
}

/**
 * Cold start, before any model exists: a seeded k-means++ sample over (a seeded subsample of) the pool's
 * features, so the first labels cover the data instead of its densest region.
 */
export function coldStart(
  features: FeatureMatrix,
  batchSize: number,
  seed: number,
  maxRows = 5000,
): number[] {
  const rows =
    features.rows <= maxRows ? null : sampleIndices(features.rows, maxRows, createRng(deriveSeed(seed, 9)));
  const space = rows ? takeRows(features, rows) : features;
  const picked = kMeansPlusPlus(space, batchSize, deriveSeed(seed, 10));
  return rows ? picked.map((i) => rows[i]) : picked;
}

/**
 * Every row, dealt round-robin over the predicted (argmax) classes, each class's rows most uncertain first: the
 * first k rows hold about k / classes of each predicted class, and a class with too few rows leaves its turns
 * to the others.
 */
export function balancedOrder(
  scores: Float32Array,
  probabilities: Float32Array,
  numClasses: number,
): number[] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (const i of topIndices(scores, scores.length)) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) {
      if (probabilities[i * numClasses + c] > probabilities[i * numClasses + best]) best = c;
    }
    byClass[best].push(i);
  }
  const out: number[] = [];
  for (let rank = 0; out.length < scores.length; rank++) {
    for (const rows of byClass) if (rank < rows.length) out.push(rows[rank]);
  }
  return out;
}

/** Indices of the k largest scores, largest first (ties: lower index first). */
export function topIndices(scores: Float32Array, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, Math.min(k, scores.length));
}
