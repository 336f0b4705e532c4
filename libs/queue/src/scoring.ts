import type { JobsOptions } from 'bullmq';

/** The one job of the `scoring` queue: rank a project's unlabeled pool with its promoted model. */
export const SCORING_JOB = 'score' as const;

export interface ScoringJobData {
  projectId: string;
  /** The model whose promotion asked for the scoring; the scorer uses whichever model is promoted when it runs. */
  modelVersionId: string;
}

/** Progress a scoring job reports while it runs (job.progress). */
export interface ScoringProgress {
  /** Pool items scored so far. */
  scored: number;
}

/** Job options of every scoring job, in one place. */
export const SCORING_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: false,
} satisfies JobsOptions;

/**
 * Deduplication key of a project's scoring: a promotion while one scoring waits is folded into it (it scores
 * with the newest promoted model anyway); while one runs, at most one more waits.
 */
export function scoringDedupId(projectId: string): string {
  return `score:${projectId}`;
}

/** Options to add one scoring job for a project. */
export function scoringJobOptions(projectId: string): JobsOptions {
  return {
    ...SCORING_JOB_OPTIONS,
    deduplication: { id: scoringDedupId(projectId), keepLastIfActive: true },
  };
}
