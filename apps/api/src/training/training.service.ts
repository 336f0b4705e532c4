import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { DatasetVersionsRepository } from '@labelloop/db';
import { z } from 'zod';
import {
  JobQueues,
  pinnedTrainingDedupId,
  type ScoringJobData,
  type SuspectsJobData,
  TRAINING_JOB,
  type TrainingJobData,
  trainingJobOptions,
} from '@labelloop/queue';
import { type Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { positiveDatabaseInt } from '../common/database-integers';
import { seedSchema } from '../projects/project.dto';
import { ProjectsService } from '../projects/projects.service';
import { RetrainTrigger } from './retrain-trigger';

/** Optional pins of a manual training: reproduce a run from a frozen dataset version and a seed. */
export const trainBody = z
  .strictObject({
    datasetVersion: positiveDatabaseInt.optional(),
    seed: seedSchema.optional(),
  })
  .default({});
export type TrainBody = z.infer<typeof trainBody>;

type ProjectJobData = TrainingJobData | ScoringJobData | SuspectsJobData;

/** How far back GET jobs looks in a queue (newest jobs of all projects). */
const JOB_SCAN = 1000;
const JOB_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export type JobQueueName = 'training' | 'scoring' | 'suspects';

/** A job as GET jobs shows it; the training fields (reason, pins) are null for scoring and suspects jobs. */
export function jobView(job: Job<ProjectJobData>, state: string, queue: JobQueueName = 'training') {
  const training = queue === 'training' ? (job.data as TrainingJobData) : null;
  return {
    id: job.id,
    queue,
    state,
    modelVersionId: 'modelVersionId' in job.data ? job.data.modelVersionId : null,
    reason: training?.reason ?? null,
    requestedBy: training?.requestedBy ?? null,
    datasetVersion: training?.datasetVersion?.number ?? null,
    seed: training?.seed ?? null,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason ?? null,
    result: job.returnvalue ?? null,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}

/** The API side of training: enqueue (the trainer role processes) and list jobs. */
@Injectable()
export class TrainingService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly queues: JobQueues,
    private readonly datasets: DatasetVersionsRepository,
    private readonly retrain: RetrainTrigger,
  ) {}

  /**
   * Enqueues a manual training; a request while one waits for the project gets that job back. A pinned
   * training (dataset version and/or seed) is only folded into a waiting one with the same pins.
   */
  async train(principal: Principal, projectId: string, pins: TrainBody = {}) {
    const project = await this.projects.get(principal, projectId);
    const data: TrainingJobData = { projectId: project.id, reason: 'manual', requestedBy: principal.name };
    if (pins.datasetVersion !== undefined) {
      const version = await this.datasets.findByNumber(project.id, pins.datasetVersion);
      if (!version) throw ApiError.notFound('dataset version', String(pins.datasetVersion));
      data.datasetVersion = { id: version.id, number: version.number };
    }
    if (pins.seed !== undefined) data.seed = pins.seed;
    const pinned = pins.datasetVersion !== undefined || pins.seed !== undefined;
    const options = trainingJobOptions(
      project.id,
      pinned ? pinnedTrainingDedupId(project.id, pins.datasetVersion, pins.seed) : undefined,
    );
    const job = await this.queues.training.add(TRAINING_JOB, data, options);
    return { jobId: job.id, state: await job.getState() };
  }

  async jobs(principal: Principal, projectId: string, queue: JobQueueName, limit: number) {
    const project = await this.projects.get(principal, projectId);
    // The retrain check runs after the label's response: finish this process's pending ones first, so a
    // client that labels and then lists the jobs sees the training its labels started.
    if (queue === 'training') await this.retrain.flush();
    // Each queue holds one payload type; one view serves all three.
    const queued = (await this.queues[queue].getJobs(
      [...JOB_STATES],
      0,
      JOB_SCAN - 1,
    )) as Job<ProjectJobData>[];
    const jobs = queued.filter((job) => job?.data?.projectId === project.id);
    jobs.sort((a, b) => b.timestamp - a.timestamp);
    const page = jobs.slice(0, limit);
    return {
      data: await Promise.all(page.map((job) => this.currentView(job, queue))),
    };
  }

  /**
   * A job's view as it is now. One that finished between the scan and its state check is read again: the
   * scanned copy has no result yet, and a client polling for `completed` would read a finished training
   * without its model.
   */
  private async currentView(job: Job<ProjectJobData>, queue: JobQueueName) {
    const state = await job.getState();
    if ((state === 'completed' || state === 'failed') && !job.finishedOn && job.id) {
      const finished = (await this.queues[queue].getJob(job.id)) as Job<ProjectJobData> | undefined;
      if (finished) return jobView(finished, state, queue);
    }
    return jobView(job, state, queue);
  }
}
