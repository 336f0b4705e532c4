import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ModelsRepository, type ModelVersionRecord } from '@labelloop/db';
import { artifactFromFiles, type ModelArtifact, predictProbabilities } from '@labelloop/ml';
import { readArtifactFiles } from '../../../trainer/src/artifact-store';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { BoundedCache } from '../../../scorer/src/ranking';
import type { ModelInput } from '../../../trainer/src/model-input';
import { MlBackend } from '../../../trainer/src/ml-backend';
import { ApiError } from '../common/api-error';

/** Loaded models kept by the API process (the promoted model of a few busy projects). */
const MODEL_CACHE_SIZE = 4;

export interface ModelPredictions {
  /** Class names; column j of every row is labels[j]. */
  labels: string[];
  /** One row per input. */
  probabilities: number[][];
}

/**
 * Serves model versions inside the API process: ad-hoc predictions and pre-labels. A version's artifact is
 * read from the object store once and kept in a small LRU (concurrent first requests share one load).
 */
@Injectable()
export class ModelServingService implements OnModuleDestroy {
  private readonly artifacts = new BoundedCache<string, ModelArtifact>(MODEL_CACHE_SIZE, (artifact) =>
    artifact.model.dispose(),
  );
  private readonly loading = new Map<string, Promise<ModelArtifact>>();

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly mlBackend: MlBackend,
    private readonly models: ModelsRepository,
  ) {}

  onModuleDestroy(): void {
    this.artifacts.clear();
  }

  /** The project's promoted ready model version, or null before any model. */
  promoted(projectId: string): Promise<ModelVersionRecord | null> {
    return this.models.promoted(projectId);
  }

  /**
   * Class probabilities for featurizer inputs (see modelInput()), one row per input, columns in the model's
   * label order. 404 for an unknown model version, 409 for one that is not ready, 400 for inputs the
   * model's featurizer cannot take.
   */
  async predict(modelVersionId: string, inputs: ModelInput[]): Promise<ModelPredictions> {
    const { model, featurizer, manifest } = await this.artifact(modelVersionId);
    let features;
    try {
      features = featurizer.transform(inputs);
    } catch (error) {
      throw ApiError.badRequest(`inputs do not fit the model: ${(error as Error).message}`);
    }
    const flat = predictProbabilities(model, features);
    const classes = manifest.labels.length;
    const probabilities = Array.from({ length: inputs.length }, (_, row) =>
      Array.from(flat.subarray(row * classes, (row + 1) * classes)),
    );
    return { labels: manifest.labels, probabilities };
  }

  private async artifact(modelVersionId: string): Promise<ModelArtifact> {
    const cached = this.artifacts.get(modelVersionId);
    if (cached) return cached;
    let pending = this.loading.get(modelVersionId);
    if (!pending) {
      pending = this.load(modelVersionId).finally(() => this.loading.delete(modelVersionId));
      this.loading.set(modelVersionId, pending);
    }
    return pending;
  }

  private async load(modelVersionId: string): Promise<ModelArtifact> {
    const version = await this.models.findById(modelVersionId);
    if (!version) throw ApiError.notFound('model', modelVersionId);
    if (version.status !== 'ready' || !version.artifactKey) {
      throw ApiError.conflict(`model ${modelVersionId} is ${version.status}, not ready`);
    }
    await this.mlBackend.ready();
    const artifact = artifactFromFiles(await readArtifactFiles(this.store, version.artifactKey));
    this.artifacts.set(modelVersionId, artifact);
    return artifact;
  }
}
