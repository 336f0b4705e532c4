import { type FeatureMatrix, rowDot, rowSquaredNorms } from '../matrix';
import { createRng } from '../random';
import { distanceSpace } from './projection';

/**
 * k-center greedy (Sener & Savarese): repeatedly take the row farthest from everything chosen so far.
 * Starts from `first` (the best-scored candidate when rows are ordered by score) unless `centers` are given,
 * e.g. the already-labeled rows, in which case the first pick is the row farthest from them.
 */
export function kCenterGreedy(
  embeddings: FeatureMatrix,
  k: number,
  options: { first?: number; centers?: number[] } = {},
): number[] {
  const space = distanceSpace(embeddings);
  const n = space.rows;
  const take = Math.min(k, n);
  const norms = rowSquaredNorms(space);
  const minDist = new Float64Array(n).fill(Infinity);
  const chosen: number[] = [];
  const taken = new Uint8Array(n);
  const update = (c: number) => {
    for (let i = 0; i < n; i++) {
      const d = norms[i] + norms[c] - 2 * rowDot(space, i, c);
      if (d < minDist[i]) minDist[i] = d;
    }
  };
  for (const c of options.centers ?? []) update(c);
  if (!options.centers?.length && take > 0) {
    const first = options.first ?? 0;
    chosen.push(first);
    taken[first] = 1;
    update(first);
  }
  while (chosen.length < take) {
    let best = -1;
    for (let i = 0; i < n; i++) if (!taken[i] && (best < 0 || minDist[i] > minDist[best])) best = i;
    chosen.push(best);
    taken[best] = 1;
    update(best);
  }
  return chosen;
}

/** k-means++ seeding: D^2-weighted sampling, so picks spread out but outliers do not dominate like k-center. */
export function kMeansPlusPlus(embeddings: FeatureMatrix, k: number, seed: number): number[] {
  const space = distanceSpace(embeddings);
  const n = space.rows;
  const take = Math.min(k, n);
  if (take === 0) return [];
  const rng = createRng(seed);
  const norms = rowSquaredNorms(space);
  const minDist = new Float64Array(n).fill(Infinity);
  const taken = new Uint8Array(n);
  const chosen = [Math.floor(rng() * n)];
  taken[chosen[0]] = 1;
  while (chosen.length < take) {
    const c = chosen[chosen.length - 1];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = Math.max(0, norms[i] + norms[c] - 2 * rowDot(space, i, c));
      if (d < minDist[i]) minDist[i] = d;
      if (!taken[i]) total += minDist[i];
    }
    let next = -1;
    if (total > 0) {
      let r = rng() * total;
      for (let i = 0; i < n; i++) {
        if (taken[i]) continue;
        r -= minDist[i];
        next = i;
        if (r <= 0) break;
      }
    } else {
      // Every remaining row duplicates a chosen one: any of them will do.
      next = taken.indexOf(0);
    }
    chosen.push(next);
    taken[next] = 1;
  }
  return chosen;
}
