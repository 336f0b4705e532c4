/**
 * bench:noise: flip 10% of the labels of a real labeled set to another class at random, rank suspects from
 * 5-fold out-of-sample probabilities, and measure how many flips come first. Writes bench/results/noise-<dataset>.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createRng,
  deriveSeed,
  type FeatureMatrix,
  findLabelIssues,
  type IssueRanking,
  type ModelSpec,
  outOfSampleProbabilities,
  resolveBackend,
  sampleIndices,
  takeRows,
} from '@labelloop/ml';
import { parseArgs } from './ml-support/args';
import { loadMnist } from './ml-support/data';
import { progressBar } from './ml-support/progress';
import { spamData } from './ml-support/spam';
import { MNIST_MODEL, SPAM_ISSUES_MODEL } from './ml-support/specs';

const NOISE_RATE = 0.1;
const FOLDS = 5;
const SEEDS = [0, 1, 2];

interface Variant {
  rankBy: IssueRanking;
  flaggedFirst: boolean;
}
const VARIANTS: Record<string, Variant> = {
  self_confidence: { rankBy: 'self_confidence', flaggedFirst: false },
  normalized_margin: { rankBy: 'normalized_margin', flaggedFirst: false },
  self_confidence_flagged_first: { rankBy: 'self_confidence', flaggedFirst: true },
};
/** The library default ranking (findLabelIssues without options). */
const DEFAULT_VARIANT = 'self_confidence';

async function main() {
  const args = parseArgs();
  const dataset = args.get('dataset') ?? 'mnist';
  if (dataset !== 'mnist' && dataset !== 'spam') throw new Error('--dataset mnist|spam');
  const repeats = Number(args.get('repeats') ?? 1);
  const started = Date.now();
  const backend = await resolveBackend();
  let n: number;
  let numClasses: number;
  let spec: ModelSpec;
  let sample: (seed: number) => { features: FeatureMatrix; labels: Int32Array };
  if (dataset === 'mnist') {
    const train = loadMnist('train');
    n = 5000;
    numClasses = 10;
    spec = MNIST_MODEL;
    sample = (seed) => {
      const rows = sampleIndices(train.features.rows, n, createRng(deriveSeed(seed, 1)));
      return {
        features: takeRows(train.features, rows),
        labels: Int32Array.from(rows, (r) => train.labels[r]),
      };
    };
  } else {
    const emailsTotal = 6046;
    n = 2000;
    numClasses = 2;
    spec = SPAM_ISSUES_MODEL;
    // Featurize (fit IDF on) exactly the sampled e-mails, as a project holding only those would.
    sample = (seed) => {
      const rows = sampleIndices(emailsTotal, n, createRng(deriveSeed(seed, 1)));
      const d = spamData(rows);
      return { features: d.features, labels: d.labels };
    };
  }
  const flipped = Math.round(n * NOISE_RATE);
  const bar = progressBar(SEEDS.length * FOLDS * repeats, `bench:noise ${dataset}`);
  const perSeed: Record<string, { precision_at_k: number; recall_at_2k: number; auroc: number }[]> = {};
  for (const name of Object.keys(VARIANTS)) perSeed[name] = [];
  const flaggedCounts: number[] = [];
  for (const seed of SEEDS) {
    const { features, labels: truth } = sample(seed);
    const rng = createRng(deriveSeed(seed, 2));
    const noisy = Int32Array.from(truth);
    const flips = new Set(sampleIndices(n, flipped, rng));
    for (const i of flips) noisy[i] = (truth[i] + 1 + Math.floor(rng() * (numClasses - 1))) % numClasses;
    const probs = await outOfSampleProbabilities({
      features,
      labels: noisy,
      numClasses,
      spec: { ...spec, seed },
      folds: FOLDS,
      repeats,
      seed,
      onFold: (f) => bar.tick(`seed ${seed} fold ${f}`),
    });
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const report = findLabelIssues(probs, noisy, numClasses, variant);
      if (name === DEFAULT_VARIANT) flaggedCounts.push(report.flaggedCount);
      const isFlip = report.ranked.map((issue) => flips.has(issue.index));
      perSeed[name].push({
        precision_at_k: isFlip.slice(0, flipped).filter(Boolean).length / flipped,
        recall_at_2k: isFlip.slice(0, 2 * flipped).filter(Boolean).length / flipped,
        auroc: aurocFromRanking(isFlip),
      });
    }
  }
  bar.stop();
  const mean = (xs: number[]) => +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(4);
  const summary = (name: string) => ({
    precision_at_k: mean(perSeed[name].map((r) => r.precision_at_k)),
    recall_at_2k: mean(perSeed[name].map((r) => r.recall_at_2k)),
    auroc: mean(perSeed[name].map((r) => r.auroc)),
  });
  const result = {
    dataset,
    noise_rate: NOISE_RATE,
    n,
    flipped,
    ...summary(DEFAULT_VARIANT),
    ranking: `${DEFAULT_VARIANT} (library default: findLabelIssues ranks all rows by p(given label), ascending)`,
    per_seed: perSeed[DEFAULT_VARIANT],
    variants: Object.fromEntries(
      Object.keys(VARIANTS).map((name) => [name, { ...summary(name), per_seed: perSeed[name] }]),
    ),
    confident_learning_flagged_mean: mean(flaggedCounts),
    protocol: {
      sample:
        dataset === 'mnist'
          ? '5,000 images sampled per seed from the 60k MNIST training set, pixels / 255'
          : '2,000 e-mails sampled per seed from the 6,046 SpamAssassin e-mails, headers stripped; TF-IDF fitted on them',
      noise: 'flip 10% of labels (seeded) to a uniformly random other class',
      out_of_sample:
        `${FOLDS}-fold stratified, one model per fold` +
        (repeats > 1 ? `, repeated ${repeats} times with different splits and averaged` : ''),
      model: spec,
      seeds: SEEDS,
      metrics:
        'precision_at_k: share of flips among the k = #flipped most suspicious rows; recall_at_2k: share of flips ' +
        'found in the top 2k; auroc: suspicion ranking vs flipped (mean over seeds)',
    },
    backend: backend.backend,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const file = join(__dirname, 'results', `noise-${dataset}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify({ ...result, protocol: undefined, per_seed: undefined }, null, 2));
}

/** AUROC of a ranking (most suspicious first) against positives, by the Mann-Whitney count. */
function aurocFromRanking(isPositive: boolean[]): number {
  let negativesBelow = 0;
  let pairs = 0;
  const positives = isPositive.filter(Boolean).length;
  const negatives = isPositive.length - positives;
  for (let i = isPositive.length - 1; i >= 0; i--) {
    if (isPositive[i]) pairs += negativesBelow;
    else negativesBelow++;
  }
  return positives && negatives ? pairs / (positives * negatives) : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
