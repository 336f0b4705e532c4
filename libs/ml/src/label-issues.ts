import { type FeatureMatrix, takeRows } from './matrix';
import { createRng, deriveSeed, shuffleInPlace } from './random';
import { predictProbabilities } from './scoring';
import type { ModelSpec } from './spec';
import { trainClassifier } from './train';

export interface OutOfSampleInput {
  features: FeatureMatrix;
  labels: ArrayLike<number>;
  numClasses: number;
  spec: ModelSpec;
  imageShape?: [number, number, number];
  /** Number of folds (5 by default). */
  folds?: number;
  /** Repeat the k-fold with different splits and average: steadier probabilities for k x repeats trainings. */
  repeats?: number;
  seed?: number;
  onFold?: (fold: number, folds: number) => void;
}

/**
 * Predicted probabilities for every row from a model that never saw that row: stratified k-fold, one model per
 * fold. A model scoring its own training rows would agree with their (possibly wrong) labels.
 */
export async function outOfSampleProbabilities(input: OutOfSampleInput): Promise<Float32Array> {
  const { features, labels, numClasses } = input;
  const k = input.folds ?? 5;
  const repeats = input.repeats ?? 1;
  if (k < 2) throw new Error('k-fold needs at least 2 folds');
  const seed = input.seed ?? input.spec.seed;
  const out = new Float32Array(features.rows * numClasses);
  for (let rep = 0; rep < repeats; rep++) {
    const fold = stratifiedFolds(labels, numClasses, k, rep === 0 ? seed : deriveSeed(seed, 200 + rep));
    for (let f = 0; f < k; f++) {
      const trainRows: number[] = [];
      const testRows: number[] = [];
      for (let i = 0; i < features.rows; i++) (fold[i] === f ? testRows : trainRows).push(i);
      const { model } = await trainClassifier({
        features: takeRows(features, trainRows),
        labels: trainRows.map((i) => labels[i]),
        numClasses,
        spec: {
          ...input.spec,
          seed: rep === 0 ? deriveSeed(input.spec.seed, 100 + f) : deriveSeed(input.spec.seed, 100 + f, rep),
        },
        imageShape: input.imageShape,
      });
      const probs = predictProbabilities(model, takeRows(features, testRows));
      model.dispose();
      testRows.forEach((row, j) => {
        for (let c = 0; c < numClasses; c++) out[row * numClasses + c] += probs[j * numClasses + c] / repeats;
      });
      input.onFold?.(rep * k + f + 1, repeats * k);
    }
  }
  return out;
}

/** Fold index per row; each class is dealt round-robin over the folds after a seeded shuffle. */
export function stratifiedFolds(
  labels: ArrayLike<number>,
  numClasses: number,
  k: number,
  seed: number,
): Int32Array {
  const rng = createRng(deriveSeed(seed, 11));
  const fold = new Int32Array(labels.length);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  let next = 0;
  for (const rows of byClass) {
    for (const row of shuffleInPlace(rows, rng)) fold[row] = next++ % k;
  }
  return fold;
}

export type IssueRanking = 'self_confidence' | 'normalized_margin';

export interface LabelIssue {
  index: number;
  givenLabel: number;
  /** The class confident learning assigns (or, when not flagged, the most likely other class). */
  suggestedLabel: number;
  /** p(given label). */
  selfConfidence: number;
  /** p(given) - max over other classes p(other), in [-1, 1]. */
  normalizedMargin: number;
  /** True when some other class clears its per-class threshold and beats the given one (confident joint). */
  flagged: boolean;
}

export interface LabelIssueReport {
  /** Every row, most suspicious first by the ranking score (flagged rows first when `flaggedFirst`). */
  ranked: LabelIssue[];
  /** Per-class threshold t_j = mean p_j over rows labeled j. */
  thresholds: number[];
  flaggedCount: number;
}

/**
 * Confident-learning style label-issue detection (Northcutt et al.) from out-of-sample probabilities.
 * Row i labeled y is flagged when the best class j among those with p_ij >= t_j is not y.
 */
export function findLabelIssues(
  probs: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
  options: { rankBy?: IssueRanking; flaggedFirst?: boolean } = {},
): LabelIssueReport {
  const n = labels.length;
  if (probs.length !== n * numClasses)
    throw new Error(`expected ${n * numClasses} probabilities, got ${probs.length}`);
  const rankBy = options.rankBy ?? 'self_confidence';
  const flaggedFirst = options.flaggedFirst ?? false;
  const sums = new Float64Array(numClasses);
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    sums[labels[i]] += probs[i * numClasses + labels[i]];
    counts[labels[i]]++;
  }
  const thresholds = Array.from(sums, (s, c) => (counts[c] > 0 ? s / counts[c] : 1));
  const issues: LabelIssue[] = [];
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const row = probs.subarray(i * numClasses, (i + 1) * numClasses);
    let confident = -1;
    let other = -1;
    for (let c = 0; c < numClasses; c++) {
      if (row[c] >= thresholds[c] && (confident < 0 || row[c] > row[confident])) confident = c;
      if (c !== y && (other < 0 || row[c] > row[other])) other = c;
    }
    const flagged = confident >= 0 && confident !== y;
    issues.push({
      index: i,
      givenLabel: y,
      suggestedLabel: flagged ? confident : other,
      selfConfidence: row[y],
      normalizedMargin: row[y] - (other >= 0 ? row[other] : 0),
      flagged,
    });
  }
  const key = (issue: LabelIssue) =>
    rankBy === 'self_confidence' ? issue.selfConfidence : issue.normalizedMargin;
  const group = (issue: LabelIssue) => (flaggedFirst && issue.flagged ? 0 : 1);
  issues.sort((a, b) => group(a) - group(b) || key(a) - key(b) || a.index - b.index);
  return { ranked: issues, thresholds, flaggedCount: issues.filter((x) => x.flagged).length };
}
