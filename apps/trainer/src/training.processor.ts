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
 * A training run's id: the same for every attempt of one job, never the same for two jobs. BullMQ job ids
 * restart at 1 when Redis loses its data, so the id also carries the project and the job's creation time.
 */
export function trainingRunId(job: Pick<Job<TrainingJobData>, 'id' | 'timestamp' | 'data'>): string {
  return `${job.data.projectId}:${job.id}:${job.timestamp}`;
}

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
      return await this.pipeline.run(trainingRunId(job), job.data, (epoch) => {
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
