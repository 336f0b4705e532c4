/**
 * bench:ml: training and scoring throughput of the MNIST MLP (784-256-128-10) on every backend present, next
 * to a plain tf.layers model.fit/predict baseline measured in the same run. Writes bench/results/ml.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  acquisitionSpec,
  BACKEND_CANDIDATES,
  modelSpec,
  resolveBackend,
  scoreRows,
  sliceRows,
  takeRows,
  tf,
  trainClassifier,
} from '@labelloop/ml';
import { loadMnist } from './ml-support/data';
import { progressBar } from './ml-support/progress';

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

async function main() {
  const started = Date.now();
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
  const bar = progressBar(present.length * 4, 'bench:ml');
  const results: BackendResult[] = [];
  for (const candidate of present) {
    await resolveBackend({ prefer: candidate });
    results.push(await measure(candidate === 'cpu' ? 'slow' : 'fast', bar));
  }
  bar.stop();
  const primary = results.find((r) => r.backend === best.backend) ?? results[0];
  const report = {
    ...primary,
    how:
      'Single thread per process, no workers. Library training is mini-batch Adam (batch 64) on a variables-and-ops ' +
      'model instead of tf.layers; on wasm its dense-layer gradient transposes operands in JS and uses plain ' +
      'matMuls, because tfjs-wasm runs transposed matMul (the stock matMul gradient) and transpose through slow ' +
      'generic paths. Scoring is a forward pass in chunks of 256 rows (plain matMul on the model variables); the ' +
      'score includes margin scores and the penultimate-layer embeddings copied out. Baseline: tf.layers ' +
      'sequential with the same layers (dropout 0.2), compile(adam, categoricalCrossentropy), fit/predict with ' +
      'default settings (batch 32). gflops_train counts 6 x multiply-accumulates per sample.',
    backends: results,
    resolved: best,
    skipped_backends: skipped,
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', node: process.version },
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const file = join(__dirname, 'results', 'ml.json');
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
