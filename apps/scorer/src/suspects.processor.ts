import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import {
  DatasetVersionsRepository,
  ModelsRepository,
  ProjectsRepository,
  type SuspectRow,
  SuspectsRepository,
} from '@labelloop/db';
import {
  findLabelIssues,
  fitFeaturizer,
  ImageFeaturizer,
  type ModelSpec,
  modelSpec,
  outOfSampleProbabilities,
} from '@labelloop/ml';
import { LOGGER } from '@labelloop/observability';
import {
  QUEUE_NAMES,
  QueueWorkers,
  SUSPECTS_JOB,
  type SuspectsJobData,
  type SuspectsProgress,
} from '@labelloop/queue';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import type { Logger } from 'pino';
import { loadLabeledSet } from '../../trainer/src/labeled-set';
import { featurizerConfig, TrainingRefused } from '../../trainer/src/training-set';
import { MlBackend } from '../../trainer/src/ml-backend';

/** Folds of the k-fold when the pool has enough labeled items. */
export const DEFAULT_FOLDS = 5;
/** Fewer folds below this many labeled rows per fold (each fold's model trains on the other folds). */
const MIN_ROWS_PER_FOLD = 10;

/** k for n labeled rows: DEFAULT_FOLDS, fewer when there are few rows, never under 2. */
export function foldCount(rows: number): number {
  return Math.max(2, Math.min(DEFAULT_FOLDS, Math.floor(rows / MIN_ROWS_PER_FOLD)));
}

export interface SuspectsResult {
  /** The promoted model whose dataset version was examined; null when the project had none. */
  modelVersionId: string | null;
  /** Labeled pool items examined. */
  examined: number;
  /** Of them, flagged as likely label errors (the suspects written). */
  flagged: number;
  folds: number;
}

/**
 * The `suspects` queue's `suspects` job: takes the labeled pool items of the promoted model's dataset version
 * (loaded and featurized as the trainer does), gets out-of-sample probabilities by a seeded stratified k-fold
 * of the project's model spec, ranks them with confident learning and replaces the project's suspects with
 * the flagged items (score = 1 - p(given label)).
 */
@Injectable()
export class SuspectsProcessor implements OnModuleInit {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly workers: QueueWorkers,
    private readonly mlBackend: MlBackend,
    private readonly projects: ProjectsRepository,
    private readonly models: ModelsRepository,
    private readonly datasets: DatasetVersionsRepository,
    private readonly suspects: SuspectsRepository,
  ) {}

  onModuleInit(): void {
    this.workers.register<SuspectsJobData>(QUEUE_NAMES.suspects, SUSPECTS_JOB, (job) => this.process(job));
  }

  async process(job: Job<SuspectsJobData>): Promise<SuspectsResult> {
    const { projectId } = job.data;
    const project = await this.projects.findById(projectId);
    if (!project) throw new UnrecoverableError(`project ${projectId} does not exist`);
    // A job folded into a waiting one names an older model: the promoted one is the truth.
    const promoted = await this.models.promoted(projectId);
    const version = promoted?.datasetVersionId
      ? await this.datasets.findById(promoted.datasetVersionId)
      : null;
    if (!promoted || !version) return { modelVersionId: null, examined: 0, flagged: 0, folds: 0 };
    await this.mlBackend.ready();

    const kind = project.inputKind;
    let set;
    try {
      set = await loadLabeledSet(this.datasets, this.store, project, version.watermark);
    } catch (error) {
      if (error instanceof TrainingRefused) throw new UnrecoverableError(error.message);
      throw error;
    }
    const inputs = set.train.inputs.map((row) => row.input);
    const labels = set.train.labels;
    const numClasses = project.labels.length;
    const featurizer = fitFeaturizer(featurizerConfig(kind, inputs[0]), inputs);
    const spec: ModelSpec = modelSpec({ ...(project.modelSpec as Partial<ModelSpec>), seed: project.seed });
    const folds = foldCount(labels.length);
    const probs = await outOfSampleProbabilities({
      features: featurizer.transform(inputs),
      labels,
      numClasses,
      spec,
      folds,
      imageShape: featurizer instanceof ImageFeaturizer ? featurizer.imageShape : undefined,
      onFold: (fold, total) => {
        const progress: SuspectsProgress = { fold, folds: total };
        job.updateProgress(progress).catch(() => undefined);
      },
    });
    const { ranked } = findLabelIssues(probs, labels, numClasses);
    const rows: SuspectRow[] = ranked
      .filter((issue) => issue.flagged)
      .map((issue) => ({
        itemId: set.train.inputs[issue.index].item.id,
        givenLabel: project.labels[issue.givenLabel],
        suggestedLabel: project.labels[issue.suggestedLabel],
        score: 1 - issue.selfConfidence,
      }));
    await this.suspects.replace(projectId, promoted.id, rows);
    this.logger.info(
      {
        component: 'suspects',
        projectId,
        model: promoted.number,
        examined: labels.length,
        flagged: rows.length,
        folds,
      },
      'suspects refreshed',
    );
    return { modelVersionId: promoted.id, examined: labels.length, flagged: rows.length, folds };
  }
}
