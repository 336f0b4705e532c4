import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ModelsRepository } from '@labelloop/db';
import { JobQueues, TRAINING_JOB, type TrainingJobData, trainingJobOptions } from '@labelloop/queue';
import { type Principal } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';

/** How far back GET jobs looks in the training queue (newest jobs of all projects). */
const JOB_SCAN = 1000;
const JOB_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export function jobView(job: Job<TrainingJobData>, state: string) {
  return {
    id: job.id,
    state,
    reason: job.data.reason,
    requestedBy: job.data.requestedBy ?? null,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason ?? null,
    result: job.returnvalue ?? null,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}

/** The API side of training: enqueue (the trainer role processes), list jobs and model versions. */
@Injectable()
export class TrainingService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly queues: JobQueues,
    private readonly modelVersions: ModelsRepository,
  ) {}

  /** Enqueues a manual training; a request while one waits for the project gets that job back. */
  async train(principal: Principal, projectId: string) {
    const project = await this.projects.get(principal, projectId);
    const data: TrainingJobData = { projectId: project.id, reason: 'manual', requestedBy: principal.name };
    const job = await this.queues.training.add(TRAINING_JOB, data, trainingJobOptions(project.id));
    return { jobId: job.id, state: await job.getState() };
  }

  async jobs(principal: Principal, projectId: string, limit: number) {
    const project = await this.projects.get(principal, projectId);
    const jobs = (await this.queues.training.getJobs([...JOB_STATES], 0, JOB_SCAN - 1)).filter(
      (job): job is Job<TrainingJobData> => job?.data?.projectId === project.id,
    );
    jobs.sort((a, b) => b.timestamp - a.timestamp);
    const page = jobs.slice(0, limit);
    return { data: await Promise.all(page.map(async (job) => jobView(job, await job.getState()))) };
  }

  async models(principal: Principal, projectId: string, limit: number) {
    const project = await this.projects.get(principal, projectId);
    const rows = await this.modelVersions.list(project.id, limit);
    return {
      data: rows.map((m) => ({
        id: m.id,
        number: m.number,
        status: m.status,
        promoted: m.promoted,
        metrics: m.metrics,
        backend: m.backend,
        trainMs: m.trainMs,
        datasetVersion: m.datasetVersion,
        artifactKey: m.artifactKey,
        spec: m.spec,
        error: m.error,
        createdAt: m.createdAt,
        readyAt: m.readyAt,
      })),
    };
  }
}
