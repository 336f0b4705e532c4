import { Injectable, OnModuleInit } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { ProjectGone, TrainingPipeline, TrainingRefused, type TrainingResult } from '@labelloop/pipeline';
import {
  QUEUE_NAMES,
  QueueWorkers,
  TRAINING_JOB,
  type TrainingJobData,
  type TrainingProgress,
} from '@labelloop/queue';

/**
 * The `training` queue's `train` job, a thin adapter over TrainingPipeline: the run id is the job's (stable
 * across retries), epochs become job progress, and a run that can never succeed fails without retries.
 */
@Injectable()
export class TrainingProcessor implements OnModuleInit {
  constructor(
    private readonly workers: QueueWorkers,
    private readonly pipeline: TrainingPipeline,
  ) {}

  onModuleInit(): void {
    this.workers.register<TrainingJobData>(QUEUE_NAMES.training, TRAINING_JOB, (job) => this.process(job));
  }

  async process(job: Job<TrainingJobData>): Promise<TrainingResult> {
    try {
      return await this.pipeline.run(`training-${job.id}`, job.data, (epoch) => {
        const progress: TrainingProgress = epoch;
        job.updateProgress(progress).catch(() => undefined);
      });
    } catch (error) {
      if (error instanceof TrainingRefused || error instanceof ProjectGone) {
        throw new UnrecoverableError((error as Error).message);
      }
      throw error;
    }
  }
}
