/**
 * bench:ml: training and scoring throughput of the MNIST MLP (784-256-128-10) on every backend present, next
 * to a plain tf.layers model.fit/predict baseline measured in the same run; then the default text model (fit
 * seconds, weights, holdout accuracy: 1,000 SpamAssassin e-mails to fit, the other 5,046 to score, seeds
 * 0-2) next to the one it replaced; then the width knob (`width_knob`: train time and accuracy of the image
 * default at widths 1, 1/2, 1/4 on 2,000 MNIST labels). Writes bench/results/ml.json. `--no-text-before` skips the
 * (minutes-long) old text model and keeps its figures from the previous results file; `--text-only` and
 * `--width-only` measure only the text models or only the width knob and keep the other figures of the file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  acquisitionSpec,
  BACKEND_CANDIDATES,
  defaultModelSpec,
  modelSpec,
  resolveBackend,
  scoreRows,
  sliceRows,
  takeRows,
  textConfig,
  tf,
  trainClassifier,
} from '@labelloop/ml';
import { parseArgs } from './ml-support/args';
import { loadMnist } from './ml-support/data';
import { progressBar } from './ml-support/progress';
import { spamTextSplit } from './ml-support/spam';
import { measureTextModel, type TextModelFigures } from './ml-support/text-model';
import { measureWidthKnob, WIDTH_KNOB_FITS, type WidthKnobReport } from './ml-support/width-knob';

// Per-sample training cost: forward 2*MACs, backward 4*MACs (input and weight gradients).
const MACS = 784 * 256 + 256 * 128 + 128 * 10;
const TRAIN_FLOPS = 6 * MACS;

interface BackendResult {
  backend: string;
  train_samples_per_s: number;
  score_items_per_s: number;
  baseline_train_samples_per_s: number;
  baseline_score_items_per_s: number;
  gflops_train: number;
  train_speedup: number;
  train_samples: number;
  score_items: number;
}

async function measure(
  backendSpeed: 'fast' | 'slow',
  bar: { tick(note?: string): void },
): Promise<BackendResult> {
  const train = loadMnist('train');
  const test = loadMnist('test');
  // The pure-JS cpu backend is ~10x slower: fewer samples keep the run short while still timing steady state.
  const nTrain = backendSpeed === 'fast' ? 8192 : 1024;
  const nScore = backendSpeed === 'fast' ? 10000 : 2000;
  const epochs = 2;
  const rows = Array.from({ length: nTrain }, (_, i) => i);
  const x = takeRows(train.features, rows);
  const y = rows.map((i) => train.labels[i]);
  const pool = sliceRows(test.features, 0, nScore);
  const spec = modelSpec({ epochs, patience: 0, minSteps: 0 });

  // Warm-up: first kernel calls compile/allocate.
  await (
    await trainClassifier({
      features: sliceRows(x, 0, 256),
      labels: y.slice(0, 256),
      numClasses: 10,
      spec: { ...spec, epochs: 1 },
    })
  ).model.dispose();
  let t = performance.now();
  const { model } = await trainClassifier({ features: x, labels: y, numClasses: 10, spec });
  const trainSps = (nTrain * epochs) / ((performance.now() - t) / 1000);
  bar.tick('library train');
  const margin = acquisitionSpec({ strategy: 'margin' });
  scoreRows(model, sliceRows(pool, 0, 512), margin);
  t = performance.now();
  scoreRows(model, pool, margin);
  const scoreIps = nScore / ((performance.now() - t) / 1000);
  model.dispose();
  bar.tick('library score');

  const baseline = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 128, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  baseline.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const xt = tf.tensor2d((x as { data: Float32Array }).data, [nTrain, 784]);
  const yt = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
  await baseline.fit(xt.slice(0, 256), yt.slice(0, 256), { epochs: 1, verbose: 0 });
  t = performance.now();
  await baseline.fit(xt, yt, { epochs, verbose: 0 });
  const baseTrainSps = (nTrain * epochs) / ((performance.now() - t) / 1000);
  bar.tick('baseline fit');
  const pt = tf.tensor2d((pool as { data: Float32Array }).data, [nScore, 784]);
  (baseline.predict(pt.slice(0, 512)) as tf.Tensor).dispose();
  t = performance.now();
  const out = baseline.predict(pt) as tf.Tensor;
  await out.data();
  const baseScoreIps = nScore / ((performance.now() - t) / 1000);
  tf.dispose([out, pt, xt, yt]);
  baseline.dispose();
  bar.tick('baseline predict');
  return {
    backend: tf.getBackend(),
    train_samples_per_s: Math.round(trainSps),
    score_items_per_s: Math.round(scoreIps),
    baseline_train_samples_per_s: Math.round(baseTrainSps),
    baseline_score_items_per_s: Math.round(baseScoreIps),
    gflops_train: +((trainSps * TRAIN_FLOPS) / 1e9).toFixed(3),
    train_speedup: +(trainSps / baseTrainSps).toFixed(2),
    train_samples: nTrain * epochs,
    score_items: nScore,
  };
}

/** The benchmark seeds of the text model (its defaults were chosen on seeds 100-105). */
const TEXT_SPLIT_SEEDS = [0, 1, 2];

/** One seed's figures (the featurizer config and spec are those of the model's entry). */
type SeedFigures = Omit<TextModelFigures, 'featurizer' | 'model'> & { seed: number };

interface TextModelReport extends TextModelFigures {
  /** Mean over the seeds of the holdout accuracy and macro F1 (the other figures are seed 0's). */
  holdout_accuracy_mean: number;
  holdout_macro_f1_mean: number;
  per_seed: SeedFigures[];
}

interface TextReport {
  how: string;
  backend: string;
  split_seeds: number[];
  train_texts: number;
  holdout_texts: number;
  after: TextModelReport & { fit_s_runs: number[] };
  before: TextModelReport | null;
  measured_at: string;
  /** 1-minute load average at the start and at the end: other work on the machine slows the fits. */
  load_average_1m: [number, number];
}

function summarize(runs: { seed: number; figures: TextModelFigures }[]): TextModelReport {
  const mean = (pick: (f: TextModelFigures) => number) =>
    +(runs.reduce((sum, r) => sum + pick(r.figures), 0) / runs.length).toFixed(4);
  return {
    ...runs[0].figures,
    holdout_accuracy_mean: mean((f) => f.holdout_accuracy),
    holdout_macro_f1_mean: mean((f) => f.holdout_macro_f1),
    per_seed: runs.map(({ seed, figures }) => ({
      seed,
      ...(Object.fromEntries(
        Object.entries(figures).filter(([key]) => key !== 'featurizer' && key !== 'model'),
      ) as Omit<TextModelFigures, 'featurizer' | 'model'>),
    })),
  };
}

/**
 * The default text model (textConfig() + defaultModelSpec('text')) and the one before it (2^16 hashed columns
 * + the generic MLP [256, 128]), each fitted on the same 1,000 e-mails and scored on the same 5,046 others,
 * for each benchmark seed.
 */
async function measureText(
  backend: string,
  withBefore: boolean,
  previous: TextReport | null,
): Promise<TextReport> {
  await resolveBackend({ prefer: backend as (typeof BACKEND_CANDIDATES)[number] });
  const loadAtStart = +loadavg()[0].toFixed(2);
  const splits = TEXT_SPLIT_SEEDS.map((seed) => ({ seed, data: spamTextSplit(seed) }));
  const first = splits[0].data;
  // Warm-up (first kernel calls, JIT): a trainer process is long-lived.
  const warm = {
    train: { texts: first.train.texts.slice(0, 40), labels: first.train.labels.slice(0, 40) },
    holdout: { texts: first.holdout.texts.slice(0, 40), labels: first.holdout.labels.slice(0, 40) },
  };
  await measureTextModel(warm, textConfig(), defaultModelSpec('text', { seed: 0, minSteps: 0 }));
  const after: { seed: number; figures: TextModelFigures }[] = [];
  const fits: number[] = [];
  for (const { seed, data } of splits) {
    // Seed 0 is fitted three times (the same model each time): the median fit is less at the mercy of other
    // work on the machine.
    const runs: TextModelFigures[] = [];
    for (let i = 0; i < (seed === splits[0].seed ? 3 : 1); i++) {
      runs.push(await measureTextModel(data, textConfig(), defaultModelSpec('text', { seed: 0 })));
    }
    if (runs.length > 1) fits.push(...runs.map((r) => r.fit_s));
    runs.sort((a, b) => a.fit_s - b.fit_s);
    after.push({ seed, figures: runs[Math.floor(runs.length / 2)] });
  }
  const before: { seed: number; figures: TextModelFigures }[] = [];
  if (withBefore) {
    const oldFeaturizer = textConfig({ dim: 1 << 16, minDf: undefined, maxFeatures: 0 });
    for (const { seed, data } of splits) {
      before.push({ seed, figures: await measureTextModel(data, oldFeaturizer, modelSpec({ seed: 0 })) });
    }
  }
  return {
    how:
      'SpamAssassin bodies (headers stripped). Per benchmark seed: 1,000 e-mails drawn stratified to fit, the ' +
      'other 5,046 as holdout. fit_s = featurizer fit + transform of the 1,000 training texts + ' +
      'trainClassifier, after a small warm-up, single thread (seed 0; after: the median of 3 fits, ' +
      'fit_s_runs). weights_mb = weights.bin of the artifact; manifest_mb = manifest.json (it carries the ' +
      'featurizer state). holdout_accuracy is seed 0, holdout_accuracy_mean over the seeds. after = ' +
      "textConfig() + defaultModelSpec('text'); before = the previous defaults: 2^16 hashed columns (no " +
      'vocabulary) + modelSpec() (MLP [256, 128]).' +
      (withBefore ? '' : ' before: carried over from the previous run (--no-text-before).'),
    backend: tf.getBackend(),
    split_seeds: TEXT_SPLIT_SEEDS,
    train_texts: first.train.texts.length,
    holdout_texts: first.holdout.texts.length,
    after: { ...summarize(after), fit_s_runs: fits },
    before: withBefore ? summarize(before) : (previous?.before ?? null),
    measured_at: new Date().toISOString(),
    load_average_1m: [loadAtStart, +loadavg()[0].toFixed(2)],
  };
}

async function main() {
  const args = parseArgs();
  // --text-only / --width-only: measure that part again and keep the other figures of the file as they are.
  const textOnly = args.has('text-only');
  const widthOnly = args.has('width-only');
  const started = Date.now();
  const file = join(__dirname, 'results', 'ml.json');
  const previous = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { text?: TextReport })
    : null;
  if ((textOnly || widthOnly) && !previous) {
    throw new Error(`--text-only and --width-only update ${file}, which does not exist yet`);
  }
  const present: string[] = [];
  const skipped: Record<string, string> = {};
  for (const candidate of BACKEND_CANDIDATES) {
    try {
      await resolveBackend({ prefer: candidate });
      present.push(candidate);
    } catch (err) {
      skipped[candidate] = (err as Error).message;
    }
  }
  const best = await resolveBackend();
  const results: BackendResult[] = [];
  // The text model and the width knob on wasm (the CPU backend a trainer without a native build runs on)
  // unless ML_BACKEND says.
  const modelBackend = process.env.ML_BACKEND ?? (present.includes('wasm') ? 'wasm' : best.backend);
  if (widthOnly) {
    const width_knob = await widthKnob(modelBackend);
    writeFileSync(file, JSON.stringify({ ...previous, width_knob }, null, 2) + '\n');
    console.log(JSON.stringify(width_knob.widths, null, 2));
    console.log(`wrote ${file}`);
    return;
  }
  if (!textOnly) {
    const bar = progressBar(present.length * 4, 'bench:ml');
    for (const candidate of present) {
      await resolveBackend({ prefer: candidate });
      results.push(await measure(candidate === 'cpu' ? 'slow' : 'fast', bar));
    }
    bar.stop();
  }
  const withBefore = !args.has('no-text-before');
  console.log(`bench:ml text model on ${modelBackend}${withBefore ? ' (the old one takes minutes)' : ''}`);
  const text = await measureText(modelBackend, withBefore, previous?.text ?? null);
  const textKeys = {
    text_fit_1000_s: text.after.fit_s,
    text_weights_mb: text.after.weights_mb,
    text_holdout_accuracy: text.after.holdout_accuracy_mean,
    text_before_fit_1000_s: text.before?.fit_s ?? null,
    text_before_weights_mb: text.before?.weights_mb ?? null,
    text_before_holdout_accuracy: text.before?.holdout_accuracy_mean ?? null,
  };
  const width_knob = textOnly ? null : await widthKnob(modelBackend);
  const primary = results.find((r) => r.backend === best.backend) ?? results[0];
  const report = textOnly
    ? { ...previous, ...textKeys, text }
    : {
        ...primary,
        ...textKeys,
        how:
          'Single thread per process, no workers. Library training is mini-batch Adam (batch 64) on a variables-and-ops ' +
          'model instead of tf.layers; on wasm its dense-layer gradient transposes operands in JS and uses plain ' +
          'matMuls, because tfjs-wasm runs transposed matMul (the stock matMul gradient) and transpose through slow ' +
          'generic paths. Scoring is a forward pass in chunks of 256 rows (plain matMul on the model variables); the ' +
          'score includes margin scores and the penultimate-layer embeddings copied out. Baseline: tf.layers ' +
          'sequential with the same layers (dropout 0.2), compile(adam, categoricalCrossentropy), fit/predict with ' +
          'default settings (batch 32). gflops_train counts 6 x multiply-accumulates per sample. text_*: see text.how.',
        backends: results,
        resolved: best,
        skipped_backends: skipped,
        text,
        width_knob,
        machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version },
        seconds: Math.round((Date.now() - started) / 1000),
      };
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  if (results.length) console.log(JSON.stringify(results, null, 2));
  console.log(JSON.stringify({ after: text.after, before: text.before }, null, 2));
  if (width_knob) console.log(JSON.stringify({ width_knob: width_knob.widths }, null, 2));
  console.log(`wrote ${file}`);
}

async function widthKnob(backend: string): Promise<WidthKnobReport> {
  await resolveBackend({ prefer: backend as (typeof BACKEND_CANDIDATES)[number] });
  const bar = progressBar(WIDTH_KNOB_FITS, `bench:ml width knob on ${backend}`);
  const report = await measureWidthKnob(() => bar.tick());
  bar.stop();
  return report;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
