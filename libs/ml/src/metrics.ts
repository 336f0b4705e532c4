export interface Metrics {
  n: number;
  accuracy: number;
  macroF1: number;
  perClassRecall: (number | null)[];
  /** Expected calibration error of the top-class confidence, equal-width bins. */
  ece: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export function argmaxRows(probs: Float32Array, numClasses: number): Int32Array {
  const n = probs.length / numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++)
      if (probs[i * numClasses + c] > probs[i * numClasses + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Metrics of predicted probabilities (n x classes) against true class indices. */
export function evaluate(
  probs: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
  bins = 15,
): Metrics {
  const n = labels.length;
  if (probs.length !== n * numClasses)
    throw new Error(`expected ${n * numClasses} probabilities, got ${probs.length}`);
  const pred = argmaxRows(probs, numClasses);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const binCount = new Float64Array(bins);
  const binConf = new Float64Array(bins);
  const binCorrect = new Float64Array(bins);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[labels[i]][pred[i]]++;
    const ok = pred[i] === labels[i] ? 1 : 0;
    correct += ok;
    const conf = probs[i * numClasses + pred[i]];
    const b = Math.min(bins - 1, Math.floor(conf * bins));
    binCount[b]++;
    binConf[b] += conf;
    binCorrect[b] += ok;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++)
    if (binCount[b] > 0) ece += Math.abs(binConf[b] - binCorrect[b]) / Math.max(n, 1);
  const perClassRecall: (number | null)[] = [];
  let f1Sum = 0;
  for (let c = 0; c < numClasses; c++) {
    const tp = confusion[c][c];
    const actual = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    perClassRecall.push(actual > 0 ? tp / actual : null);
    f1Sum += actual + predicted > 0 ? (2 * tp) / (actual + predicted) : 0;
  }
  return {
    n,
    accuracy: n > 0 ? correct / n : 0,
    macroF1: f1Sum / numClasses,
    perClassRecall,
    ece,
    confusion,
  };
}
