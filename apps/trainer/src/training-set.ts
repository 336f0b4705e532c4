import type { InputKind, LabeledItem } from '@labelloop/db';
import {
  decodeImage,
  type FeaturizerConfig,
  type ImageInput,
  imageConfig,
  type RawImage,
  type TabularInput,
  tabularConfig,
  textConfig,
} from '@labelloop/ml';

export type ModelInput = string | TabularInput | ImageInput;

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
 * The featurizer input of an item: text from `payload.text`; tabular from `payload.features` (an array
 * becomes columns f0, f1, ...; a record is kept; booleans become 0/1); an image from its object-store
 * bytes when it has them (`bytes`), else from `payload.pixels` with `width` / `height`.
 */
export function modelInput(kind: InputKind, payload: unknown, bytes?: Uint8Array): ModelInput {
  const value = payload as { text?: unknown; features?: unknown; pixels?: unknown } | null;
  if (kind === 'text') {
    if (typeof value?.text !== 'string') throw new Error('text item without a text payload');
    return value.text;
  }
  if (kind === 'image') {
    if (bytes) return bytes;
    if (!Array.isArray(value?.pixels)) throw new Error('image item without pixels or stored bytes');
    const size = value as { width?: number | null; height?: number | null };
    return rawImage(value.pixels as number[], size.width ?? undefined, size.height ?? undefined);
  }
  const features = value?.features;
  if (Array.isArray(features)) {
    return Object.fromEntries(features.map((v, i) => [`f${i}`, tabularValue(v)]));
  }
  if (features && typeof features === 'object') {
    return Object.fromEntries(Object.entries(features).map(([k, v]) => [k, tabularValue(v)]));
  }
  throw new Error('tabular item without a features payload');
}

/**
 * Raw pixels (row-major, channels interleaved). Without width and height the image is square and gray;
 * with one of them it is gray; with both the channel count is what the length implies (1, 3 or 4).
 */
export function rawImage(pixels: number[], width?: number, height?: number): RawImage {
  const n = pixels.length;
  const w = width ?? (height ? n / height : Math.sqrt(n));
  const h = height ?? n / w;
  const channels = n / (w * h);
  if (!Number.isInteger(w) || !Number.isInteger(h) || ![1, 3, 4].includes(channels)) {
    throw new Error(
      `${n} pixels do not make an image of ${width ?? '?'}x${height ?? '?'} with 1, 3 or 4 channels`,
    );
  }
  return { data: pixels, width: w, height: h, channels: channels as RawImage['channels'] };
}

function tabularValue(v: unknown): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return null;
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
  const index = new Map(labelSet.map((label, i) => [label, i]));
  const set: TrainingSet<I> = { train: { inputs: [], labels: [] }, holdout: { inputs: [], labels: [] } };
  for (const item of items) {
    const label = index.get(item.label);
    if (label === undefined) continue;
    const split = item.split === 'holdout' ? set.holdout : set.train;
    split.inputs.push(inputOf(item));
    split.labels.push(label);
  }
  if (set.train.labels.length === 0) {
    throw new TrainingRefused('no labeled training items: label some pool items before training');
  }
  const distinct = new Set(set.train.labels).size;
  if (distinct < 2) {
    throw new TrainingRefused(
      `training needs at least 2 distinct labels among labeled pool items, found ${distinct} ` +
        `(${labelSet[set.train.labels[0]]})`,
    );
  }
  return set;
}
