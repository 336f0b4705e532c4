import {
  artifactToFiles,
  evaluate,
  fitFeaturizer,
  MANIFEST_FILE,
  type ModelSpec,
  predictProbabilities,
  type TextFeaturizerConfig,
  trainClassifier,
  WEIGHTS_FILE,
} from '@labelloop/ml';
import type { SpamTextSplit } from './spam';

/** One text model measured on a split: what a trainer run costs and gives. */
export interface TextModelFigures {
  featurizer: TextFeaturizerConfig;
  model: ModelSpec;
  /** Columns of the fitted featurizer (= input width of the model). */
  columns: number;
  nonzeros_per_row: number;
  /** Featurizer fit + transform of the training texts. */
  featurize_s: number;
  train_s: number;
  /** featurize_s + train_s: the fit of a trainer run. */
  fit_s: number;
  epochs_run: number;
  parameters: number;
  /** weights.bin of the artifact. */
  weights_mb: number;
  /** manifest.json of the artifact (it carries the featurizer state: IDF, vocabulary). */
  manifest_mb: number;
  holdout_accuracy: number;
  holdout_macro_f1: number;
}

export async function measureTextModel(
  data: SpamTextSplit,
  featurizerConfig: TextFeaturizerConfig,
  spec: ModelSpec,
): Promise<TextModelFigures> {
  const started = performance.now();
  const featurizer = fitFeaturizer(featurizerConfig, data.train.texts);
  const features = featurizer.transform(data.train.texts);
  const featurized = performance.now();
  const { model, history } = await trainClassifier({
    features,
    labels: data.train.labels,
    numClasses: 2,
    spec,
  });
  const trained = performance.now();
  try {
    const metrics = evaluate(
      predictProbabilities(model, featurizer.transform(data.holdout.texts)),
      data.holdout.labels,
      2,
    );
    const files = await artifactToFiles({ model, featurizer, labels: ['ham', 'spam'] });
    const mb = (name: string) => +(files.get(name)!.length / 1e6).toFixed(3);
    const nnz = features.kind === 'sparse' ? features.indptr[features.rows] : features.rows * features.cols;
    return {
      featurizer: featurizerConfig,
      model: spec,
      columns: featurizer.dim,
      nonzeros_per_row: Math.round(nnz / features.rows),
      featurize_s: +((featurized - started) / 1000).toFixed(2),
      train_s: +((trained - featurized) / 1000).toFixed(2),
      fit_s: +((trained - started) / 1000).toFixed(2),
      epochs_run: history.length,
      parameters: model.variables().reduce((sum, v) => sum + v.size, 0),
      weights_mb: mb(WEIGHTS_FILE),
      manifest_mb: mb(MANIFEST_FILE),
      holdout_accuracy: +metrics.accuracy.toFixed(4),
      holdout_macro_f1: +metrics.macroF1.toFixed(4),
    };
  } finally {
    model.dispose();
  }
}
