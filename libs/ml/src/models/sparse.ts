import type { SparseMatrix } from '../matrix';
import { tf } from '../tf';

/**
 * x @ w for sparse rows (text: ~3k non-zeros out of up to 65k columns). Densifying such a batch costs far more
 * than the product, so the forward pass and the weight gradient run in JS over the non-zeros. A large w is
 * touched only in the rows the batch uses (gathered once, scattered back as the gradient); a small one (up to
 * 4M values, e.g. a linear model's) is read whole and gets a dense gradient, which skips the row mapping.
 */
export function sparseMatMul(x: SparseMatrix, w: tf.Tensor2D): tf.Tensor2D {
  if (x.cols !== w.shape[0])
    throw new Error(`sparse rows have ${x.cols} columns, weights expect ${w.shape[0]}`);
  const op = tf.customGrad((wt, save) => {
    const weights = wt as tf.Tensor2D;
    (save as tf.GradSaveFunc)([]);
    const units = weights.shape[1];
    const { rows, indptr, indices, values } = x;
    // Small weight matrices are cheaper to read whole (and to return a dense gradient for) than to gather.
    const whole = x.cols * units <= 1 << 22;
    let used: Int32Array | null = null;
    let local: Int32Array = indices;
    let ws: Float32Array;
    if (whole) ws = weights.dataSync() as Float32Array;
    else {
      const slotOf = new Int32Array(x.cols).fill(-1);
      local = new Int32Array(indices.length);
      let count = 0;
      for (let p = 0; p < indices.length; p++) {
        const col = indices[p];
        if (slotOf[col] < 0) slotOf[col] = count++;
        local[p] = slotOf[col];
      }
      used = new Int32Array(count);
      for (let p = 0; p < indices.length; p++) used[local[p]] = indices[p];
      const sub = tf.tidy(() => tf.gather(weights, tf.tensor1d(used!, 'int32')));
      ws = sub.dataSync() as Float32Array;
      sub.dispose();
    }
    const out = new Float32Array(rows * units);
    for (let r = 0; r < rows; r++) {
      const o = r * units;
      for (let p = indptr[r]; p < indptr[r + 1]; p++) {
        const v = values[p];
        const base = local[p] * units;
        for (let k = 0; k < units; k++) out[o + k] += v * ws[base + k];
      }
    }
    return {
      value: tf.tensor2d(out, [rows, units]),
      gradFunc: (dy) => {
        const g = (dy as tf.Tensor).dataSync() as Float32Array;
        // Whole: the gradient of every row of w (untouched rows stay 0); else of the used rows only.
        const dsub = new Float32Array((used ? used.length : x.cols) * units);
        for (let r = 0; r < rows; r++) {
          const o = r * units;
          for (let p = indptr[r]; p < indptr[r + 1]; p++) {
            const v = values[p];
            const base = local[p] * units;
            for (let k = 0; k < units; k++) dsub[base + k] += v * g[o + k];
          }
        }
        if (!used) return tf.tensor2d(dsub, weights.shape);
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
  // createRng(seed)'s mulberry32 stream, inlined: one draw per stored value is the hot loop of a linear model.
  let state = seed >>> 0;
  const keep = 1 / (1 - rate);
  const source = x.values;
  const values = new Float32Array(source.length);
  for (let p = 0; p < values.length; p++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[p] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 < rate ? 0 : source[p] * keep;
  }
  return { ...x, values };
}
