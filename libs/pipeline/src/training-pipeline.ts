import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  type DatasetVersionRecord,
  DatasetVersionsRepository,
  ModelsRepository,
  type ModelVersionRecord,
  type ProjectRecord,
  ProjectsRepository,
} from '@labelloop/db';
import type { ModelSpec } from '@labelloop/ml';
import { LOGGER, Metrics } from '@labelloop/observability';
import {
  JobQueues,
  RetrainCounter,
  SCORING_JOB,
  type ScoringJobData,
  scoringJobOptions,
  type TrainingJobData,
} from '@labelloop/queue';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { artifactPrefix } from './artifact-store';
import { ComputePool } from './compute/compute-pool';
import type { EpochProgress, FitResult } from './compute/messages';
import { inputsOf, loadLabeledSet } from './labeled-set';
import { effectiveModelSpec, TrainingRefused } from './training-set';

export interface TrainingResult {
  modelVersionId: string;
  number: number;
  datasetVersion: number;
  promoted: boolean;
  accuracy: number | null;
}

/**
 * A training measures its model on a seeded sample of at most this many labeled holdout items. The holdout
 * grows with the labels (its share of every lease), and evaluating every one of its items would make each
 * retraining slower as a project grows; at 5,000 items promotion still tells apart models 1.1 points apart
 * (at accuracy 0.9; README, Training).
 */
export const MAX_HOLDOUT_ROWS = 5_000;

/** A project that is gone: nothing to train, and retrying will not help. */
export class ProjectGone extends Error {
  constructor(projectId: string) {
    super(`project ${projectId} does not exist`);
  }
}

/**
 * One training run as named steps: start (or resume) the run's model row, resolve its dataset version
 * (frozen now, or the pinned one), fit and evaluate in the compute worker, store the artifact, complete the
 * run (promoting it when it beats the promoted model) and ask for a scoring after a promotion. The event
 * loop only reads, writes and waits; a retried job reuses its model row and dataset version, so a model is
 * never promoted from a half-finished run.
 */
@Injectable()
export class TrainingPipeline {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly compute: ComputePool,
    private readonly queues: JobQueues,
    private readonly retrainCounter: RetrainCounter,
    private readonly projects: ProjectsRepository,
    private readonly datasets: DatasetVersionsRepository,
    private readonly models: ModelsRepository,
    private readonly metrics: Metrics,
  ) {}

  /** The whole run of one training job; `runId` is stable across the job's retries. */
  async run(
    runId: string,
    data: TrainingJobData,
    onEpoch: (progress: EpochProgress) => void,
  ): Promise<TrainingResult> {
    const project = await this.projects.findById(data.projectId);
    if (!project) throw new ProjectGone(data.projectId);
    // A pinned seed (POST train {seed}) reproduces a run; otherwise the project's.
    const spec = effectiveModelSpec(project, data.seed ?? project.seed);
    const run = await this.models.startRun(project.id, runId, spec);
    if (run.status === 'ready') {
      // The run finished before this retry; the scoring it asked for may not have been enqueued.
      const result = finishedResult(run);
      if (result.promoted) await this.followPromotion(project.id, run.id);
      return result;
    }
    try {
      const version = await this.resolveDatasetVersion(project, run, data.datasetVersion);
      const fitted = await this.fit(project, spec, version, onEpoch);
      const artifactKey = await this.storeArtifact(project.id, run.id, fitted);
      const promoted = await this.models.completeRun(project.id, run.id, {
        metrics: fitted.metrics,
        backend: fitted.backend,
        trainMs: fitted.trainMs,
        artifactKey,
      });
      this.metrics.trainingDuration.observe({ project: project.id }, fitted.trainMs / 1000);
      // A promoted model without holdout accuracy counts as 0 (as promotion does).
      if (promoted) this.metrics.modelHoldoutAccuracy.set({ project: project.id }, fitted.accuracy ?? 0);
      if (promoted) await this.followPromotion(project.id, run.id);
      this.logger.info(
        {
          component: 'trainer',
          projectId: project.id,
          model: run.number,
          accuracy: fitted.accuracy,
          promoted,
          trainMs: fitted.trainMs,
        },
        'model trained',
      );
      return {
        modelVersionId: run.id,
        number: run.number,
        datasetVersion: version.number,
        promoted,
        accuracy: fitted.accuracy,
      };
    } catch (error) {
      await this.models.failRun(run.id, (error as Error).message);
      throw error;
    }
  }

  /**
   * The run's dataset version: the one it already has (a retry), the pinned one, or a new one frozen now
   * (which restarts the retrain counter).
   */
  async resolveDatasetVersion(
    project: ProjectRecord,
    run: ModelVersionRecord,
    pinned: TrainingJobData['datasetVersion'],
  ): Promise<DatasetVersionRecord> {
    const existing = run.datasetVersionId ? await this.datasets.findById(run.datasetVersionId) : null;
    if (existing) return existing;
    if (pinned) {
      // Retraining on a given frozen version: no new version, and the retrain counter keeps counting.
      const version = await this.datasets.findById(pinned.id);
      if (!version || version.projectId !== project.id) {
        throw new TrainingRefused(`dataset version ${pinned.number} of project ${project.id} does not exist`);
      }
      await this.models.attachDatasetVersion(run.id, version.id);
      return version;
    }
    const version = await this.datasets.freeze(project.id, 'training', 'trainer');
    await this.models.attachDatasetVersion(run.id, version.id);
    await this.retrainCounter.reset(project.id);
    return version;
  }

  /** Loads the version's labels (I/O here) and fits and evaluates in the training worker. */
  async fit(
    project: ProjectRecord,
    spec: ModelSpec,
    version: DatasetVersionRecord,
    onEpoch: (progress: EpochProgress) => void,
  ): Promise<FitResult> {
    // The pool sample's seed follows the version, so a retried or pinned run loads the same rows. The holdout
    // sample's follows the project only: as the holdout grows, successive models are measured on mostly the
    // same items.
    const labeled = await loadLabeledSet(this.datasets, this.store, project, version, {
      pool: { rows: spec.maxTrainRows, seed: spec.seed * 1_000_003 + version.number },
      holdout: { rows: MAX_HOLDOUT_ROWS, seed: project.seed },
    });
    return this.compute.fit(
      {
        kind: project.inputKind,
        labels: project.labels,
        spec,
        train: inputsOf(labeled.train),
        holdout: inputsOf(labeled.holdout),
      },
      onEpoch,
    );
  }

  /** Writes the artifact files under the run's prefix; returns the prefix (the model's artifact key). */
  async storeArtifact(projectId: string, runId: string, fitted: FitResult): Promise<string> {
    const prefix = artifactPrefix(projectId, runId);
    for (const [name, body] of fitted.files) {
      const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      await this.store.put(`${prefix}/${name}`, bytes, { size: bytes.length });
    }
    return prefix;
  }

  /**
   * The promoted model ranks the pool next (deduplicated per project). The suspects refresh follows that
   * scoring (the scorer enqueues it) rather than running beside it.
   */
  async followPromotion(projectId: string, modelVersionId: string): Promise<void> {
    const data: ScoringJobData = { projectId, modelVersionId };
    await this.queues.scoring.add(SCORING_JOB, data, scoringJobOptions(projectId));
  }
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
