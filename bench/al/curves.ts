import type { Curve } from '../ml-support/plot';

/** One active-learning run: test accuracy after each round, at the labels it had then. */
export interface Run {
  labels: number[];
  accuracy: number[];
}

/** The rule for a default strategy: never more than this below random at any round past GAP_AFTER_LABELS labels. */
export const MAX_DIP_BELOW_RANDOM = 0.01;
export const GAP_AFTER_LABELS = 200;

const round4 = (v: number) => +v.toFixed(4);

/** Mean and standard deviation over runs (seeds) at each round; the runs share their label counts. */
export function meanCurve(runs: readonly Run[]): Curve {
  const labels = runs[0].labels;
  const mean = labels.map((_, i) => runs.reduce((a, r) => a + r.accuracy[i], 0) / runs.length);
  const std = labels.map((_, i) =>
    Math.sqrt(runs.reduce((a, r) => a + (r.accuracy[i] - mean[i]) ** 2, 0) / runs.length),
  );
  return { labels: [...labels], accuracy_mean: mean.map(round4), accuracy_std: std.map(round4) };
}

/**
 * Labels a curve needs to reach `target` (linear between rounds), as a share of `budget`; null when it never
 * does. With target = random's accuracy at the budget, this is "labels needed vs random".
 */
export function labelRatio(curve: Curve, target: number, budget: number): number | null {
  const { labels, accuracy_mean: m } = curve;
  for (let i = 0; i < m.length; i++) {
    if (m[i] >= target) {
      if (i === 0) return round4(labels[0] / budget);
      const x = labels[i - 1] + ((target - m[i - 1]) / (m[i] - m[i - 1])) * (labels[i] - labels[i - 1]);
      return round4(x / budget);
    }
  }
  return null;
}

/**
 * The worst difference to random (curve minus random, mean accuracy) at rounds past GAP_AFTER_LABELS labels
 * both curves have; null when there are none (a budget that never passes them).
 */
export function minGapVsRandom(curve: Curve, random: Curve): number | null {
  const randomAt = new Map(random.labels.map((l, i) => [l, random.accuracy_mean[i]]));
  const gaps = curve.labels.flatMap((l, i) =>
    l > GAP_AFTER_LABELS && randomAt.has(l) ? [curve.accuracy_mean[i] - randomAt.get(l)!] : [],
  );
  return gaps.length ? round4(Math.min(...gaps)) : null;
}

/**
 * `per_round_drop_max`: the largest accuracy drop from one round to the next of each run (0 when it never
 * drops), averaged over the runs. A curve that improves with labels instead of jumping keeps it small.
 */
export function perRoundDropMax(runs: readonly Pick<Run, 'accuracy'>[]): number {
  const drops = runs.map(({ accuracy }) =>
    accuracy.reduce((worst, a, i) => (i === 0 ? worst : Math.max(worst, accuracy[i - 1] - a)), 0),
  );
  return round4(drops.reduce((a, d) => a + d, 0) / drops.length);
}

/**
 * How a single product run's curve compares with the library's mean over seeds at the label counts both have:
 * the difference (product minus library), and in how many rounds it stays within 2 standard deviations of the
 * library's seeds (the seed spread).
 */
export function compareWithLibrary(product: Curve, library: Curve) {
  const at = new Map(library.labels.map((l, i) => [l, i]));
  const rounds = product.labels.flatMap((l, i) => {
    const j = at.get(l);
    return j === undefined
      ? []
      : [{ diff: product.accuracy_mean[i] - library.accuracy_mean[j], std: library.accuracy_std[j] }];
  });
  const n = Math.max(1, rounds.length);
  return {
    rounds_compared: rounds.length,
    rounds_within_2_std: rounds.filter((r) => Math.abs(r.diff) <= 2 * r.std + 1e-9).length,
    mean_diff: round4(rounds.reduce((a, r) => a + r.diff, 0) / n),
    max_abs_diff: round4(Math.max(0, ...rounds.map((r) => Math.abs(r.diff)))),
    library_std_mean: round4(rounds.reduce((a, r) => a + r.std, 0) / n),
  };
}
