import type { InputKind, LabeledItem } from '@labelloop/db';
import {
  decodeImage,
  defaultModelSpec,
  type FeaturizerConfig,
  type ImageInput,
  imageConfig,
  type ModelSpec,
  tabularConfig,
  textConfig,
} from '@labelloop/ml';
import type { ModelInput } from './model-input';

/** A training run that cannot start with these labels; the job fails at once (no retry) with this message. */
export class TrainingRefused extends Error {}

export interface Split<I> {
  inputs: I[];
  /** Class index per input: position of its label in the project's label set. */
  labels: number[];
}

export interface TrainingSet<I = unknown> {
  train: Split<I>;
  holdout: Split<I>;
}

/**
 * The model spec a project trains with: the defaults of its input kind (libs/ml defaultModelSpec, the one
 * place defaults live) under the fields the project set, and the run's seed.
 */
export function effectiveModelSpec(
  project: { inputKind: InputKind; modelSpec: unknown },
  seed: number,
): ModelSpec {
  return defaultModelSpec(project.inputKind, { ...(project.modelSpec as Partial<ModelSpec>), seed });
}

/** Images are resized to at most this many pixels on their longer side. */
export const MAX_IMAGE_SIDE = 64;

/**
 * The featurizer of a project's kind. Images take the size and color of the first training image
 * (scaled down to MAX_IMAGE_SIDE on the longer side; color becomes RGB, alpha is dropped).
 */
export function featurizerConfig(kind: InputKind, firstInput: ModelInput): FeaturizerConfig {
  if (kind === 'text') return textConfig();
  if (kind === 'tabular') return tabularConfig();
  const image = decodeImage(firstInput as ImageInput);
  const scale = Math.min(1, MAX_IMAGE_SIDE / Math.max(image.width, image.height));
  return imageConfig({
    width: Math.max(1, Math.round(image.width * scale)),
    height: Math.max(1, Math.round(image.height * scale)),
    channels: image.channels === 1 ? 1 : 3,
  });
}

/**
 * Pool items train, holdout items evaluate. Refuses when nothing labeled is in the pool or the pool has
 * fewer than 2 distinct labels (a classifier needs two classes to tell apart).
 */
export function buildTrainingSet<I>(
  labelSet: readonly string[],
  items: readonly LabeledItem[],
  inputOf: (item: LabeledItem) => I,
): TrainingSet<I> {
  const set = splitLabeled(labelSet, items, inputOf);
  assertTrainable(labelSet, set.train.labels);
  return set;
}

/** Labeled items as label indices and inputs, pool and holdout apart; labels not in `labelSet` are left out. */
export function splitLabeled<I>(
  labelSet: readonly string[],
  items: readonly LabeledItem[],
  inputOf: (item: LabeledItem) => I,
): TrainingSet<I> {
  const index = new Map(labelSet.map((label, i) => [label, i]));
  const set: TrainingSet<I> = { train: { inputs: [], labels: [] }, holdout: { inputs: [], labels: [] } };
  for (const item of items) {
    const label = index.get(item.label);
    if (label === undefined) continue;
    const split = item.split === 'holdout' ? set.holdout : set.train;
    split.inputs.push(inputOf(item));
    split.labels.push(label);
  }
  return set;
}

/** Throws TrainingRefused unless the pool labels (indices into `labelSet`) can train a classifier. */
export function assertTrainable(labelSet: readonly string[], trainLabels: readonly number[]): void {
  if (trainLabels.length === 0) {
    throw new TrainingRefused('no labeled training items: label some pool items before training');
  }
  const distinct = new Set(trainLabels).size;
  if (distinct < 2) {
    throw new TrainingRefused(
      `training needs at least 2 distinct labels among labeled pool items, found ${distinct} ` +
        `(${labelSet[trainLabels[0]]})`,
    );
  }
}
