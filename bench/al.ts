/**
 * bench:al: active-learning curves on real data, compared with random sampling under a fixed protocol.
 * `npm run bench:al -- --dataset mnist|spam|digits|breast-cancer|names [--strategies random,margin,...]
 *   [--workers 2] [--warm-start] [--budget n] [--seeds 100,101]`: the library bench (libs/ml directly), strategies as
 *   jobs (strategy x seed) in child processes; writes bench/results/al-<dataset>.json and .png, a run limited to
 *   some strategies merges into the existing file.
 * `npm run bench:al -- --e2e [--dataset mnist] [--strategies ...] [--budget n] [--seed 0]`: the same protocol through the
 *   product's REST API on a built service (one seed); writes bench/results/al-<dataset>-e2e.json.
 * `npm run bench:al -- --summary`: the evidence for the default acquisition over all datasets, al-summary.json.
 */
import { parseArgs } from './ml-support/args';
import { runE2eBench } from './al/e2e';
import { runLibraryBench } from './al/library';
import { AL_DATASETS, type AlDataset, isAlDataset } from './al/protocols';
import { writeSummary } from './al/summary';
import { serveJobs } from './al/workers';

function datasetOf(args: Map<string, string>): AlDataset {
  const dataset = args.get('dataset') ?? 'mnist';
  if (!isAlDataset(dataset)) throw new Error(`--dataset ${AL_DATASETS.join('|')}`);
  return dataset;
}

async function main(args: Map<string, string>): Promise<void> {
  const dataset = datasetOf(args);
  const strategies = args.get('strategies')?.split(',');
  const budget = args.has('budget') ? Number(args.get('budget')) : undefined;
  if (args.has('child')) {
    return serveJobs({ dataset, warmStart: args.has('warm-start'), budget: Number(args.get('budget')) });
  }
  if (args.has('summary')) return writeSummary();
  if (args.has('e2e'))
    return runE2eBench({ dataset, strategies, budget, seed: Number(args.get('seed') ?? 0) });
  return runLibraryBench(__filename, {
    dataset,
    warmStart: args.has('warm-start'),
    strategies,
    workers: Number(args.get('workers') ?? 2),
    budget,
    seeds: args.get('seeds')?.split(',').map(Number),
  });
}

main(parseArgs()).catch((err) => {
  console.error(err);
  process.exit(1);
});
