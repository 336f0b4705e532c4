import type { JobsOptions } from 'bullmq';

/**
 * The one job of the `suspects` queue: rank the labeled pool items of the promoted model's dataset version by
 * how likely their label is wrong (k-fold out-of-sample probabilities, confident learning) and replace the
 * project's suspects. Its own queue: the k-fold trainings take long and must not hold up pool scoring.
 */
export const SUSPECTS_JOB = 'suspects' as const;

export interface SuspectsJobData {
  projectId: string;
  /** The model whose promotion asked for it; the job uses whichever model is promoted when it runs. */
  modelVersionId: string;
}

/** Progress a suspects job reports while it runs (job.progress): k-fold trainings done of all. */
export interface SuspectsProgress {
  fold: number;
  folds: number;
}

/** Job options of every suspects job, in one place. */
export const SUSPECTS_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: false,
} satisfies JobsOptions;

/** Deduplication key of a project's suspects refresh: folded like scoring (one waits, one may run). */
export function suspectsDedupId(projectId: string): string {
  return `suspects:${projectId}`;
}

/** Options to add one suspects job for a project. */
export function suspectsJobOptions(projectId: string): JobsOptions {
  return {
    ...SUSPECTS_JOB_OPTIONS,
    deduplication: { id: suspectsDedupId(projectId), keepLastIfActive: true },
  };
}
