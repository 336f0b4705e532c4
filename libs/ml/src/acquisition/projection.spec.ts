import { denseMatrix, rowDot, rowSquaredNorms, type SparseMatrix } from '../matrix';
import { createRng } from '../random';
import { kCenterGreedy } from './diversity';
import { distanceSpace, PROJECTED_DIMS } from './projection';

/** Sparse rows like a text model's n-gram features: `nnz` columns of `cols`, tf-idf-like positive values. */
function sparseRows(rows: number, cols: number, nnz: number, seed: number): SparseMatrix {
  const rng = createRng(seed);
  const indptr = new Int32Array(rows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < rows; r++) {
    const picked = new Set<number>();
    while (picked.size < nnz) picked.add(Math.floor(rng() * cols));
    for (const c of [...picked].sort((a, b) => a - b)) {
      indices.push(c);
      values.push(0.5 + rng());
    }
    indptr[r + 1] = indices.length;
  }
  return {
    kind: 'sparse',
    rows,
    cols,
    indptr,
    indices: Int32Array.from(indices),
    values: Float32Array.from(values),
  };
}

const squaredDistance = (m: Parameters<typeof rowDot>[0], norms: Float64Array, i: number, j: number) =>
  norms[i] + norms[j] - 2 * rowDot(m, i, j);

describe('distanceSpace', () => {
  it('leaves dense and narrow rows as they are', () => {
    const dense = denseMatrix(2, 3, Float32Array.from([1, 2, 3, 4, 5, 6]));
    expect(distanceSpace(dense)).toBe(dense);
    const narrow = sparseRows(5, PROJECTED_DIMS * 4, 3, 1);
    expect(distanceSpace(narrow)).toBe(narrow);
  });

  it('projects wide sparse rows to a few dense columns that keep their pairwise distances', () => {
    const wide = sparseRows(60, 65_536, 40, 2);
    const projected = distanceSpace(wide);
    expect(projected).toMatchObject({ kind: 'dense', rows: 60, cols: PROJECTED_DIMS });
    const a = rowSquaredNorms(wide);
    const b = rowSquaredNorms(projected);
    const errors: number[] = [];
    for (let i = 0; i < 60; i++)
      for (let j = i + 1; j < 60; j++) {
        const d = squaredDistance(wide, a, i, j);
        errors.push(Math.abs(squaredDistance(projected, b, i, j) - d) / d);
      }
    errors.sort((x, y) => x - y);
    // Johnson-Lindenstrauss at 64 dimensions: typical relative error ~ sqrt(2/64) = 0.18.
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.2);
    expect(errors[Math.floor(errors.length * 0.95)]).toBeLessThan(0.5);
  });

  it('lets k-center greedy on wide sparse rows still take one row from each far-apart group', () => {
    // Three groups sharing most of their columns within the group and none across groups.
    const groups = [0, 1, 2].map((g) => sparseRows(10, 20_000, 30, 10 + g));
    const rows = 30;
    const indptr = new Int32Array(rows + 1);
    const indices: number[] = [];
    const values: number[] = [];
    groups.forEach((group, g) => {
      for (let r = 0; r < 10; r++) {
        const shared = Array.from({ length: 30 }, (_, k) => g * 20_000 + k * 7);
        const own = Array.from(
          group.indices.subarray(group.indptr[r], group.indptr[r] + 5),
          (c) => g * 20_000 + 300 + (c % 19_000),
        );
        const cols = [...new Set([...shared, ...own])].sort((x, y) => x - y);
        for (const c of cols) {
          indices.push(c);
          values.push(1);
        }
        indptr[g * 10 + r + 1] = indices.length;
      }
    });
    const m: SparseMatrix = {
      kind: 'sparse',
      rows,
      cols: 60_000,
      indptr,
      indices: Int32Array.from(indices),
      values: Float32Array.from(values),
    };
    const picks = kCenterGreedy(m, 3, { first: 0 });
    expect(new Set(picks.map((i) => Math.floor(i / 10)))).toEqual(new Set([0, 1, 2]));
  });
});
