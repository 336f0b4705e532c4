import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DatasetVersionsRepository, ProjectsRepository } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import {
  JobQueues,
  REDIS,
  RetrainCounter,
  TRAINING_JOB,
  type TrainingJobData,
  trainingJobOptions,
} from '@labelloop/queue';

/** How long a process trusts a project's retrain threshold before reading it again. */
const THRESHOLD_CACHE_MS = 30_000;
const DEFAULT_RETRAIN_THRESHOLD = 50;
/**
 * Labels are counted in memory and added to the Redis counters in one batch this often: at labeling speed
 * that is one INCRBY per project every FLUSH_MS instead of a Redis round trip per label.
 */
const FLUSH_MS = 100;
/** Job states of a training that has not frozen its dataset yet. */
const NOT_STARTED = new Set<string>(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/**
 * Whether a label count since the last training calls for a check of the annotation log: at the threshold
 * and at every further multiple of it, so a project whose training is pending pays one SQL count per
 * `threshold` labels, not one per label.
 */
export function isRetrainCheckpoint(count: number, threshold: number): boolean {
  return count > 0 && count % threshold === 0;
}

/** Whether adding `added` labels that brought the count to `count` reached or passed a checkpoint. */
export function passesRetrainCheckpoint(count: number, added: number, threshold: number): boolean {
  return count > 0 && Math.floor(count / threshold) > Math.floor(Math.max(0, count - added) / threshold);
}

/**
 * Starts a training by itself when the labels since the last training reach the project's
 * `acquisitionSpec.retrainThreshold`. The hot path (every annotation write) only counts in memory: the
 * check runs after the response, off the request, every FLUSH_MS for the labels written meanwhile: one Redis
 * INCRBY per project (see RetrainCounter) and a cached threshold. Only when the count passes a checkpoint
 * is the annotation log counted (seq above the newest dataset version's watermark), which also repairs a
 * counter that drifted, and a training enqueued; while that training waits to start, further checkpoints
 * only ask the queue for its state. Deduplication per project turns a burst of checkpoints into one queued
 * training. A failed check is logged and never reaches the request (a missed trigger is caught
 * up at the next checkpoint).
 *
 * The counters are only a hint kept in Redis, which may be unreachable or come back empty. Whenever the
 * connection becomes ready (at start-up and after every outage) the counts are caught up from the annotation
 * log, the one source of truth: every project with labels since its last training gets its counter set to
 * that number and, when it is at or above the threshold, a training (deduplicated like any other).
 */
@Injectable()
export class RetrainTrigger implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly thresholds = new Map<string, { value: number; until: number }>();
  /** Labels written per project since the last flush. */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The threshold training last enqueued (or found waiting) per project. */
  private readonly queued = new Map<string, string>();
  /** Whether a catch-up runs now, and whether the connection became ready again while it ran. */
  private catchingUp = false;
  private catchUpAgain = false;
  private readonly onRedisReady = (): void => this.catchUp();

  constructor(
    private readonly counter: RetrainCounter,
    private readonly datasets: DatasetVersionsRepository,
    private readonly projects: ProjectsRepository,
    private readonly queues: JobQueues,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.redis.on('ready', this.onRedisReady);
    // Ready before this service was: the event has passed.
    if (this.redis.status === 'ready') this.onRedisReady();
  }

  /** After an annotation write: counts it and returns at once; the check follows within FLUSH_MS. */
  labelWritten(projectId: string): void {
    this.pending.set(projectId, (this.pending.get(projectId) ?? 0) + 1);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * Checks the labels counted so far now and resolves once every check started before has finished (never
   * rejects). Whoever reads what a label may have triggered (the job list) calls it first.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      const checks = Promise.all([...batch].map(([projectId, added]) => this.check(projectId, added)));
      const done = checks.then(() => undefined);
      this.inFlight.add(done);
      void done.then(() => this.inFlight.delete(done));
    }
    return Promise.all(this.inFlight).then(() => undefined);
  }

  /** Counts written before a shutdown still reach Redis. */
  async beforeApplicationShutdown(): Promise<void> {
    // A catch-up still running is not waited for: the next start catches up again.
    this.redis.off('ready', this.onRedisReady);
    await this.flush();
  }

  /**
   * Sets every project's counter from the annotation log and enqueues the trainings due, in the background.
   * A call while one runs makes that one run once more after it (Redis may have come back empty meanwhile).
   */
  private catchUp(): void {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = true;
    void (async () => {
      do {
        this.catchUpAgain = false;
        await this.catchUpFromLog();
      } while (this.catchUpAgain);
      this.catchingUp = false;
    })();
  }

  private async catchUpFromLog(): Promise<void> {
    try {
      const counts = await this.datasets.annotationsSinceLastVersionPerProject();
      // Job ids remembered from before may name another project's job in a Redis that came back empty.
      this.queued.clear();
      // Every counter first: once a caught-up training is visible, so are all the caught-up counts.
      for (const [projectId, count] of counts) await this.counter.set(projectId, count);
      for (const [projectId, count] of counts) {
        if (count >= (await this.threshold(projectId))) await this.enqueue(projectId);
      }
      this.logger.info({ projects: counts.size }, 'retrain counters caught up from the annotation log');
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'retrain catch-up failed');
    }
  }

  private async check(projectId: string, added: number): Promise<void> {
    try {
      const count = await this.counter.increment(projectId, added);
      const threshold = await this.threshold(projectId);
      if (!passesRetrainCheckpoint(count, added, threshold)) return;
      // A training this process queued that has not started yet will train on these labels too: no need to
      // count the log (a query that grows with the project) and enqueue again at every checkpoint until then.
      const queued = this.queued.get(projectId);
      if (queued !== undefined && NOT_STARTED.has(await this.queues.training.getJobState(queued))) return;
      const exact = await this.datasets.annotationsSinceLastVersion(projectId);
      if (exact < threshold) {
        await this.counter.set(projectId, exact);
        return;
      }
      await this.enqueue(projectId);
    } catch (error) {
      this.logger.warn({ projectId, err: (error as Error).message }, 'retrain check failed');
    }
  }

  private async enqueue(projectId: string): Promise<void> {
    const data: TrainingJobData = { projectId, reason: 'threshold' };
    const job = await this.queues.training.add(TRAINING_JOB, data, trainingJobOptions(projectId));
    if (job.id !== undefined) this.queued.set(projectId, job.id);
    else this.queued.delete(projectId);
  }

  private async threshold(projectId: string): Promise<number> {
    const cached = this.thresholds.get(projectId);
    if (cached && cached.until > Date.now()) return cached.value;
    const project = await this.projects.findById(projectId);
    const stored = (project?.acquisitionSpec as { retrainThreshold?: number } | undefined)?.retrainThreshold;
    const value = stored && stored > 0 ? stored : DEFAULT_RETRAIN_THRESHOLD;
    this.thresholds.set(projectId, { value, until: Date.now() + THRESHOLD_CACHE_MS });
    return value;
  }
}
