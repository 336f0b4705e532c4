import { loadavg } from 'node:os';
import {
  createRng,
  defaultModelSpec,
  deriveSeed,
  evaluate,
  type ModelSpec,
  predictProbabilities,
  sampleIndices,
  takeRows,
  tf,
  trainClassifier,
} from '@labelloop/ml';
import { loadData } from '../al/datasets';

/** Hidden widths as a share of the image default's: the design's knob (halve it, retrain, about twice as fast). */
const WIDTH_FACTORS = [1, 0.5, 0.25];
const LABELS = 2000;
const SEEDS = [0, 1, 2];

export interface WidthFigures {
  factor: number;
  hidden_units: number[];
  train_s_mean: number;
  train_s_per_seed: number[];
  /** Full-width train time over this width's (mean over the seeds). */
  speedup_vs_full: number;
  test_accuracy_mean: number;
  test_accuracy_per_seed: number[];
}

export interface WidthKnobReport {
  how: string;
  backend: string;
  model: ModelSpec;
  labels: number;
  seeds: number[];
  widths: WidthFigures[];
  /** 1-minute load average at the start and at the end: other work on the machine slows the fits. */
  load_average_1m: [number, number];
}

/**
 * The image default (defaultModelSpec('image')) at widths 1, 1/2 and 1/4 of its hidden units, each fitted on
 * 2,000 labels drawn at random from bench:al's MNIST pool of the seed and scored on the 10,000 test images.
 */
export async function measureWidthKnob(onFit: () => void): Promise<WidthKnobReport> {
  const loadAtStart = +loadavg()[0].toFixed(2);
  const full = defaultModelSpec('image');
  const cache = new Map();
  const sets = SEEDS.map((seed) => {
    const data = loadData('mnist', seed, cache);
    const rows = sampleIndices(data.pool.rows, LABELS, createRng(deriveSeed(seed, 4)));
    return { seed, data, features: takeRows(data.pool, rows), labels: rows.map((r) => data.poolLabels[r]) };
  });
  // Warm-up (first kernel calls, JIT): a trainer process is long-lived.
  const first = sets[0];
  await (
    await trainClassifier({
      features: takeRows(first.features, [...Array(256).keys()]),
      labels: first.labels.slice(0, 256),
      numClasses: 10,
      spec: { ...full, epochs: 1, minSteps: 0 },
    })
  ).model.dispose();
  const widths: Omit<WidthFigures, 'speedup_vs_full'>[] = [];
  for (const factor of WIDTH_FACTORS) {
    const hiddenUnits = full.hiddenUnits.map((units) => Math.max(1, Math.round(units * factor)));
    const seconds: number[] = [];
    const accuracy: number[] = [];
    for (const { seed, data, features, labels } of sets) {
      const started = performance.now();
      const { model } = await trainClassifier({
        features,
        labels,
        numClasses: 10,
        spec: defaultModelSpec('image', { hiddenUnits, seed }),
      });
      seconds.push(+((performance.now() - started) / 1000).toFixed(2));
      accuracy.push(
        +evaluate(predictProbabilities(model, data.test), data.testLabels, 10).accuracy.toFixed(4),
      );
      model.dispose();
      onFit();
    }
    widths.push({
      factor,
      hidden_units: hiddenUnits,
      train_s_mean: +mean(seconds).toFixed(2),
      train_s_per_seed: seconds,
      test_accuracy_mean: +mean(accuracy).toFixed(4),
      test_accuracy_per_seed: accuracy,
    });
  }
  return {
    how:
      "defaultModelSpec('image') with its hidden units scaled by each factor; per seed 0-2, 2,000 labels drawn " +
      "at random from bench:al's MNIST pool of that seed (20,000 of the 60k train images), test = the 10,000 " +
      'MNIST test images. train_s = trainClassifier alone, single thread, after a small warm-up.',
    backend: tf.getBackend(),
    model: full,
    labels: LABELS,
    seeds: SEEDS,
    widths: widths.map((w) => ({
      ...w,
      speedup_vs_full: +(widths[0].train_s_mean / w.train_s_mean).toFixed(2),
    })),
    load_average_1m: [loadAtStart, +loadavg()[0].toFixed(2)],
  };
}

export const WIDTH_KNOB_FITS = WIDTH_FACTORS.length * SEEDS.length;

function mean(values: number[]): number {
  return values.reduce((a, v) => a + v, 0) / values.length;
}
