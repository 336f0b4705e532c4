import type { JobsOptions } from 'bullmq';
import { QUEUE_NAMES } from './queues';
import { SCORE_NEW_JOB, SCORING_JOB } from './scoring';
import { SUSPECTS_JOB } from './suspects';

/** The one job of the `training` queue: train, evaluate, store and maybe promote a model for a project. */
export const TRAINING_JOB = 'train' as const;

export interface TrainingJobData {
  projectId: string;
  reason: 'threshold' | 'manual';
  /** Name of the API key that asked for it (manual runs). */
  requestedBy?: string;
  /**
   * Train on this existing dataset version (id; the number is for people reading the job) instead of
   * freezing a new one: with `seed`, the run reproduces an earlier one.
   */
  datasetVersion?: { id: string; number: number };
  /** Seed of the model spec instead of the project's. */
  seed?: number;
}

/** Progress a training job reports while it runs (job.progress). */
export interface TrainingProgress {
  epoch: number;
  loss: number;
}

/** Job options of every training job, in one place. */
export const TRAINING_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  // Completed jobs stay listable for a week; failed ones are kept for inspection.
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: false,
} satisfies JobsOptions;

/**
 * Deduplication key of a project's training: while one training of the project waits, a new request is
 * folded into it; while one runs, at most one more waits (BullMQ `keepLastIfActive`).
 */
export function trainingDedupId(projectId: string): string {
  return `train:${projectId}`;
}

/**
 * Deduplication key of a pinned training (a given dataset version and/or seed): it is never folded into a
 * training of other inputs, only into the same request.
 */
export function pinnedTrainingDedupId(projectId: string, datasetVersion?: number, seed?: number): string {
  return `train:${projectId}:v${datasetVersion ?? 'new'}:s${seed ?? 'project'}`;
}

/** Options to add one training job for a project (`dedupId` for pinned trainings). */
export function trainingJobOptions(projectId: string, dedupId = trainingDedupId(projectId)): JobsOptions {
  return {
    ...TRAINING_JOB_OPTIONS,
    deduplication: { id: dedupId, keepLastIfActive: true },
  };
}

/** Every job name of every queue; a process that consumes a queue must handle each of its names exactly once. */
export const JOB_NAMES = {
  [QUEUE_NAMES.training]: [TRAINING_JOB],
  [QUEUE_NAMES.scoring]: [SCORING_JOB, SCORE_NEW_JOB],
  [QUEUE_NAMES.suspects]: [SUSPECTS_JOB],
} as const satisfies Record<string, readonly string[]>;
