import { bald, mcMargin, mcMean, uncertainty } from './acquisition/uncertainty';
import {
  type DenseMatrix,
  denseMatrix,
  disposeInput,
  type FeatureMatrix,
  sliceModelInput,
  sliceRows,
} from './matrix';
import type { Classifier } from './models/classifier';
import { deriveSeed } from './random';
import type { AcquisitionSpec } from './spec';
import { tf } from './tf';

export interface ScoreResult {
  /** n x classes, row-major (for `bald` and `mc_margin`: the mean over the MC passes). */
  probabilities: Float32Array;
  /** Uncertainty per row for the spec's strategy, higher = more worth labeling (zeros for `random`). */
  scores: Float32Array;
  /**
   * Penultimate-layer activations per row, the space batch diversity works in. For a `linear` model that
   * is its input, so the input rows themselves are returned (no copy).
   */
  embeddings: FeatureMatrix;
}

export interface ScoreOptions {
  /** Rows per forward pass; bounds tensor memory (256 is fastest on wasm). */
  chunkSize?: number;
  /** Skip the embeddings when no diversity step follows. */
  embeddings?: boolean;
}

/** Class probabilities for every row, streamed in chunks. */
export function predictProbabilities(
  model: Classifier,
  features: FeatureMatrix,
  chunkSize = 256,
): Float32Array {
  const c = model.shape.numClasses;
  const out = new Float32Array(features.rows * c);
  for (let start = 0; start < features.rows; start += chunkSize) {
    const probs = tf.tidy(() =>
      tf.softmax(model.forward(sliceModelInput(features, start, start + chunkSize)).logits),
    );
    out.set(probs.dataSync() as Float32Array, start * c);
    probs.dispose();
  }
  return out;
}

/**
 * Probabilities, uncertainty scores and embeddings for a batch of rows: what the scorer stores for a pool.
 * Works chunk by chunk so a large pool never sits on the backend at once; call it per page of a stream too.
 */
export function scoreRows(
  model: Classifier,
  features: FeatureMatrix,
  spec: AcquisitionSpec,
  options: ScoreOptions = {},
): ScoreResult {
  const chunkSize = options.chunkSize ?? 256;
  const wantEmbeddings = options.embeddings ?? true;
  const c = model.shape.numClasses;
  const n = features.rows;
  const linear = model.spec.architecture === 'linear';
  const embDim = model.penultimateDim;
  const probabilities = new Float32Array(n * c);
  const embeddings = linear || !wantEmbeddings ? null : new Float32Array(n * embDim);
  const monteCarlo = spec.strategy === 'bald' || spec.strategy === 'mc_margin';
  const mc = monteCarlo ? Array.from({ length: spec.mcPasses }, () => new Float32Array(n * c)) : [];
  if (monteCarlo && !(model.spec.dropout > 0)) {
    throw new Error(
      `strategy "${spec.strategy}" needs a model trained with dropout > 0 (MC dropout has nothing to sample)`,
    );
  }
  for (let start = 0; start < n; start += chunkSize) {
    const end = Math.min(n, start + chunkSize);
    const x = sliceModelInput(features, start, end);
    const det = tf.tidy(() => {
      const { logits, penultimate } = model.forward(x);
      return [tf.softmax(logits), embeddings && penultimate ? penultimate : tf.zeros([0])];
    });
    probabilities.set(det[0].dataSync() as Float32Array, start * c);
    if (embeddings) embeddings.set(det[1].dataSync() as Float32Array, start * embDim);
    tf.dispose(det);
    mc.forEach((sample, t) => {
      const p = tf.tidy(() =>
        tf.softmax(model.forward(x, { dropoutSeed: deriveSeed(spec.seed, t, start) }).logits),
      );
      sample.set(p.dataSync() as Float32Array, start * c);
      p.dispose();
    });
    disposeInput(x);
  }
  let scores: Float32Array;
  if (spec.strategy === 'random') scores = new Float32Array(n);
  else if (spec.strategy === 'bald' || spec.strategy === 'mc_margin') {
    scores = spec.strategy === 'bald' ? bald(mc, c) : mcMargin(mc, c);
    // The MC mean is the better-calibrated prediction when we sampled it anyway.
    probabilities.set(mcMean(mc));
  } else scores = uncertainty(spec.strategy, probabilities, c);
  const emb: FeatureMatrix = embeddings
    ? denseMatrix(n, embDim, embeddings)
    : linear && wantEmbeddings
      ? features
      : denseMatrix(n, 0, new Float32Array(0));
  return { probabilities, scores, embeddings: emb };
}

/** Runs `scoreRows` over a pool page by page and concatenates; `onPage` sees progress. */
export function scorePool(
  model: Classifier,
  features: FeatureMatrix,
  spec: AcquisitionSpec,
  options: ScoreOptions & { pageSize?: number; onPage?: (done: number, total: number) => void } = {},
): ScoreResult {
  const pageSize = options.pageSize ?? 8192;
  if (features.rows <= pageSize) {
    const r = scoreRows(model, features, spec, options);
    options.onPage?.(features.rows, features.rows);
    return r;
  }
  const c = model.shape.numClasses;
  const parts: ScoreResult[] = [];
  for (let start = 0; start < features.rows; start += pageSize) {
    parts.push(
      scoreRows(
        model,
        sliceRows(features, start, start + pageSize),
        { ...spec, seed: deriveSeed(spec.seed, start) },
        options,
      ),
    );
    options.onPage?.(Math.min(features.rows, start + pageSize), features.rows);
  }
  const probabilities = new Float32Array(features.rows * c);
  const scores = new Float32Array(features.rows);
  let offset = 0;
  for (const p of parts) {
    probabilities.set(p.probabilities, offset * c);
    scores.set(p.scores, offset);
    offset += p.scores.length;
  }
  let embeddings: FeatureMatrix = features;
  if (parts[0].embeddings.kind === 'dense' && parts[0].embeddings !== features) {
    const dim = parts[0].embeddings.cols;
    const data = new Float32Array(features.rows * dim);
    let row = 0;
    for (const p of parts) {
      data.set((p.embeddings as DenseMatrix).data, row * dim);
      row += p.embeddings.rows;
    }
    embeddings = denseMatrix(features.rows, dim, data);
  }
  return { probabilities, scores, embeddings };
}
