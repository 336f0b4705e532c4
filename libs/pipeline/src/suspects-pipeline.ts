import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  DatasetVersionsRepository,
  ModelsRepository,
  ProjectsRepository,
  type SuspectRow,
  SuspectsRepository,
} from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ComputePool } from './compute/compute-pool';
import type { FoldProgress } from './compute/messages';
import { loadLabeledSet } from './labeled-set';
import { effectiveModelSpec } from './training-set';

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
 * Label-error suspects of the promoted model's dataset version: its labeled pool items are loaded here (as
 * the trainer loads them), the seeded stratified k-fold of the project's model spec and the confident-learning
 * ranking run in the training worker, and the flagged items replace the project's suspects
 * (score = 1 - p(given label)). Throws TrainingRefused when the labels cannot train a model.
 */
@Injectable()
export class SuspectsPipeline {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly compute: ComputePool,
    private readonly projects: ProjectsRepository,
    private readonly models: ModelsRepository,
    private readonly datasets: DatasetVersionsRepository,
    private readonly suspects: SuspectsRepository,
  ) {}

  async refresh(projectId: string, onFold: (progress: FoldProgress) => void): Promise<SuspectsResult> {
    const project = await this.projects.findById(projectId);
    // A job folded into a waiting one names an older model: the promoted one is the truth.
    const promoted = project ? await this.models.promoted(projectId) : null;
    const version = promoted?.datasetVersionId
      ? await this.datasets.findById(promoted.datasetVersionId)
      : null;
    if (!project || !promoted || !version) return { modelVersionId: null, examined: 0, flagged: 0, folds: 0 };

    const set = await loadLabeledSet(this.datasets, this.store, project, version);
    const labels = set.train.labels;
    const spec = effectiveModelSpec(project, project.seed);
    const folds = foldCount(labels.length);
    const ranked = await this.compute.outOfSample(
      {
        kind: project.inputKind,
        numClasses: project.labels.length,
        spec,
        inputs: set.train.inputs.map((row) => row.input),
        labels,
        folds,
      },
      onFold,
    );
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
