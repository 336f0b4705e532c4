import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ScoringPipeline, type ScoringResult } from '@labelloop/pipeline';
import {
  JobQueues,
  QUEUE_NAMES,
  QueueWorkers,
  SCORE_NEW_JOB,
  type ScoreNewJobData,
  SCORING_JOB,
  type ScoringJobData,
  type ScoringProgress,
  SUSPECTS_JOB,
  type SuspectsJobData,
  suspectsJobOptions,
} from '@labelloop/queue';

/**
 * The `scoring` queue's jobs, thin adapters over ScoringPipeline: `score` ranks the whole pool with the
 * promoted model and then asks for that model's suspects refresh; `score-new` scores only the items that
 * have no prediction yet and lets them join the queue.
 */
@Injectable()
export class ScoringProcessor implements OnModuleInit {
  constructor(
    private readonly workers: QueueWorkers,
    private readonly queues: JobQueues,
    private readonly pipeline: ScoringPipeline,
  ) {}

  onModuleInit(): void {
    this.workers.register<ScoringJobData>(QUEUE_NAMES.scoring, SCORING_JOB, (job) => this.rescore(job));
    this.workers.register<ScoreNewJobData>(QUEUE_NAMES.scoring, SCORE_NEW_JOB, (job) => this.scoreNew(job));
  }

  async rescore(job: Job<ScoringJobData>): Promise<ScoringResult> {
    const result = await this.pipeline.rescore(job.data.projectId, progressOf(job));
    if (result.modelVersionId) {
      // The label-error k-fold of this model comes after the queue is served, never competing with it.
      const suspects: SuspectsJobData = {
        projectId: job.data.projectId,
        modelVersionId: result.modelVersionId,
      };
      await this.queues.suspects.add(SUSPECTS_JOB, suspects, suspectsJobOptions(job.data.projectId));
    }
    return result;
  }

  scoreNew(job: Job<ScoreNewJobData>): Promise<ScoringResult> {
    return this.pipeline.scoreNew(job.data.projectId, progressOf(job));
  }
}

function progressOf(job: Job): (scored: number) => void {
  return (scored) => {
    const progress: ScoringProgress = { scored };
    job.updateProgress(progress).catch(() => undefined);
  };
}
