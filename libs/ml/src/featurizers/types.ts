import type { FeatureMatrix } from '../matrix';

/** Raw pixels, row-major, interleaved channels (1 = gray, 3 = RGB, 4 = RGBA), values 0-255. */
export interface RawImage {
  data: ArrayLike<number>;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** An image item: raw pixels, or the bytes of a PNG or JPEG file. */
export type ImageInput = RawImage | Uint8Array;
export type TextInput = string;
export type TabularInput = Record<string, number | string | null | undefined>;

export interface ImageFeaturizerConfig {
  kind: 'image';
  width: number;
  height: number;
  channels: 1 | 3;
  /** `unit`: pixels / 255 into [0, 1]; `centered`: into [-1, 1]. */
  scale: 'unit' | 'centered';
}

export interface TextFeaturizerConfig {
  kind: 'text';
  /** Hash space size: n-grams fall into this many buckets (the columns themselves when `maxFeatures` is 0). */
  dim: number;
  /** Word n-gram lengths [min, max]; [0, 0] disables them. */
  wordNgrams: [number, number];
  /** Character n-gram lengths [min, max]; [0, 0] disables them. */
  charNgrams: [number, number];
  lowercase: boolean;
  /** Only the first maxChars characters are used (bounds the cost of huge documents). */
  maxChars: number;
  /** tf -> 1 + ln(tf). */
  sublinearTf: boolean;
  /**
   * A bucket gets a column when at least this many training documents contain it (1 when absent, and when no
   * bucket reaches it).
   */
  minDf?: number;
  /**
   * At most this many columns: the buckets in the most training documents. 0 or absent (configs saved before
   * vocabularies existed) = no vocabulary: all `dim` buckets are columns.
   */
  maxFeatures?: number;
}

export interface TabularFeaturizerConfig {
  kind: 'tabular';
  /** Numeric columns; inferred at fit time from the values when empty. */
  numeric: string[];
  /** Categorical columns; inferred at fit time when empty. */
  categorical: string[];
  /** Most frequent categories kept per column; the rest and missing share all-zero one-hot. */
  maxCategories: number;
}

export type FeaturizerConfig = ImageFeaturizerConfig | TextFeaturizerConfig | TabularFeaturizerConfig;

/** JSON form of a fitted featurizer: what an artifact carries. */
export type FeaturizerState =
  | { config: ImageFeaturizerConfig }
  | { config: TextFeaturizerConfig; documents: number; idf: string; vocabulary?: string }
  | {
      config: TabularFeaturizerConfig;
      means: number[];
      stds: number[];
      categories: Record<string, string[]>;
    };

export interface Featurizer<I = unknown> {
  readonly config: FeaturizerConfig;
  /** Width of the rows produced. */
  readonly dim: number;
  /** [height, width, channels] for image rows (what a CNN reshapes to). */
  readonly imageShape?: [number, number, number];
  transform(inputs: readonly I[]): FeatureMatrix;
  toJSON(): FeaturizerState;
}
