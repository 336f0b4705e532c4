import {
  createRng,
  deriveSeed,
  type FeatureMatrix,
  fitFeaturizer,
  type ModelInputKind,
  sampleIndices,
  takeRows,
} from '@labelloop/ml';
import { modelInput } from '../../libs/pipeline/src/model-input';
import { featurizerConfig } from '../../libs/pipeline/src/training-set';
import {
  loadBreastCancer,
  loadDigits,
  loadFirstNames,
  loadMnist,
  loadSpamAssassin,
  stratifiedSplit,
} from '../ml-support/data';
import { spamData } from '../ml-support/spam';
import { type AlDataset, TEST_ROWS } from './protocols';

/** An item's input as the API imports it (without externalId and label). */
export type ItemPayload =
  { text: string } | { features: number[] } | { pixels: number[]; width: number; height: number };

export interface RawPart {
  payloads: ItemPayload[];
  /** Class index per payload: its position in `labelNames`. */
  classes: Int32Array;
}

/** A dataset's pool and test set as items of the product, and its label set. */
export interface RawSplit {
  kind: ModelInputKind;
  labelNames: string[];
  pool: RawPart;
  test: RawPart;
}

/** The pool and test rows of `dataset` for `seed` (MNIST draws its pool per seed; the others have one split). */
export function rawSplit(dataset: AlDataset, seed: number): RawSplit {
  switch (dataset) {
    case 'mnist': {
      const train = loadMnist('train');
      const test = loadMnist('test');
      const rows = sampleIndices(train.features.rows, 20000, createRng(deriveSeed(seed, 3)));
      const images = (set: typeof train, picked: ArrayLike<number>): RawPart => ({
        payloads: Array.from(picked, (r) => ({
          pixels: Array.from(set.features.data.subarray(r * 784, (r + 1) * 784), (v) => Math.round(v * 255)),
          width: 28,
          height: 28,
        })),
        classes: Int32Array.from(picked, (r) => set.labels[r]),
      });
      return {
        kind: 'image',
        labelNames: DIGIT_NAMES,
        pool: images(train, rows),
        test: images(
          test,
          test.labels.map((_, i) => i),
        ),
      };
    }
    case 'spam': {
      const emails = loadSpamAssassin();
      return split(
        'text',
        ['ham', 'spam'],
        emails.map((e) => ({ text: e.text })),
        emails.map((e) => +e.spam),
        TEST_ROWS.spam,
      );
    }
    case 'digits': {
      const { pixels, labels } = loadDigits();
      // scikit-learn's digits are 0-16 intensities; the API takes gray 0-255.
      const payloads = pixels.map((p) => ({
        pixels: p.map((v) => Math.round((v * 255) / 16)),
        width: 8,
        height: 8,
      }));
      return split('image', DIGIT_NAMES, payloads, labels, TEST_ROWS.digits);
    }
    case 'breast-cancer': {
      const { rows, labels } = loadBreastCancer();
      return split(
        'tabular',
        ['malignant', 'benign'],
        rows.map((features) => ({ features })),
        labels,
        TEST_ROWS['breast-cancer'],
      );
    }
    case 'names': {
      const names = loadFirstNames();
      return split(
        'text',
        ['female', 'male'],
        names.map((n) => ({ text: n.name })),
        names.map((n) => (n.female ? 0 : 1)),
        TEST_ROWS.names,
      );
    }
  }
}

const DIGIT_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Test = `testRows` stratified with seed 0 (the same for every run seed), pool = the rest. */
function split(
  kind: ModelInputKind,
  labelNames: string[],
  payloads: ItemPayload[],
  classes: ArrayLike<number>,
  testRows: number,
): RawSplit {
  const { train, test } = stratifiedSplit(classes, testRows, 0);
  const part = (rows: number[]): RawPart => ({
    payloads: rows.map((i) => payloads[i]),
    classes: Int32Array.from(rows, (i) => classes[i]),
  });
  return { kind, labelNames, pool: part(train), test: part(test) };
}

/** What a library run works on: feature rows of the pool and the test set. */
export interface Data {
  pool: FeatureMatrix;
  poolLabels: Int32Array;
  test: FeatureMatrix;
  testLabels: Int32Array;
  numClasses: number;
}

/**
 * Feature rows of `dataset` for `seed`, cached per process. MNIST and SpamAssassin keep the featurization their
 * committed results were measured with; the others go through the product's featurizer of their input kind,
 * fitted on the pool inputs (unlabeled data a pool-based learner may look at).
 */
export function loadData(dataset: AlDataset, seed: number, cache: Map<string, Data>): Data {
  const key = dataset === 'mnist' ? `mnist-${seed}` : dataset;
  const hit = cache.get(key);
  if (hit) return hit;
  const data =
    dataset === 'mnist'
      ? mnistData(seed)
      : dataset === 'spam'
        ? spamFeatures()
        : productFeatures(rawSplit(dataset, seed));
  cache.set(key, data);
  return data;
}

function mnistData(seed: number): Data {
  const train = loadMnist('train');
  const test = loadMnist('test');
  const rows = sampleIndices(train.features.rows, 20000, createRng(deriveSeed(seed, 3)));
  return {
    pool: takeRows(train.features, rows),
    poolLabels: Int32Array.from(rows, (i) => train.labels[i]),
    test: test.features,
    testLabels: test.labels,
    numClasses: 10,
  };
}

function spamFeatures(): Data {
  const d = spamData(undefined, 'pool');
  return {
    pool: takeRows(d.features, d.pool),
    poolLabels: Int32Array.from(d.pool, (i) => d.labels[i]),
    test: takeRows(d.features, d.test),
    testLabels: Int32Array.from(d.test, (i) => d.labels[i]),
    numClasses: 2,
  };
}

function productFeatures(raw: RawSplit): Data {
  const inputs = (part: RawPart) => part.payloads.map((p) => modelInput(raw.kind, p));
  const pool = inputs(raw.pool);
  const featurizer = fitFeaturizer(featurizerConfig(raw.kind, pool[0]), pool);
  return {
    pool: featurizer.transform(pool),
    poolLabels: raw.pool.classes,
    test: featurizer.transform(inputs(raw.test)),
    testLabels: raw.test.classes,
    numClasses: raw.labelNames.length,
  };
}
