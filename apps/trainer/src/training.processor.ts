import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import {
  DatasetVersionsRepository,
  ModelsRepository,
  type ModelVersionRecord,
  ProjectsRepository,
} from '@labelloop/db';
import {
  artifactToFiles,
  evaluate,
  fitFeaturizer,
  ImageFeaturizer,
  type ModelSpec,
  modelSpec,
  predictProbabilities,
  trainClassifier,
} from '@labelloop/ml';
import { LOGGER, Metrics } from '@labelloop/observability';
import {
  JobQueues,
  QUEUE_NAMES,
  QueueWorkers,
  RetrainCounter,
  SCORING_JOB,
  scoringJobOptions,
  TRAINING_JOB,
  type ScoringJobData,
  type TrainingJobData,
  type TrainingProgress,
} from '@labelloop/queue';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import type { Logger } from 'pino';
import { artifactPrefix } from './artifact-store';
import { inputsOf, loadLabeledSet } from './labeled-set';
import { featurizerConfig, TrainingRefused } from './training-set';
import { MlBackend } from './ml-backend';

export interface TrainingResult {
  modelVersionId: string;
  number: number;
  datasetVersion: number;
  promoted: boolean;
  accuracy: number | null;
}

/** The result of a run that got to 'ready' before its job was retried (e.g. the worker died right after). */
function finishedResult(run: ModelVersionRecord): TrainingResult {
  const accuracy = run.metrics?.accuracy;
  return {
    modelVersionId: run.id,
    number: run.number,
    datasetVersion: run.datasetVersion ?? 0,
    promoted: run.promoted,
    accuracy: typeof accuracy === 'number' ? accuracy : null,
  };
}

/**
 * The `training` queue's `train` job: freeze a dataset version, train the project's model spec on the pool
 * labels as of its watermark, evaluate on the holdout, store the artifact, then mark the model ready and
 * promote it when it is at least as accurate as the promoted one. A retried job reuses its model row
 * (run id = job id) and its dataset version, so a model is never promoted from a half-finished run.
 */
@Injectable()
export class TrainingProcessor implements OnModuleInit {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly workers: QueueWorkers,
    private readonly mlBackend: MlBackend,
    private readonly queues: JobQueues,
    private readonly retrainCounter: RetrainCounter,
    private readonly projects: ProjectsRepository,
    private readonly datasets: DatasetVersionsRepository,
    private readonly models: ModelsRepository,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.workers.register<TrainingJobData>(QUEUE_NAMES.training, TRAINING_JOB, (job) => this.process(job));
  }

  async process(job: Job<TrainingJobData>): Promise<TrainingResult> {
    const { projectId } = job.data;
    const project = await this.projects.findById(projectId);
    if (!project) throw new UnrecoverableError(`project ${projectId} does not exist`);
    const kind = project.inputKind;
    const backend = await this.mlBackend.ready();
    // A pinned seed (POST train {seed}) reproduces a run; otherwise the project's.
    const seed = job.data.seed ?? project.seed;
    const spec: ModelSpec = modelSpec({ ...(project.modelSpec as Partial<ModelSpec>), seed });
    const run = await this.models.startRun(projectId, `training-${job.id}`, spec);
    if (run.status === 'ready') {
      // The run finished before this retry; the scoring it asked for may not have been enqueued.
      const result = finishedResult(run);
      if (result.promoted) await this.enqueueScoring(projectId, run.id);
      return result;
    }
    try {
      let version = run.datasetVersionId ? await this.datasets.findById(run.datasetVersionId) : null;
      const pinned = job.data.datasetVersion;
      if (!version && pinned) {
        // Retraining on a given frozen version: no new version, and the retrain counter keeps counting.
        version = await this.datasets.findById(pinned.id);
        if (!version || version.projectId !== projectId) {
          throw new TrainingRefused(
            `dataset version ${pinned.number} of project ${projectId} does not exist`,
          );
        }
        await this.models.attachDatasetVersion(run.id, version.id);
      }
      if (!version) {
        version = await this.datasets.freeze(projectId, 'training', 'trainer');
        await this.models.attachDatasetVersion(run.id, version.id);
        await this.retrainCounter.reset(projectId);
      }
      const labeled = await loadLabeledSet(this.datasets, this.store, project, version.watermark);
      const set = { train: inputsOf(labeled.train), holdout: inputsOf(labeled.holdout) };
      const featurizer = fitFeaturizer(featurizerConfig(kind, set.train.inputs[0]), set.train.inputs);
      const numClasses = project.labels.length;
      const started = performance.now();
      const { model, bestEpoch, trainRows, validationRows } = await trainClassifier({
        features: featurizer.transform(set.train.inputs),
        labels: set.train.labels,
        numClasses,
        spec,
        imageShape: featurizer instanceof ImageFeaturizer ? featurizer.imageShape : undefined,
        onEpoch: (log) => {
          const progress: TrainingProgress = { epoch: log.epoch, loss: log.trainLoss };
          job.updateProgress(progress).catch(() => undefined);
        },
      });
      const trainMs = Math.round(performance.now() - started);
      this.metrics.trainingDuration.observe({ project: projectId }, trainMs / 1000);
      try {
        const holdoutRows = set.holdout.labels.length;
        const evaluation =
          holdoutRows > 0
            ? evaluate(
                predictProbabilities(model, featurizer.transform(set.holdout.inputs)),
                set.holdout.labels,
                numClasses,
              )
            : null;
        const metrics = { ...evaluation, holdoutRows, trainRows, validationRows, bestEpoch };
        const files = await artifactToFiles({
          model,
          featurizer,
          labels: project.labels,
          metrics,
          backend: backend.backend,
        });
        const prefix = artifactPrefix(projectId, run.id);
        for (const [name, body] of files)
          await this.store.put(`${prefix}/${name}`, body, { size: body.length });
        const promoted = await this.models.completeRun(projectId, run.id, {
          metrics,
          backend: backend.backend,
          trainMs,
          artifactKey: prefix,
        });
        if (promoted) await this.enqueueScoring(projectId, run.id);
        const accuracy = evaluation ? evaluation.accuracy : null;
        // A promoted model without holdout accuracy counts as 0 (as promotion does).
        if (promoted) this.metrics.modelHoldoutAccuracy.set({ project: projectId }, accuracy ?? 0);
        this.logger.info(
          { component: 'trainer', projectId, model: run.number, accuracy, promoted, trainMs },
          'model trained',
        );
        return {
          modelVersionId: run.id,
          number: run.number,
          datasetVersion: version.number,
          promoted,
          accuracy,
        };
      } finally {
        model.dispose();
      }
    } catch (error) {
      const message = (error as Error).message;
      await this.models.failRun(run.id, message);
      if (error instanceof TrainingRefused) throw new UnrecoverableError(message);
      throw error;
    }
  }

  /**
   * The promoted model ranks the pool next (deduplicated per project). The suspects refresh follows that
   * scoring (the scorer enqueues it) rather than running beside it: in one process they would share a thread.
   */
  private async enqueueScoring(projectId: string, modelVersionId: string): Promise<void> {
    const data: ScoringJobData = { projectId, modelVersionId };
    await this.queues.scoring.add(SCORING_JOB, data, scoringJobOptions(projectId));
  }
}
