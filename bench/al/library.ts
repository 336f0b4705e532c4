import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveBackend } from '@labelloop/ml';
import { plotCurves } from '../ml-support/plot';
import { progressBar } from '../ml-support/progress';
import { type AlDataset, protocol } from './protocols';
import { libraryReport, previousResult } from './report';
import { DEFAULT_STRATEGIES, defaultStrategyName, STRATEGIES } from './strategies';
import { runJobsInChildren } from './workers';

export interface LibraryOptions {
  dataset: AlDataset;
  warmStart: boolean;
  strategies?: string[];
  workers: number;
  /** Smoke runs and tuning: anything but the official budget and seeds goes to al-<dataset>-tuning.json. */
  budget?: number;
  seeds?: number[];
}

/**
 * The library bench of one dataset: every strategy x seed on libs/ml in child processes of `entry`, then
 * bench/results/al-<dataset>.json and .png (merged into a previous result of the same protocol).
 */
export async function runLibraryBench(entry: string, options: LibraryOptions): Promise<void> {
  const { dataset, warmStart, workers } = options;
  // The product default always runs, so every result can say how it fares.
  const strategies = options.strategies ?? [...new Set([...DEFAULT_STRATEGIES, defaultStrategyName()])];
  const unknown = strategies.filter((s) => !STRATEGIES[s]);
  if (unknown.length) throw new Error(`unknown strategies ${unknown.join(', ')}`);
  const p = protocol(dataset, warmStart);
  const official = { seeds: p.seeds, budget: p.budget };
  if (options.budget) p.budget = options.budget;
  // Other seeds are for tuning (never tune on the benchmark seeds 0,1,2); recorded in the protocol too.
  if (options.seeds) p.seeds = options.seeds;
  const isOfficial = p.budget === official.budget && p.seeds.join() === official.seeds.join();
  const started = Date.now();
  const rounds = Math.ceil((p.budget - p.start) / p.batch) + 1;
  const jobs = strategies.flatMap((strategy) => p.seeds.map((seed) => ({ strategy, seed })));
  const bar = progressBar(jobs.length * rounds, `bench:al ${dataset}`);
  const results = await runJobsInChildren(
    entry,
    { dataset, budget: p.budget, warmStart },
    jobs,
    workers,
    (done) => bar.tick(`${done}/${jobs.length} jobs done`),
  );
  bar.stop();

  const file = join(
    __dirname,
    '..',
    'results',
    isOfficial ? `al-${dataset}.json` : `al-${dataset}-tuning.json`,
  );
  const report = {
    ...libraryReport(p, results, previousResult(file, p), Math.round((Date.now() - started) / 1000)),
    workers,
    backend: (await resolveBackend()).backend,
  };
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  await plotCurves(
    report.curves,
    `Active learning on ${dataset} (mean of ${p.seeds.length} seeds, band = 1 std)`,
    file.replace(/\.json$/, '.png'),
  );
  const {
    label_ratio_vs_random,
    random_accuracy_at_budget,
    min_gap_vs_random_after_200_labels,
    per_round_drop_max,
  } = report;
  console.log(
    JSON.stringify(
      {
        label_ratio_vs_random,
        random_accuracy_at_budget,
        min_gap_vs_random_after_200_labels,
        per_round_drop_max,
        default_strategy: report.default_strategy,
        seconds: report.seconds,
      },
      null,
      2,
    ),
  );
}
