import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquisitionSpec } from '@labelloop/ml';
import type { Curve } from '../ml-support/plot';
import { progressBar } from '../ml-support/progress';
import { freePort } from '../support/ports';
import { startBenchRedis } from '../support/redis-server';
import { startBenchServer } from '../support/server';
import { compareWithLibrary, meanCurve, perRoundDropMax } from './curves';
import { rawSplit } from './datasets';
import { type ProductRun, productLoop } from './product-loop';
import { type AlDataset, protocol } from './protocols';
import { curveFigures } from './report';
import { defaultStrategyName, STRATEGIES } from './strategies';

export interface E2eOptions {
  dataset: AlDataset;
  /** Bench strategy names; the product default runs with the project defaults, others set acquisitionSpec. */
  strategies?: string[];
  /** Smoke runs: a smaller budget goes to al-<dataset>-e2e-tuning.json. */
  budget?: number;
  seed: number;
}

/** The acquisitionSpec a project needs for a bench strategy; none for the product default (project defaults). */
function projectAcquisition(strategy: string): Record<string, unknown> | undefined {
  if (strategy === defaultStrategyName()) return undefined;
  const spec = acquisitionSpec(STRATEGIES[strategy]);
  return { strategy: spec.strategy, diversity: spec.diversity, classBalanced: spec.classBalanced };
}

/**
 * `--e2e`: the library protocol through the product. A built service (role `all`: API, trainer and scorer in one
 * process, as `npm start` runs it) on its own database and redis-server; one project per strategy, driven over
 * REST. Writes bench/results/al-<dataset>-e2e.json with the library result's keys, the rounds as the product
 * lived them, and how the curve compares with the library's (al-<dataset>.json) for the same strategy.
 */
export async function runE2eBench(options: E2eOptions): Promise<void> {
  const { dataset, seed } = options;
  const strategies = options.strategies ?? [defaultStrategyName()];
  const unknown = strategies.filter((s) => !STRATEGIES[s]);
  if (unknown.length) throw new Error(`unknown strategies ${unknown.join(', ')}`);
  const p = protocol(dataset, false);
  const official = p.budget;
  if (options.budget) p.budget = options.budget;
  const started = Date.now();
  const raw = rawSplit(dataset, seed);
  const redis = await startBenchRedis();
  const server = await startBenchServer(await freePort(), { REDIS_URL: redis.url }, { role: 'all' });
  const runs: Record<string, ProductRun> = {};
  try {
    for (const strategy of strategies) {
      const rounds = Math.ceil((p.budget - p.start) / p.batch) + 1;
      const bar = progressBar(rounds, `bench:al --e2e ${dataset} ${strategy}`);
      runs[strategy] = await productLoop(
        server.baseUrl,
        p,
        raw,
        seed,
        `bench:al ${dataset} ${strategy}`,
        projectAcquisition(strategy),
        (r) => bar.tick(`${r.labels} labels: ${(100 * r.test_accuracy).toFixed(1)}% (model ${r.model})`),
      );
      bar.stop();
    }
  } finally {
    await server.stop();
    await redis.stop();
  }

  const curves: Record<string, Curve> = {};
  const drops: Record<string, number> = {};
  for (const [strategy, run] of Object.entries(runs)) {
    curves[strategy] = meanCurve([run]);
    drops[strategy] = perRoundDropMax([run]);
  }
  const library = libraryResult(dataset, p.budget);
  // Without a random project of its own, the run is compared with the library's random curve.
  const random = curves.random ?? library?.curves.random;
  const file = join(
    __dirname,
    '..',
    'results',
    p.budget === official ? `al-${dataset}-e2e.json` : `al-${dataset}-e2e-tuning.json`,
  );
  const report = {
    budget: p.budget,
    protocol: {
      dataset,
      pool: raw.pool.payloads.length,
      test: raw.test.payloads.length,
      start: p.start,
      batch: p.batch,
      budget: p.budget,
      seeds: [seed],
      service:
        'built service (dist/), role all, its own PostgreSQL database and redis-server; project defaults ' +
        'except the seed (and acquisitionSpec for a strategy other than the default); pool imported unlabeled ' +
        '(the project puts its holdoutFraction of it in the holdout)',
      round:
        'lease the batch with tasks/next?limit<=100, annotate each with the true label, POST train (a training ' +
        'the retrain threshold started may run too), wait until the promoted model ranked the pool (a completed ' +
        'full scoring pass by it), then test accuracy of the promoted model with POST /v1/models/:id/predict',
      projects: Object.fromEntries(Object.entries(runs).map(([s, r]) => [s, r.project])),
    },
    ...curveFigures(curves, drops, random, p.budget),
    random_from: curves.random ? 'this run' : library?.curves.random ? `al-${dataset}.json (library)` : null,
    library_comparison: Object.fromEntries(
      Object.keys(curves).flatMap((s) =>
        library?.curves[s] ? [[s, compareWithLibrary(curves[s], library.curves[s])]] : [],
      ),
    ),
    rounds: Object.fromEntries(Object.entries(runs).map(([s, r]) => [s, r.rounds])),
    seconds: Math.round((Date.now() - started) / 1000),
    backend: Object.values(runs)[0]?.backend ?? null,
  };
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const {
    label_ratio_vs_random,
    random_accuracy_at_budget,
    per_round_drop_max,
    library_comparison,
    seconds,
  } = report;
  console.log(
    JSON.stringify(
      { label_ratio_vs_random, random_accuracy_at_budget, per_round_drop_max, library_comparison, seconds },
      null,
      2,
    ),
  );
}

/**
 * The library's curves of the dataset (al-<dataset>.json), cut at `budget` so a smoke run's random target is
 * random's accuracy at the smoke budget.
 */
function libraryResult(dataset: AlDataset, budget: number): { curves: Record<string, Curve> } | null {
  const file = join(__dirname, '..', 'results', `al-${dataset}.json`);
  if (!existsSync(file)) return null;
  const { curves } = JSON.parse(readFileSync(file, 'utf8')) as { curves: Record<string, Curve> };
  const cut = (c: Curve): Curve => {
    const n = c.labels.filter((l) => l <= budget).length;
    return {
      labels: c.labels.slice(0, n),
      accuracy_mean: c.accuracy_mean.slice(0, n),
      accuracy_std: c.accuracy_std.slice(0, n),
    };
  };
  return { curves: Object.fromEntries(Object.entries(curves).map(([s, c]) => [s, cut(c)])) };
}
