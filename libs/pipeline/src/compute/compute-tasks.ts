import type { InputKind } from '@labelloop/db';
import {
  artifactFromFiles,
  type ArtifactFiles,
  artifactToFiles,
  type BackendReport,
  evaluate as evaluateProbabilities,
  findLabelIssues,
  fitFeaturizer,
  decodeImage,
  ImageFeaturizer,
  type Metrics,
  type ModelArtifact,
  outOfSampleProbabilities,
  predictProbabilities,
  resolveBackend,
  scoreRows,
  selectBatch,
  trainClassifier,
} from '@labelloop/ml';
import type { ModelInput } from '../model-input';
import { BoundedCache } from '../ranking';
import { featurizerConfig } from '../training-set';
import { packRanking } from './label-ranking';
import {
  type ArtifactBytes,
  type ChooseRequest,
  COMPUTE_ERRORS,
  type ComputeMethods,
  type EpochProgress,
  type EvaluateRequest,
  type FitRequest,
  type FitResult,
  type FoldProgress,
  type LabeledInputs,
  type LabelRanking,
  type OutOfSampleRequest,
  type PredictResponse,
  type ScoreRequest,
  type ScoreResponse,
} from './messages';

/** Loaded models a compute worker keeps (the promoted models of a few busy projects). */
export const MODEL_CACHE_SIZE = 4;

/**
 * The compute a worker runs for the event loop: everything that keeps a CPU busy (image decoding,
 * featurizing, fitting, k-fold, forward passes, batch diversity). One backend per worker, resolved on the
 * first call; one bounded model cache per worker, shared by every caller of that worker (the scorer and
 * model serving use the same inference worker). `emit` carries progress back to the caller.
 */
export function createComputeTasks(
  preferBackend: string,
  emit: (progress: EpochProgress | FoldProgress) => void,
): { [K in keyof ComputeMethods]: (...args: Parameters<ComputeMethods[K]>) => Promise<unknown> } {
  let backend: Promise<BackendReport> | undefined;
  const ready = () => {
    backend ??= resolveBackend({ prefer: preferBackend }).catch((error: Error) => {
      backend = undefined;
      throw error;
    });
    return backend;
  };
  const models = new BoundedCache<string, ModelArtifact>(MODEL_CACHE_SIZE, (artifact) =>
    artifact.model.dispose(),
  );
  const model = (id: string): ModelArtifact => {
    const artifact = models.get(id);
    if (!artifact) throw coded(COMPUTE_ERRORS.modelNotLoaded, `model ${id} is not loaded in this worker`);
    return artifact;
  };
  // The k-fold rows being staged: one set at a time, so a caller that died mid-way leaves nothing behind
  // once the next set starts.
  let staged: { id: string; rows: LabeledInputs } | null = null;

  return {
    backend: () => ready(),

    async fit(request: FitRequest): Promise<FitResult> {
      const report = await ready();
      const { kind, labels, spec } = request;
      const train = featurizeLabeled(kind, request.train);
      const { featurizer } = train;
      const started = performance.now();
      const result = await trainClassifier({
        features: train.features,
        labels: train.labels,
        numClasses: labels.length,
        spec,
        imageShape: featurizer instanceof ImageFeaturizer ? featurizer.imageShape : undefined,
        onEpoch: (log) => emit({ epoch: log.epoch, loss: log.trainLoss }),
      });
      const trainMs = Math.round(performance.now() - started);
      try {
        const holdout = transformReadable(featurizer, request.holdout.inputs);
        const holdoutRows = holdout.rows.length;
        const evaluation =
          holdoutRows > 0
            ? evaluateProbabilities(
                predictProbabilities(result.model, holdout.features),
                holdout.rows.map((i) => request.holdout.labels[i]),
                labels.length,
              )
            : null;
        const metrics = {
          ...evaluation,
          holdoutRows,
          unreadableRows:
            request.train.inputs.length - train.labels.length + request.holdout.inputs.length - holdoutRows,
          trainRows: result.trainRows,
          validationRows: result.validationRows,
          bestEpoch: result.bestEpoch,
        };
        const files = await artifactToFiles({
          model: result.model,
          featurizer,
          labels,
          metrics,
          backend: report.backend,
        });
        return { files, metrics, accuracy: evaluation?.accuracy ?? null, backend: report.backend, trainMs };
      } finally {
        result.model.dispose();
      }
    },

    async stageRows(rowsId: string, page: LabeledInputs): Promise<number> {
      if (staged?.id !== rowsId) staged = { id: rowsId, rows: { inputs: [], labels: [] } };
      for (const input of page.inputs) staged.rows.inputs.push(input);
      for (const label of page.labels) staged.rows.labels.push(label);
      return staged.rows.labels.length;
    },

    async outOfSample(request: OutOfSampleRequest): Promise<LabelRanking> {
      const { kind, numClasses, spec, folds, rowsId } = request;
      if (staged?.id !== rowsId) throw new Error(`no rows staged as ${rowsId} in this worker`);
      const set = staged.rows;
      staged = null;
      await ready();
      const { featurizer, features, rows, labels } = featurizeLabeled(kind, set);
      const probabilities = await outOfSampleProbabilities({
        features,
        labels,
        numClasses,
        spec,
        folds,
        imageShape: featurizer instanceof ImageFeaturizer ? featurizer.imageShape : undefined,
        onFold: (fold, total) => emit({ fold, folds: total }),
      });
      return packRanking(findLabelIssues(probabilities, labels, numClasses).ranked, rows);
    },

    async loadModel(id: string, files: ArtifactBytes): Promise<void> {
      await ready();
      if (models.get(id)) return;
      models.set(id, loadArtifact(files));
    },

    async score(modelId: string, request: ScoreRequest): Promise<ScoreResponse> {
      const { model: classifier, featurizer, manifest } = model(modelId);
      const { features, rows } = transformReadable(featurizer, request.inputs);
      const { probabilities, scores } = scoreRows(classifier, features, request.spec, { embeddings: false });
      return { labels: manifest.labels, rows, probabilities, scores };
    },

    async choose(modelId: string, request: ChooseRequest): Promise<number[]> {
      const { scores, probabilities, batchSize, spec } = request;
      let embeddings;
      if (request.inputs) {
        const { model: classifier, featurizer } = model(modelId);
        embeddings = scoreRows(classifier, transform(featurizer, request.inputs), spec).embeddings;
      }
      return selectBatch({ scores, embeddings, probabilities: probabilities ?? undefined, batchSize, spec });
    },

    async predict(modelId: string, inputs: ModelInput[]): Promise<PredictResponse> {
      const { model: classifier, featurizer, manifest } = model(modelId);
      const probabilities = predictProbabilities(classifier, transform(featurizer, inputs));
      return { labels: manifest.labels, probabilities };
    },

    async checkImages(images: Uint8Array[]): Promise<(string | null)[]> {
      return images.map((bytes) => {
        try {
          decodeImage(bytes);
          return null;
        } catch (error) {
          return `not a readable image: ${(error as Error).message}`;
        }
      });
    },

    async evaluate(request: EvaluateRequest): Promise<Metrics | null> {
      await ready();
      const artifact = loadArtifact(request.files);
      try {
        if (request.inputs.length === 0) return null;
        const probabilities = predictProbabilities(
          artifact.model,
          transform(artifact.featurizer, request.inputs),
        );
        return evaluateProbabilities(probabilities, request.labels, artifact.manifest.labels.length);
      } finally {
        artifact.model.dispose();
      }
    },
  };
}

/**
 * A featurizer fitted on labeled inputs, with the features and labels of the rows it can read. An unreadable
 * item (a corrupt image stored before imports were checked) is left out rather than failing the job.
 */
function featurizeLabeled(kind: InputKind, set: LabeledInputs) {
  const featurizer = fitFeaturizer(firstReadableConfig(kind, set.inputs), set.inputs);
  const { features, rows } = transformReadable(featurizer, set.inputs);
  return { featurizer, features, rows, labels: rows.map((i) => set.labels[i]) };
}

/** The featurizer config taken from the first input it can be read from (images size it; others always can). */
function firstReadableConfig(kind: InputKind, inputs: ModelInput[]) {
  for (const input of inputs) {
    try {
      return featurizerConfig(kind, input);
    } catch {
      // unreadable: try the next one
    }
  }
  throw new Error('no readable labeled training items');
}

/** Features of the inputs the featurizer can take (one by one only when the batch fails), and which those are. */
function transformReadable(featurizer: ModelArtifact['featurizer'], inputs: ModelInput[]) {
  try {
    return { features: featurizer.transform(inputs), rows: inputs.map((_, i) => i) };
  } catch {
    const rows: number[] = [];
    inputs.forEach((input, i) => {
      try {
        featurizer.transform([input]);
        rows.push(i);
      } catch {
        // left out: no prediction for this item
      }
    });
    return { features: featurizer.transform(rows.map((i) => inputs[i])), rows };
  }
}

/** Featurizer inputs as features; inputs the featurizer refuses are the caller's error. */
function transform(featurizer: ModelArtifact['featurizer'], inputs: ModelInput[]) {
  try {
    return featurizer.transform(inputs);
  } catch (error) {
    throw coded(COMPUTE_ERRORS.badInput, `inputs do not fit the model: ${(error as Error).message}`);
  }
}

function loadArtifact(files: ArtifactBytes): ModelArtifact {
  const buffers: ArtifactFiles = new Map();
  for (const [name, bytes] of files)
    buffers.set(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    return artifactFromFiles(buffers);
  } catch (error) {
    throw coded(COMPUTE_ERRORS.badArtifact, (error as Error).message);
  }
}

/** An error whose `code` survives the trip to the event loop (workerpool copies own properties). */
function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
