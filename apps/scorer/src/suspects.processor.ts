import { Injectable, OnModuleInit } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { SuspectsPipeline, type SuspectsResult, TrainingRefused } from '@labelloop/pipeline';
import {
  QUEUE_NAMES,
  QueueWorkers,
  SUSPECTS_JOB,
  type SuspectsJobData,
  type SuspectsProgress,
} from '@labelloop/queue';

/** The `suspects` queue's job, a thin adapter over SuspectsPipeline: folds become job progress. */
@Injectable()
export class SuspectsProcessor implements OnModuleInit {
  constructor(
    private readonly workers: QueueWorkers,
    private readonly pipeline: SuspectsPipeline,
  ) {}

  onModuleInit(): void {
    this.workers.register<SuspectsJobData>(QUEUE_NAMES.suspects, SUSPECTS_JOB, (job) => this.process(job));
  }

  async process(job: Job<SuspectsJobData>): Promise<SuspectsResult> {
    try {
      return await this.pipeline.refresh(job.data.projectId, (fold) => {
        const progress: SuspectsProgress = fold;
        job.updateProgress(progress).catch(() => undefined);
      });
    } catch (error) {
      if (error instanceof TrainingRefused) throw new UnrecoverableError(error.message);
      throw error;
    }
  }
}
