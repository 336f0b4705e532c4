/**
 * @labelloop/ml: the learning core (framework-free). See libs/ml/README.md for the API walk-through.
 */
export { tf } from './tf';
export {
  BACKEND_CANDIDATES,
  type BackendCandidate,
  type BackendReport,
  currentBackend,
  resolveBackend,
  type ResolveOptions,
  trainsConvolutions,
} from './backend';
export {
  type AcquisitionSpec,
  acquisitionSpec,
  type Architecture,
  DEFAULT_ACQUISITION,
  defaultModelSpec,
  type DiversityMethod,
  IMAGE_MODEL_DEFAULTS,
  type ModelInputKind,
  type ModelSpec,
  modelSpec,
  type Strategy,
  TEXT_MODEL_DEFAULTS,
} from './spec';
export {
  type DenseMatrix,
  denseMatrix,
  type FeatureMatrix,
  rowsToTensor,
  sliceRows,
  type SparseMatrix,
  takeRows,
} from './matrix';
export { fitFeaturizer, loadFeaturizer } from './featurizers';
export { decodeImage, ImageFeaturizer, imageConfig } from './featurizers/image';
export {
  type ImageHeader,
  ImageRejected,
  MAX_IMAGE_PIXELS,
  readImageHeader,
} from './featurizers/image-header';
export { TextFeaturizer, textConfig } from './featurizers/text';
export { TabularFeaturizer, tabularConfig } from './featurizers/tabular';
export type {
  Featurizer,
  FeaturizerConfig,
  FeaturizerState,
  ImageFeaturizerConfig,
  ImageInput,
  RawImage,
  TabularFeaturizerConfig,
  TabularInput,
  TextFeaturizerConfig,
  TextInput,
} from './featurizers/types';
export { Classifier, type ClassifierShape, type ForwardOptions } from './models/classifier';
export { classWeights, type EpochLog, trainClassifier, type TrainInput, type TrainResult } from './train';
export { predictProbabilities, scorePool, scoreRows, type ScoreOptions, type ScoreResult } from './scoring';
export {
  bald,
  entropy,
  leastConfidence,
  margin,
  mcMargin,
  mcMean,
  uncertainty,
} from './acquisition/uncertainty';
export { kCenterGreedy, kMeansPlusPlus } from './acquisition/diversity';
export { balancedOrder, coldStart, selectBatch, type SelectInput, topIndices } from './acquisition/select';
export { randomScore } from './acquisition/random-order';
export {
  findLabelIssues,
  type IssueRanking,
  type LabelIssue,
  type LabelIssueReport,
  outOfSampleProbabilities,
  type OutOfSampleInput,
  stratifiedFolds,
} from './label-issues';
export { argmaxRows, evaluate, type Metrics } from './metrics';
export {
  type ArtifactFiles,
  type ArtifactInput,
  artifactFromFiles,
  type ArtifactManifest,
  artifactToFiles,
  loadArtifact,
  MANIFEST_FILE,
  MODEL_FILE,
  type ModelArtifact,
  saveArtifact,
  WEIGHTS_FILE,
} from './artifact';
export {
  BUNDLE_FILES,
  BundleError,
  type BundleInfo,
  CHECKSUMS_FILE,
  DEFAULT_MAX_UNPACKED_BYTES,
  packBundle,
  type UnpackedBundle,
  unpackBundle,
} from './bundle';
export {
  createRng,
  deriveSeed,
  hashString,
  permutation,
  type Rng,
  sampleIndices,
  shuffleInPlace,
} from './random';
export {
  type CurvePoint,
  fitPowerLaw,
  forecastAccuracy,
  type ForecastOptions,
  type LearningCurveForecast,
  MIN_FORECAST_POINTS,
  type PowerLaw,
  predictAccuracy,
  WEIGHT_POWER,
} from './forecast';
export {
  type Agreement,
  type PredictionPair,
  predictionAgreement,
  STOP_KAPPA,
  STOP_WINDOW,
  stopIndex,
} from './stopping';
