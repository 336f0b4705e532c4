import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DatasetVersionsRepository, ProjectsRepository } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import {
  JobQueues,
  RetrainCounter,
  TRAINING_JOB,
  type TrainingJobData,
  trainingJobOptions,
} from '@labelloop/queue';

/** How long a process trusts a project's retrain threshold before reading it again. */
const THRESHOLD_CACHE_MS = 30_000;
const DEFAULT_RETRAIN_THRESHOLD = 50;

/**
 * Whether a label count since the last training calls for a check of the annotation log: at the threshold
 * and at every further multiple of it, so a project whose training is pending pays one SQL count per
 * `threshold` labels, not one per label.
 */
export function isRetrainCheckpoint(count: number, threshold: number): boolean {
  return count > 0 && count % threshold === 0;
}

/**
 * Starts a training by itself when the labels since the last training reach the project's
 * `acquisitionSpec.retrainThreshold`. The hot path (every annotation write) costs one Redis INCR (see
 * RetrainCounter) and a cached threshold; only at a checkpoint is the annotation log counted (seq above the
 * newest dataset version's watermark), which also repairs a counter that drifted, and a training enqueued.
 * Deduplication per project turns a burst of checkpoints into one queued training.
 */
@Injectable()
export class RetrainTrigger {
  private readonly thresholds = new Map<string, { value: number; until: number }>();

  constructor(
    private readonly counter: RetrainCounter,
    private readonly datasets: DatasetVersionsRepository,
    private readonly projects: ProjectsRepository,
    private readonly queues: JobQueues,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** After an annotation write; never fails the write (a missed trigger is caught up at the next checkpoint). */
  async labelWritten(projectId: string): Promise<void> {
    try {
      const count = await this.counter.increment(projectId);
      const threshold = await this.threshold(projectId);
      if (!isRetrainCheckpoint(count, threshold)) return;
      const exact = await this.datasets.annotationsSinceLastVersion(projectId);
      if (exact < threshold) {
        await this.counter.set(projectId, exact);
        return;
      }
      const data: TrainingJobData = { projectId, reason: 'threshold' };
      await this.queues.training.add(TRAINING_JOB, data, trainingJobOptions(projectId));
    } catch (error) {
      this.logger.warn({ projectId, err: (error as Error).message }, 'retrain check failed');
    }
  }

  private async threshold(projectId: string): Promise<number> {
    const cached = this.thresholds.get(projectId);
    if (cached && cached.until > Date.now()) return cached.value;
    const project = await this.projects.findById(projectId);
    const stored = (project?.acquisitionSpec as { retrainThreshold?: number } | undefined)?.retrainThreshold;
    const value = stored && stored > 0 ? stored : DEFAULT_RETRAIN_THRESHOLD;
    this.thresholds.set(projectId, { value, until: Date.now() + THRESHOLD_CACHE_MS });
    return value;
  }
}
