import {
  BeforeApplicationShutdown,
  Global,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { type Job, Queue, Worker, type WorkerOptions } from 'bullmq';
import IORedis, { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { LOGGER, Metrics } from '@labelloop/observability';
import type { Logger } from 'pino';
import { handlerProblems, type HandlerKey } from './handlers';
import { QUEUE_NAMES, type QueueName } from './queues';
import { RetrainCounter } from './retrain-counter';
import { SCORE_NEW_JOB, type ScoreNewJobData, scoreNewJobOptions, type ScoringJobData } from './scoring';
import type { SuspectsJobData } from './suspects';
import { JOB_NAMES, type TrainingJobData } from './training';

function connect(config: AppConfig): Redis {
  if (!config.redis.url) throw new Error('REDIS_URL is not resolved');
  return new IORedis(config.redis.url, { maxRetriesPerRequest: null });
}

async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') redis.disconnect();
  else await redis.quit().catch(() => redis.disconnect());
}

/** The job states the `queue_jobs` gauge reports. */
const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Producers: the queues jobs are added to (the api enqueues; any role may). Keys start with QUEUE_PREFIX. */
@Injectable()
export class JobQueues implements OnApplicationShutdown {
  private readonly connection: Redis;
  readonly training: Queue<TrainingJobData>;
  readonly scoring: Queue<ScoringJobData | ScoreNewJobData>;
  readonly suspects: Queue<SuspectsJobData>;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: Metrics) {
    this.connection = connect(config);
    this.training = new Queue<TrainingJobData>(QUEUE_NAMES.training, {
      connection: this.connection,
      prefix: config.redis.queuePrefix,
    });
    this.scoring = new Queue<ScoringJobData | ScoreNewJobData>(QUEUE_NAMES.scoring, {
      connection: this.connection,
      prefix: config.redis.queuePrefix,
    });
    this.suspects = new Queue<SuspectsJobData>(QUEUE_NAMES.suspects, {
      connection: this.connection,
      prefix: config.redis.queuePrefix,
    });
    // queue_jobs: one getJobCounts per queue per scrape (a few Redis commands each).
    metrics.onCollect(async () => {
      for (const queue of [this.training, this.scoring, this.suspects]) {
        const counts = await queue.getJobCounts(...QUEUE_JOB_STATES);
        for (const state of QUEUE_JOB_STATES)
          metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    });
  }

  /** Asks for an incremental scoring of the project's unscored pool items (deduplicated per project). */
  async scoreNew(projectId: string, reason: ScoreNewJobData['reason']): Promise<void> {
    const data: ScoreNewJobData = { projectId, reason };
    await this.scoring.add(SCORE_NEW_JOB, data, scoreNewJobOptions(projectId));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.training.close().catch(() => undefined);
    await this.scoring.close().catch(() => undefined);
    await this.suspects.close().catch(() => undefined);
    await closeConnection(this.connection);
  }
}

type Handler = (job: Job) => Promise<unknown>;

// The lock (JOB_LOCK_SECONDS, renewed at half of it) must outlast the longest stretch a job blocks the event
// loop (on the cpu backend a whole fit can), else the job counts as stalled.
const WORKER_OPTIONS: Record<QueueName, Partial<WorkerOptions>> = {
  // One training at a time per worker process; training blocks the event loop between epochs, so the lock is long.
  training: { concurrency: 1 },
  // Scoring runs the model synchronously page by page; the lock outlasts the longest page.
  scoring: { concurrency: 1 },
  // The k-fold trainings block the event loop between epochs, like training.
  suspects: { concurrency: 1 },
};

/**
 * Consumers: processors register a handler per job name in onModuleInit; at bootstrap every consumed queue
 * is checked (each of its job names has exactly one handler, else start-up fails naming the problem) and
 * gets one BullMQ worker that dispatches on the job name. Workers close before the database and Redis do.
 */
@Injectable()
export class QueueWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly handlers: (HandlerKey & { handle: Handler })[] = [];
  private readonly workers: { worker: Worker; connection: Redis }[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  register<T>(queue: QueueName, name: string, handle: (job: Job<T>) => Promise<unknown>): void {
    this.handlers.push({ queue, name, handle: handle as Handler });
  }

  onApplicationBootstrap(): void {
    const problems = handlerProblems(JOB_NAMES, this.handlers);
    if (problems.length > 0) throw new Error(`queue handlers: ${problems.join('; ')}`);
    for (const queue of new Set(this.handlers.map((h) => h.queue))) {
      const byName = new Map(this.handlers.filter((h) => h.queue === queue).map((h) => [h.name, h.handle]));
      const connection = connect(this.config);
      const worker = new Worker(
        queue,
        (job: Job) => {
          const handle = byName.get(job.name);
          if (!handle) throw new Error(`no handler for job "${job.name}" of queue "${queue}"`);
          return handle(job);
        },
        {
          connection,
          prefix: this.config.redis.queuePrefix,
          // A job whose worker died (lock expired) is moved back to waiting at the next stalled check.
          ...WORKER_OPTIONS[queue],
          lockDuration: this.config.redis.jobLockSeconds * 1000,
          stalledInterval: this.config.redis.jobLockSeconds * 1000,
        },
      );
      worker.on('completed', (job) => this.observeDuration(queue, 'completed', job));
      worker.on('failed', (job, error) => {
        if (job) this.observeDuration(queue, 'failed', job);
        this.logger.warn(
          { queue, jobId: job?.id, attempt: job?.attemptsMade, err: error.message },
          'job failed',
        );
      });
      worker.on('error', (error) => this.logger.error({ queue, err: error.message }, 'worker error'));
      this.workers.push({ worker, connection });
      this.logger.info({ component: 'queue', queue }, 'worker started');
    }
  }

  /** job_duration_seconds: from when this attempt started to when it finished. */
  private observeDuration(queue: QueueName, outcome: 'completed' | 'failed', job: Job): void {
    if (job.processedOn === undefined) return;
    const seconds = ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000;
    this.metrics.jobDuration.observe({ queue, outcome }, Math.max(0, seconds));
  }

  async beforeApplicationShutdown(): Promise<void> {
    // close() waits for the running job; a job cut short by a crash is picked up again as stalled.
    await Promise.all(
      this.workers.map(async ({ worker, connection }) => {
        await worker.close().catch(() => undefined);
        await closeConnection(connection);
      }),
    );
    this.workers.length = 0;
  }
}

/** The queues (producers) and the worker registry (consumers); imported once by the launcher for every role. */
@Global()
@Module({
  providers: [JobQueues, QueueWorkers, RetrainCounter],
  exports: [JobQueues, QueueWorkers, RetrainCounter],
})
export class QueueModule {}
