import type { JobsOptions } from 'bullmq';

/** The `scoring` queue's full pass: rank a project's whole unlabeled pool with its promoted model. */
export const SCORING_JOB = 'score' as const;

/**
 * The `scoring` queue's incremental pass: score the pool items that have no prediction yet (imported after the
 * promoted model ranked the pool) and let the best of them join the queue. Asked for after an import and by a
 * lease that finds the queue short.
 */
export const SCORE_NEW_JOB = 'score-new' as const;

/** Data of a `score-new` job. */
export interface ScoreNewJobData {
  projectId: string;
  reason: 'import' | 'short-queue';
}

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

/**
 * Deduplication key of a project's incremental scoring: any number of imports and short leases while one
 * waits fold into it (it scores whatever is unscored when it runs).
 */
export function scoreNewDedupId(projectId: string): string {
  return `score-new:${projectId}`;
}

/**
 * BullMQ priority of an incremental scoring: below a waiting full pass (no priority, so first), which scores
 * the items without a prediction first anyway and ranks the queue with the newest model; the incremental pass
 * must not hold the one scoring worker while a newer model waits to rank the pool.
 */
export const SCORE_NEW_PRIORITY = 1;

/** Options to add one incremental scoring job for a project. */
export function scoreNewJobOptions(projectId: string): JobsOptions {
  return {
    ...SCORING_JOB_OPTIONS,
    priority: SCORE_NEW_PRIORITY,
    deduplication: { id: scoreNewDedupId(projectId), keepLastIfActive: true },
  };
}

/** Options to add one scoring job for a project. */
export function scoringJobOptions(projectId: string): JobsOptions {
  return {
    ...SCORING_JOB_OPTIONS,
    deduplication: { id: scoringDedupId(projectId), keepLastIfActive: true },
  };
}
