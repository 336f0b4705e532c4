import type { Strategy } from '../spec';

/**
 * Uncertainty scores from class probabilities (row-major n x classes). Higher means more worth labeling,
 * for every strategy, so callers can always rank descending.
 */

export function leastConfidence(probs: Float32Array, numClasses: number): Float32Array {
  const n = probs.length / numClasses;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, probs[i * numClasses + c]);
    out[i] = 1 - max;
  }
  return out;
}

/** 1 - (p_top1 - p_top2): 1 when the two best classes tie, 0 when the model is certain. */
export function margin(probs: Float32Array, numClasses: number): Float32Array {
  const n = probs.length / numClasses;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let a = -Infinity;
    let b = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const p = probs[i * numClasses + c];
      if (p > a) {
        b = a;
        a = p;
      } else if (p > b) b = p;
    }
    out[i] = 1 - (a - (numClasses > 1 ? b : 0));
  }
  return out;
}

/** Shannon entropy in nats. */
export function entropy(probs: Float32Array, numClasses: number): Float32Array {
  const n = probs.length / numClasses;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rowEntropy(probs, i * numClasses, numClasses);
  return out;
}

/**
 * BALD (mutual information between prediction and weights) from T MC-dropout passes, each n x classes:
 * H(mean_t p_t) - mean_t H(p_t). Zero when all passes agree.
 */
export function bald(samples: Float32Array[], numClasses: number): Float32Array {
  if (samples.length === 0) throw new Error('bald needs at least one MC sample');
  const n = samples[0].length / numClasses;
  const t = samples.length;
  const out = new Float32Array(n);
  const mean = new Float32Array(numClasses);
  for (let i = 0; i < n; i++) {
    mean.fill(0);
    let expected = 0;
    for (const s of samples) {
      for (let c = 0; c < numClasses; c++) mean[c] += s[i * numClasses + c] / t;
      expected += rowEntropy(s, i * numClasses, numClasses) / t;
    }
    out[i] = Math.max(0, rowEntropy(mean, 0, numClasses) - expected);
  }
  return out;
}

/** Mean of T MC-dropout passes (each n x classes): the better-calibrated prediction of a dropout model. */
export function mcMean(samples: Float32Array[]): Float32Array {
  if (samples.length === 0) throw new Error('an MC mean needs at least one sample');
  const out = new Float32Array(samples[0].length);
  for (const s of samples) for (let i = 0; i < s.length; i++) out[i] += s[i] / samples.length;
  return out;
}

/**
 * `mc_margin`: margin of the MC-dropout mean instead of the single deterministic pass. A lightly trained
 * high-dimensional model is overconfident on rows it has few features for; averaging dropout passes pulls
 * those towards the boundary, so the score ranks by how close the row is to the boundary the model is
 * actually sure of.
 */
export function mcMargin(samples: Float32Array[], numClasses: number): Float32Array {
  return margin(mcMean(samples), numClasses);
}

/** Scores for a probability-based strategy (MC strategies need samples: `bald`, `mcMargin`; `random` has none). */
export function uncertainty(
  strategy: Exclude<Strategy, 'bald' | 'mc_margin' | 'random'>,
  probs: Float32Array,
  numClasses: number,
) {
  switch (strategy) {
    case 'least_confidence':
      return leastConfidence(probs, numClasses);
    case 'margin':
      return margin(probs, numClasses);
    case 'entropy':
      return entropy(probs, numClasses);
  }
}

function rowEntropy(p: ArrayLike<number>, offset: number, numClasses: number): number {
  let h = 0;
  for (let c = 0; c < numClasses; c++) {
    const v = p[offset + c];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}
