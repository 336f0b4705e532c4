/**
 * Plain JSON-serializable specs (they are stored in the database) and the functions that fill their defaults.
 * Fill defaults when reading a stored spec too, so specs saved by older versions gain new fields.
 */

export type Architecture = 'linear' | 'mlp' | 'cnn';

export interface ModelSpec {
  architecture: Architecture;
  /** Hidden layer widths of `mlp`; for `cnn` the width of its dense layer (first entry). */
  hiddenUnits: number[];
  /** Filters of each `cnn` conv block (3x3 conv, ReLU, 2x2 max-pool). */
  convFilters: number[];
  /** Dropout after each hidden layer; for `linear` it is applied to the inputs (so BALD works there too). */
  dropout: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /**
   * `cosine` anneals the learning rate from `learningRate` to 0 over the fit's planned steps (epochs x steps an
   * epoch, at most `maxSteps`), so the last steps are small and the final weights settle instead of landing
   * wherever the last full-size step left them; `none` keeps it constant.
   */
  learningRateDecay: 'none' | 'cosine';
  /** L2 penalty on kernels, added to the mean loss as l2/2 * sum(w^2). */
  l2: number;
  /** Early stopping: epochs without validation-loss improvement before stopping (0 disables it). */
  patience: number;
  /** Share of the labeled rows held out for early stopping; skipped when that is fewer than `minValidation` rows. */
  validationFraction: number;
  minValidation: number;
  /** Tiny labeled sets still get this many optimizer steps (epochs are raised to reach it). */
  minSteps: number;
  /**
   * Large labeled sets get at most this many optimizer steps (the last epoch may stop part-way), so a fit's
   * time stops growing with the labels: retraining every few dozen labels on a big project stays seconds.
   */
  maxSteps: number;
  /**
   * A training reads at most this many labeled pool items, a seeded sample (the product's pipeline applies
   * it when it loads the labels), so loading, featurizing and memory stay bounded on a project with many
   * labels; with `maxSteps` a fit sees only so many rows anyway.
   */
  maxTrainRows: number;
  /** Weight each class by n / (classes * n_class) so rare classes are not ignored. */
  classWeights: boolean;
  seed: number;
}

export function modelSpec(partial: Partial<ModelSpec> = {}): ModelSpec {
  const spec: ModelSpec = {
    architecture: 'mlp',
    hiddenUnits: [256, 128],
    convFilters: [32, 64],
    dropout: 0.2,
    epochs: 30,
    batchSize: 64,
    learningRate: 1e-3,
    learningRateDecay: 'none',
    l2: 1e-4,
    patience: 4,
    validationFraction: 0.1,
    minValidation: 50,
    minSteps: 100,
    maxSteps: 3000,
    maxTrainRows: 20_000,
    classWeights: true,
    seed: 0,
    ...stripUndefined(partial),
  };
  if (spec.architecture === 'linear') spec.hiddenUnits = [];
  if (spec.architecture === 'mlp' && spec.hiddenUnits.length === 0) {
    throw new Error('mlp needs at least one hidden layer in hiddenUnits; use architecture "linear" for none');
  }
  if (!(spec.dropout >= 0 && spec.dropout < 1))
    throw new Error(`dropout must be in [0, 1), got ${spec.dropout}`);
  if (!(spec.batchSize >= 1) || !(spec.epochs >= 1))
    throw new Error('batchSize and epochs must be at least 1');
  if (!(spec.maxSteps >= 1)) throw new Error('maxSteps must be at least 1');
  if (!(spec.maxTrainRows >= 1)) throw new Error('maxTrainRows must be at least 1');
  return spec;
}

/** The input kinds a project can have (the featurizer kinds). */
export type ModelInputKind = 'text' | 'image' | 'tabular';

/**
 * What a text model gets unless the project's spec says otherwise: softmax (= logistic) regression on the
 * TF-IDF rows of `textConfig()` (columns only for the n-grams seen in training), input dropout 0.2 (it
 * regularizes, and gives BALD and mc_margin MC dropout to sample), early stopping on a 10% validation slice
 * once that has 50 rows. The weights are vocabulary x classes (at most 65,536 x classes), so they and the
 * fit time grow with the data. Chosen on SpamAssassin splits that are not the benchmark's (libs/ml/README.md,
 * bench/results/ml.json): as accurate as the MLP [256, 128] default it replaces on 1,000 labeled e-mails,
 * more accurate on 50-200, and fitted in seconds instead of minutes.
 */
export const TEXT_MODEL_DEFAULTS: Readonly<Partial<ModelSpec>> = Object.freeze({
  architecture: 'linear',
  dropout: 0.2,
  epochs: 20,
  batchSize: 32,
  learningRate: 0.03,
  l2: 0,
  patience: 4,
  minSteps: 200,
  // A linear model over n-grams is at its best validation loss within about one epoch of a large set: on
  // 20,000 texts the first epoch was the best, and 1,000 steps (1.6 epochs) gave the same holdout accuracy as
  // 3,000 in a third of the time. Sets up to ~1,500 rows (20 epochs of 32) never reach it.
  maxSteps: 1000,
});

/**
 * What an image model gets unless the project's spec says otherwise: the MLP [256, 128] trained on every
 * labeled row for a fixed 20 epochs (no early stopping), Adam at 3e-3 annealed to 0 by a cosine. Early
 * stopping on a 10% validation slice made successive retrains jump: the slice is a few dozen rows at a few
 * hundred labels, so the stopping epoch (and the accuracy) was noise, and it cost a tenth of the labels.
 * Chosen on MNIST with random labels, seeds 100-102 (libs/ml/README.md): at 2,000 labels 0.9347 test accuracy
 * (was 0.9226) in about 1.3x the fit time; the largest drop between retrains 100 labels apart 0.0026 (was 0.0075).
 */
export const IMAGE_MODEL_DEFAULTS: Readonly<Partial<ModelSpec>> = Object.freeze({
  architecture: 'mlp',
  epochs: 20,
  learningRate: 3e-3,
  learningRateDecay: 'cosine',
  patience: 0,
});

/** Per input kind, the defaults its default architecture gets (others get the generic `modelSpec()` ones). */
const KIND_DEFAULTS: Record<ModelInputKind, Readonly<Partial<ModelSpec>>> = {
  text: TEXT_MODEL_DEFAULTS,
  image: IMAGE_MODEL_DEFAULTS,
  tabular: {},
};

/**
 * The default spec of a project of this input kind, with `partial` (the project's stored spec, a pinned
 * seed) on top. Text gets TEXT_MODEL_DEFAULTS and images IMAGE_MODEL_DEFAULTS unless `partial` asks for
 * another architecture (then that architecture's generic defaults apply, as for tables: `modelSpec(partial)`).
 */
export function defaultModelSpec(kind: ModelInputKind, partial: Partial<ModelSpec> = {}): ModelSpec {
  const given = stripUndefined(partial);
  const defaults = KIND_DEFAULTS[kind];
  const architecture = given.architecture ?? defaults.architecture;
  if (architecture !== defaults.architecture) return modelSpec(given);
  return modelSpec({ ...defaults, ...given });
}

export type Strategy = 'random' | 'least_confidence' | 'margin' | 'entropy' | 'bald' | 'mc_margin';
export type DiversityMethod = 'k_center' | 'kmeans_pp';

export interface AcquisitionSpec {
  strategy: Strategy;
  /** Pick the batch among the top candidates so that it spreads over the penultimate-layer space. */
  diversity: boolean;
  diversityMethod: DiversityMethod;
  /** Candidates considered by diversity = batch size x this. */
  candidateMultiplier: number;
  /** MC-dropout passes for `bald` and `mc_margin`. */
  mcPasses: number;
  /**
   * Share the batch out evenly over the predicted classes (the most uncertain rows of each), so querying
   * near the boundary does not fill a batch with one side of it.
   */
  classBalanced: boolean;
  seed: number;
}

/**
 * The product default, chosen from bench/results/al-*.json: margin sampling with k-center diversity over the
 * top candidates was the only strategy that never fell more than 1 point below random past 200 labels on both
 * MNIST and SpamAssassin (plain margin saves more labels but dipped 2.5 points on SpamAssassin); see
 * libs/ml/README.md for the numbers.
 */
export const DEFAULT_ACQUISITION: Readonly<AcquisitionSpec> = Object.freeze({
  strategy: 'margin',
  diversity: true,
  diversityMethod: 'k_center',
  candidateMultiplier: 5,
  mcPasses: 10,
  classBalanced: false,
  seed: 0,
});

export function acquisitionSpec(partial: Partial<AcquisitionSpec> = {}): AcquisitionSpec {
  const spec: AcquisitionSpec = { ...DEFAULT_ACQUISITION, ...stripUndefined(partial) };
  if (!(spec.candidateMultiplier >= 1)) throw new Error('candidateMultiplier must be at least 1');
  if (!(spec.mcPasses >= 2)) throw new Error('mcPasses must be at least 2');
  return spec;
}

function stripUndefined<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}
