import { type DenseMatrix, denseMatrix } from './matrix';
import { createRng } from './random';

/** Test fixture: well-separated Gaussian blobs, one per class, seeded. */
export function blobs(perClass: number, numClasses: number, dim: number, seed: number, spread = 0.5) {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centers = Array.from({ length: numClasses }, () => Array.from({ length: dim }, () => gauss() * 3));
  const n = perClass * numClasses;
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % numClasses;
    for (let d = 0; d < dim; d++) data[i * dim + d] = centers[labels[i]][d] + gauss() * spread;
  }
  return { features: denseMatrix(n, dim, data) as DenseMatrix, labels };
}
