import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  DatasetVersionsRepository,
  ModelsRepository,
  ProjectsRepository,
  SuspectsRepository,
} from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ComputePool } from './compute/compute-pool';
import type { FoldProgress } from './compute/messages';
import { labeledPoolPages } from './labeled-set';
import { assertTrainable, effectiveModelSpec } from './training-set';

/** Folds of the k-fold when the pool has enough labeled items. */
export const DEFAULT_FOLDS = 5;
/** Labeled rows read, converted and sent to the compute worker at a time. */
const STAGE_PAGE_ROWS = 5_000;
/** Fewer folds below this many labeled rows per fold (each fold's model trains on the other folds). */
const MIN_ROWS_PER_FOLD = 10;

/** k for n labeled rows: DEFAULT_FOLDS, fewer when there are few rows, never under 2. */
export function foldCount(rows: number): number {
  return Math.max(2, Math.min(DEFAULT_FOLDS, Math.floor(rows / MIN_ROWS_PER_FOLD)));
}

export interface SuspectsResult {
  /** The promoted model whose dataset version was examined; null when the project had none. */
  modelVersionId: string | null;
  /** Labeled pool items ranked (the rows written: the suspects list holds every one of them). */
  examined: number;
  /** Labeled pool items left out because they could not be featurized (e.g. a corrupt stored image). */
  unreadable: number;
  /** Of the examined, flagged by confident learning. */
  flagged: number;
  folds: number;
}

/**
 * Label-error suspects of the promoted model's dataset version: its labeled pool items are read here in pages
 * (as model inputs, the way the trainer reads them) and staged in the background compute worker, where the
 * seeded stratified k-fold of the project's model spec and the confident-learning
 * ranking run in the background compute worker, and the whole ranking (score = 1 - p(given label), flagged or
 * not) replaces the project's suspects. Throws TrainingRefused when the labels cannot train a model.
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
    if (!project || !promoted || !version)
      return { modelVersionId: null, examined: 0, unreadable: 0, flagged: 0, folds: 0 };

    // The labels cross to the worker a page at a time; the event loop keeps only their item ids.
    const rowsId = randomUUID();
    const itemIds: string[] = [];
    const labels: number[] = [];
    for await (const page of labeledPoolPages(this.datasets, this.store, project, version, STAGE_PAGE_ROWS)) {
      for (const row of page.inputs) itemIds.push(row.item.id);
      for (const label of page.labels) labels.push(label);
      await this.compute.stageRows(rowsId, {
        inputs: page.inputs.map((row) => row.input),
        labels: page.labels,
      });
    }
    assertTrainable(project.labels, labels);
    const spec = effectiveModelSpec(project, project.seed);
    const folds = foldCount(labels.length);
    const ranking = await this.compute.outOfSample(
      { kind: project.inputKind, numClasses: project.labels.length, spec, rowsId, folds },
      onFold,
    );
    await this.suspects.replace(projectId, promoted.id, {
      labels: project.labels,
      itemIds: Array.from(ranking.rows, (row) => itemIds[row]),
      givenLabels: ranking.givenLabels,
      suggestedLabels: ranking.suggestedLabels,
      selfConfidence: ranking.selfConfidence,
      flagged: ranking.flagged,
    });
    const counts = {
      examined: ranking.rows.length,
      unreadable: labels.length - ranking.rows.length,
      flagged: ranking.flagged.reduce((sum, flag) => sum + flag, 0),
      folds,
    };
    this.logger.info(
      { component: 'suspects', projectId, model: promoted.number, ...counts },
      'suspects refreshed',
    );
    return { modelVersionId: promoted.id, ...counts };
  }
}
