import { tf } from './tf';

/** Row-major dense feature rows (images, tabular, embeddings). */
export interface DenseMatrix {
  kind: 'dense';
  rows: number;
  cols: number;
  data: Float32Array<ArrayBufferLike>;
}

/** CSR rows for high-dimensional sparse features (hashed text). */
export interface SparseMatrix {
  kind: 'sparse';
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export type FeatureMatrix = DenseMatrix | SparseMatrix;

export function denseMatrix(
  rows: number,
  cols: number,
  data: Float32Array<ArrayBufferLike> = new Float32Array(rows * cols),
): DenseMatrix {
  if (data.length !== rows * cols)
    throw new Error(`dense matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  return { kind: 'dense', rows, cols, data };
}

export function rowRange(count: number, start = 0): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** A new matrix holding the given rows, in the given order. */
export function takeRows(m: FeatureMatrix, rows: ArrayLike<number>): FeatureMatrix {
  const n = rows.length;
  if (m.kind === 'dense') {
    const out = new Float32Array(n * m.cols);
    for (let r = 0; r < n; r++)
      out.set(m.data.subarray(rows[r] * m.cols, (rows[r] + 1) * m.cols), r * m.cols);
    return denseMatrix(n, m.cols, out);
  }
  const indptr = new Int32Array(n + 1);
  let nnz = 0;
  for (let r = 0; r < n; r++) {
    nnz += m.indptr[rows[r] + 1] - m.indptr[rows[r]];
    indptr[r + 1] = nnz;
  }
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  for (let r = 0; r < n; r++) {
    const a = m.indptr[rows[r]];
    const b = m.indptr[rows[r] + 1];
    indices.set(m.indices.subarray(a, b), indptr[r]);
    values.set(m.values.subarray(a, b), indptr[r]);
  }
  return { kind: 'sparse', rows: n, cols: m.cols, indptr, indices, values };
}

export function sliceRows(m: FeatureMatrix, start: number, end: number): FeatureMatrix {
  const e = Math.min(end, m.rows);
  if (m.kind === 'dense') return denseMatrix(e - start, m.cols, m.data.subarray(start * m.cols, e * m.cols));
  return takeRows(m, rowRange(e - start, start));
}

/** Densifies the given rows into a [rows, cols] tensor; sparse rows are only ever densified one batch at a time. */
export function rowsToTensor(m: FeatureMatrix, rows: ArrayLike<number>): tf.Tensor2D {
  const n = rows.length;
  const out = new Float32Array(n * m.cols);
  if (m.kind === 'dense') {
    for (let r = 0; r < n; r++)
      out.set(m.data.subarray(rows[r] * m.cols, (rows[r] + 1) * m.cols), r * m.cols);
  } else {
    for (let r = 0; r < n; r++) {
      for (let p = m.indptr[rows[r]]; p < m.indptr[rows[r] + 1]; p++)
        out[r * m.cols + m.indices[p]] = m.values[p];
    }
  }
  return tf.tensor2d(out, [n, m.cols]);
}

export function sliceToTensor(m: FeatureMatrix, start: number, end: number): tf.Tensor2D {
  if (m.kind === 'dense') {
    const e = Math.min(end, m.rows);
    return tf.tensor2d(m.data.slice(start * m.cols, e * m.cols), [e - start, m.cols]);
  }
  return rowsToTensor(m, rowRange(Math.min(end, m.rows) - start, start));
}

export function rowSquaredNorms(m: FeatureMatrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    if (m.kind === 'dense') {
      for (let c = r * m.cols; c < (r + 1) * m.cols; c++) s += m.data[c] * m.data[c];
    } else {
      for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) s += m.values[p] * m.values[p];
    }
    out[r] = s;
  }
  return out;
}

/** Dot product of row i with row j of the same matrix (sparse rows are sorted by column). */
export function rowDot(m: FeatureMatrix, i: number, j: number): number {
  let s = 0;
  if (m.kind === 'dense') {
    const a = i * m.cols;
    const b = j * m.cols;
    for (let c = 0; c < m.cols; c++) s += m.data[a + c] * m.data[b + c];
    return s;
  }
  let p = m.indptr[i];
  let q = m.indptr[j];
  const pe = m.indptr[i + 1];
  const qe = m.indptr[j + 1];
  while (p < pe && q < qe) {
    const ci = m.indices[p];
    const cj = m.indices[q];
    if (ci === cj) s += m.values[p++] * m.values[q++];
    else if (ci < cj) p++;
    else q++;
  }
  return s;
}

/** What a model consumes for the given rows: a dense tensor, or the sparse rows themselves (see Classifier.forward). */
export function modelInput(m: FeatureMatrix, rows: ArrayLike<number>): tf.Tensor2D | SparseMatrix {
  return m.kind === 'dense' ? rowsToTensor(m, rows) : (takeRows(m, rows) as SparseMatrix);
}

export function sliceModelInput(m: FeatureMatrix, start: number, end: number): tf.Tensor2D | SparseMatrix {
  return m.kind === 'dense' ? sliceToTensor(m, start, end) : (sliceRows(m, start, end) as SparseMatrix);
}

export function disposeInput(x: tf.Tensor2D | SparseMatrix): void {
  if (x instanceof tf.Tensor) x.dispose();
}
