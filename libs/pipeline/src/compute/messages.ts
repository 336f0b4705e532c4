import type { InputKind } from '@labelloop/db';
import type { AcquisitionSpec, BackendReport, Metrics, ModelSpec } from '@labelloop/ml';
import type { ModelInput } from '../model-input';

// What crosses between the event loop and a compute worker: plain data only (structured clone for worker
// threads, V8 serialization for child processes), so either kind of worker takes the same messages.

/** Artifact files by name; Buffers arrive on the other side as plain Uint8Arrays. */
export type ArtifactBytes = Map<string, Uint8Array>;

/** Inputs with their class indices (positions in the project's label set). */
export interface LabeledInputs {
  inputs: ModelInput[];
  labels: number[];
}

export interface FitRequest {
  kind: InputKind;
  /** The project's label set: class i is labels[i]. */
  labels: string[];
  spec: ModelSpec;
  train: LabeledInputs;
  holdout: LabeledInputs;
}

export type TrainingMetrics = Partial<Metrics> & {
  holdoutRows: number;
  /** Labeled items left out because they could not be featurized (e.g. a corrupt stored image). */
  unreadableRows: number;
  trainRows: number;
  validationRows: number;
  bestEpoch: number;
};

export interface FitResult {
  files: ArtifactBytes;
  /** Holdout metrics (absent without holdout rows) and the fit's own figures. */
  metrics: TrainingMetrics;
  accuracy: number | null;
  backend: string;
  trainMs: number;
}

/** Progress a fit emits after each epoch. */
export interface EpochProgress {
  epoch: number;
  loss: number;
}

/** A k-fold over the rows staged beforehand under `rowsId` (ComputeMethods.stageRows). */
export interface OutOfSampleRequest {
  kind: InputKind;
  numClasses: number;
  spec: ModelSpec;
  rowsId: string;
  folds: number;
}

/**
 * Every labeled row the k-fold could read, most suspicious first (confident learning's self-confidence order),
 * as parallel typed arrays: a worker thread transfers their buffers to the event loop, where structured cloning
 * 200,000 row objects would block it. Row r of the ranking is request input `rows[r]`.
 */
export interface LabelRanking {
  rows: Int32Array;
  /** Class index of the label the row was given. */
  givenLabels: Int32Array;
  /** The class confident learning assigns when flagged, else the most likely other class. */
  suggestedLabels: Int32Array;
  /** p(given label) out of sample; the ranking is by it, ascending. */
  selfConfidence: Float32Array;
  /** 1 where another class clears its per-class threshold and beats the given one. */
  flagged: Uint8Array;
}

/** Progress a k-fold emits after each fold. */
export interface FoldProgress {
  fold: number;
  folds: number;
}

export interface ScoreRequest {
  inputs: ModelInput[];
  spec: AcquisitionSpec;
}

export interface ScoreResponse {
  /** The model's class names: column j of the probabilities is labels[j]. */
  labels: string[];
  /** Indices (into the request's inputs) of the rows scored: an unreadable input has no row. */
  rows: number[];
  /** n x classes, row-major, columns in the model's label order. */
  probabilities: Float32Array;
  /** Acquisition score per row (higher = label sooner). */
  scores: Float32Array;
}

export interface ChooseRequest {
  /** The candidates' inputs; only read when diversity needs their embeddings. */
  inputs: ModelInput[] | null;
  scores: Float32Array;
  /** n x classes rows for class-balanced selection. */
  probabilities: Float32Array | null;
  batchSize: number;
  spec: AcquisitionSpec;
}

export interface PredictResponse {
  labels: string[];
  /** n x classes, row-major. */
  probabilities: Float32Array;
}

export interface EvaluateRequest {
  files: ArtifactBytes;
  inputs: ModelInput[];
  /** Class index of each input in the artifact's label order. */
  labels: number[];
}

/** A model the worker keeps loaded, named by its model version id. */
export interface ModelRef {
  id: string;
  artifactKey: string;
}

/** The methods a compute worker offers (see compute-tasks.ts), for typed calls from the pool. */
export interface ComputeMethods {
  backend(): BackendReport;
  fit(request: FitRequest): Promise<FitResult>;
  /**
   * Adds a page of labeled rows to the set `rowsId` (a new id drops the rows of a set never run), so a large
   * set crosses to the worker in pieces instead of being built whole on the event loop. Returns the rows so far.
   */
  stageRows(rowsId: string, page: LabeledInputs): number;
  /** The k-fold over a staged set, which it consumes. */
  outOfSample(request: OutOfSampleRequest): Promise<LabelRanking>;
  loadModel(id: string, files: ArtifactBytes): void;
  score(modelId: string, request: ScoreRequest): ScoreResponse;
  choose(modelId: string, request: ChooseRequest): number[];
  predict(modelId: string, inputs: ModelInput[]): PredictResponse;
  evaluate(request: EvaluateRequest): Metrics | null;
  /** Per image: null when it decodes, else why not. */
  checkImages(images: Uint8Array[]): (string | null)[];
}

/** Error codes a worker attaches (as `code`) so the event loop can tell them from failures. */
export const COMPUTE_ERRORS = {
  /** The worker does not hold the model: load it (loadModel) and call again. */
  modelNotLoaded: 'MODEL_NOT_LOADED',
  /** The inputs do not fit the model's featurizer (a client error). */
  badInput: 'BAD_INPUT',
  /** The artifact's files do not make a model. */
  badArtifact: 'BAD_ARTIFACT',
} as const;
