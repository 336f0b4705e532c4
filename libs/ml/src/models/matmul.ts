import { tf } from '../tf';

/**
 * x @ w for dense layers. On the wasm backend tfjs runs transposed matMuls (which the default matMul gradient
 * uses) and `transpose` itself through slow generic paths, about 10x slower than a plain matMul, so there the
 * gradient transposes the operands in JS (a memcpy-priced read on wasm) and uses plain matMuls only.
 * Elsewhere the stock op is used: reading tensors back would stall GPU backends.
 */
export function denseMatMul(x: tf.Tensor2D, w: tf.Tensor2D, inputNeedsGrad: boolean): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(x, w);
  return (inputNeedsGrad ? wasmMatMul : wasmMatMulNoInputGrad)(x, w) as tf.Tensor2D;
}

type MatMul = (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

const wasmMatMul: MatMul = tf.customGrad((x, w, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [sx, sw] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, transposeJs(sw)), tf.matMul(transposeJs(sx), dy as tf.Tensor2D)];
    },
  };
}) as unknown as MatMul;

// The first layer's input is data, not a parameter: skip the (largest) input gradient.
const wasmMatMulNoInputGrad: MatMul = tf.customGrad((x, w, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [sx] = saved as tf.Tensor2D[];
      return [tf.zerosLike(sx), tf.matMul(transposeJs(sx), dy as tf.Tensor2D)];
    },
  };
}) as unknown as MatMul;

function transposeJs(t: tf.Tensor2D): tf.Tensor2D {
  const [rows, cols] = t.shape;
  const src = t.dataSync() as Float32Array;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
  }
  return tf.tensor2d(out, [cols, rows]);
}
