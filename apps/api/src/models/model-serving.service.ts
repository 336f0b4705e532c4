import { Injectable } from '@nestjs/common';
import { ModelsRepository, type ModelVersionRecord } from '@labelloop/db';
import { COMPUTE_ERRORS, ComputePool, type ModelInput } from '@labelloop/pipeline';
import { ApiError } from '../common/api-error';

export interface ModelPredictions {
  /** Class names; column j of every row is labels[j]. */
  labels: string[];
  /** One row per input. */
  probabilities: number[][];
}

/**
 * Serves model versions for the API: ad-hoc predictions and pre-labels. The forward pass runs in the
 * process's inference worker, whose bounded model cache the scorer shares in the `all` role; the request's
 * event loop only checks the model version and waits.
 */
@Injectable()
export class ModelServingService {
  constructor(
    private readonly compute: ComputePool,
    private readonly models: ModelsRepository,
  ) {}

  /** The project's promoted ready model version, or null before any model. */
  promoted(projectId: string): Promise<ModelVersionRecord | null> {
    return this.models.promoted(projectId);
  }

  /**
   * Class probabilities for featurizer inputs (see modelInput()), one row per input, columns in the model's
   * label order. 409 for a model version that is not ready, 400 for inputs the model's featurizer cannot take.
   */
  async predict(version: ModelVersionRecord, inputs: ModelInput[]): Promise<ModelPredictions> {
    if (version.status !== 'ready' || !version.artifactKey) {
      throw ApiError.conflict(`model ${version.id} is ${version.status}, not ready`);
    }
    let predicted;
    try {
      predicted = await this.compute.predict({ id: version.id, artifactKey: version.artifactKey }, inputs);
    } catch (error) {
      if ((error as { code?: string }).code === COMPUTE_ERRORS.badInput) {
        throw ApiError.badRequest((error as Error).message);
      }
      throw error;
    }
    const classes = predicted.labels.length;
    const probabilities = Array.from({ length: inputs.length }, (_, row) =>
      Array.from(predicted.probabilities.subarray(row * classes, (row + 1) * classes)),
    );
    return { labels: predicted.labels, probabilities };
  }
}
