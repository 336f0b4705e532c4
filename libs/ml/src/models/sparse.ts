import type { SparseMatrix } from '../matrix';
import { createRng } from '../random';
import { tf } from '../tf';

/**
 * x @ w for sparse rows (hashed text: ~4k non-zeros out of 65k columns). Densifying such a batch costs far more
 * than the product, so the forward pass and the weight gradient run in JS over the non-zeros, touching only the
 * rows of w that the batch uses (gathered once, scattered back as the gradient).
 */
export function sparseMatMul(x: SparseMatrix, w: tf.Tensor2D): tf.Tensor2D {
  if (x.cols !== w.shape[0])
    throw new Error(`sparse rows have ${x.cols} columns, weights expect ${w.shape[0]}`);
  const op = tf.customGrad((wt, save) => {
    const weights = wt as tf.Tensor2D;
    (save as tf.GradSaveFunc)([]);
    const units = weights.shape[1];
    const slotOf = new Int32Array(x.cols).fill(-1);
    const local = new Int32Array(x.indices.length);
    let count = 0;
    for (let p = 0; p < x.indices.length; p++) {
      const col = x.indices[p];
      if (slotOf[col] < 0) slotOf[col] = count++;
      local[p] = slotOf[col];
    }
    const used = new Int32Array(count);
    for (let p = 0; p < x.indices.length; p++) used[local[p]] = x.indices[p];
    // Small weight matrices are cheaper to read whole than to gather.
    const whole = x.cols * units <= 1 << 22;
    let ws: Float32Array;
    if (whole) ws = weights.dataSync() as Float32Array;
    else {
      const sub = tf.tidy(() => tf.gather(weights, tf.tensor1d(used, 'int32')));
      ws = sub.dataSync() as Float32Array;
      sub.dispose();
    }
    const out = new Float32Array(x.rows * units);
    for (let r = 0; r < x.rows; r++) {
      for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) {
        const v = x.values[p];
        const base = (whole ? x.indices[p] : local[p]) * units;
        for (let k = 0; k < units; k++) out[r * units + k] += v * ws[base + k];
      }
    }
    return {
      value: tf.tensor2d(out, [x.rows, units]),
      gradFunc: (dy) => {
        const g = (dy as tf.Tensor).dataSync() as Float32Array;
        const dsub = new Float32Array(used.length * units);
        for (let r = 0; r < x.rows; r++) {
          for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) {
            const v = x.values[p];
            const base = local[p] * units;
            for (let k = 0; k < units; k++) dsub[base + k] += v * g[r * units + k];
          }
        }
        return tf.scatterND(
          tf.tensor2d(used, [used.length, 1], 'int32'),
          tf.tensor2d(dsub, [used.length, units]),
          weights.shape,
        );
      },
    };
  }) as unknown as (w: tf.Tensor) => tf.Tensor2D;
  return op(w);
}

/** Inverted dropout on the stored values of sparse rows (zeros stay zero), seeded. */
export function sparseDropout(x: SparseMatrix, rate: number, seed: number): SparseMatrix {
  const rng = createRng(seed);
  const keep = 1 / (1 - rate);
  const values = new Float32Array(x.values.length);
  for (let p = 0; p < values.length; p++) values[p] = rng() < rate ? 0 : x.values[p] * keep;
  return { ...x, values };
}
