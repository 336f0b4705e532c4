import { existsSync, readFileSync } from 'node:fs';
import type { Curve } from '../ml-support/plot';
import { labelRatio, meanCurve, minGapVsRandom, perRoundDropMax } from './curves';
import type { JobResult } from './library-run';
import type { Protocol } from './protocols';
import { defaultStrategyName } from './strategies';

/** The keys every bench:al result has (library runs and --e2e alike). */
export interface CurveFigures {
  curves: Record<string, Curve>;
  label_ratio_vs_random: Record<string, number | null>;
  random_accuracy_at_budget: number | null;
  min_gap_vs_random_after_200_labels: Record<string, number | null>;
  per_round_drop_max: Record<string, number>;
  /** The bench's name of the product default acquisition (a key of label_ratio_vs_random when it ran). */
  default_strategy: string;
}

/**
 * The figures of a set of curves against `random` (the random curve of the same protocol, from this run or
 * another): labels needed to reach random's accuracy at the budget, the worst gap past 200 labels.
 */
export function curveFigures(
  curves: Record<string, Curve>,
  drops: Record<string, number>,
  random: Curve | undefined,
  budget: number,
): CurveFigures {
  const target = random ? random.accuracy_mean[random.accuracy_mean.length - 1] : null;
  const ratios: Record<string, number | null> = {};
  const gaps: Record<string, number | null> = {};
  for (const [name, c] of Object.entries(curves)) {
    ratios[name] = target === null ? null : labelRatio(c, target, budget);
    if (random) gaps[name] = minGapVsRandom(c, random);
  }
  return {
    curves,
    label_ratio_vs_random: ratios,
    random_accuracy_at_budget: target,
    min_gap_vs_random_after_200_labels: gaps,
    per_round_drop_max: drops,
    default_strategy: defaultStrategyName(),
  };
}

/** The previous result file, when it was measured under the same protocol (so its curves can be kept). */
export function previousResult(file: string, p: Protocol) {
  if (!existsSync(file)) return null;
  const previous = JSON.parse(readFileSync(file, 'utf8'));
  return JSON.stringify(previous.protocol) === JSON.stringify(p) ? previous : null;
}

/**
 * The library result: this run's strategies over those a previous run of the same protocol measured.
 * A partial run adds its time to that of the run whose curves it keeps; a run that replaces them all does not.
 */
export function libraryReport(
  p: Protocol,
  results: readonly JobResult[],
  previous: ReturnType<typeof previousResult>,
  seconds: number,
) {
  const strategies = [...new Set(results.map((r) => r.strategy))];
  const curves: Record<string, Curve> = { ...(previous?.curves ?? {}) };
  const drops: Record<string, number> = { ...(previous?.per_round_drop_max ?? {}) };
  const jobSeconds: Record<string, number> = { ...(previous?.job_seconds ?? {}) };
  for (const strategy of strategies) {
    const runs = results.filter((r) => r.strategy === strategy).sort((a, b) => a.seed - b.seed);
    curves[strategy] = meanCurve(runs);
    drops[strategy] = perRoundDropMax(runs);
    jobSeconds[strategy] = Math.round(runs.reduce((a, r) => a + r.seconds, 0));
  }
  const keepsPrevious = previous && Object.keys(previous.curves).some((name) => !strategies.includes(name));
  return {
    budget: p.budget,
    protocol: p,
    ...curveFigures(curves, drops, curves.random, p.budget),
    seconds: seconds + (keepsPrevious ? (previous.seconds ?? 0) : 0),
    job_seconds: jobSeconds,
  };
}
