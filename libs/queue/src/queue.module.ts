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
import { LOGGER } from '@labelloop/observability';
import type { Logger } from 'pino';
import { handlerProblems, type HandlerKey } from './handlers';
import { QUEUE_NAMES, type QueueName } from './queues';
import { RetrainCounter } from './retrain-counter';
import type { ScoringJobData } from './scoring';
import { JOB_NAMES, type TrainingJobData } from './training';

function connect(config: AppConfig): Redis {
  if (!config.redis.url) throw new Error('REDIS_URL is not resolved');
  return new IORedis(config.redis.url, { maxRetriesPerRequest: null });
}

async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') redis.disconnect();
  else await redis.quit().catch(() => redis.disconnect());
}

/** Producers: the queues jobs are added to (the api enqueues; any role may). Keys start with QUEUE_PREFIX. */
@Injectable()
export class JobQueues implements OnApplicationShutdown {
  private readonly connection: Redis;
  readonly training: Queue<TrainingJobData>;
  readonly scoring: Queue<ScoringJobData>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.connection = connect(config);
    this.training = new Queue<TrainingJobData>(QUEUE_NAMES.training, {
      connection: this.connection,
      prefix: config.redis.queuePrefix,
    });
    this.scoring = new Queue<ScoringJobData>(QUEUE_NAMES.scoring, {
      connection: this.connection,
      prefix: config.redis.queuePrefix,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.training.close().catch(() => undefined);
    await this.scoring.close().catch(() => undefined);
    await closeConnection(this.connection);
  }
}

type Handler = (job: Job) => Promise<unknown>;

const WORKER_OPTIONS: Record<QueueName, Partial<WorkerOptions>> = {
  // One training at a time per worker process; training blocks the event loop between epochs, so the lock is long.
  training: { concurrency: 1, lockDuration: 120_000 },
  // Scoring runs the model synchronously page by page; the lock outlasts the longest page.
  scoring: { concurrency: 1, lockDuration: 120_000 },
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
        { connection, prefix: this.config.redis.queuePrefix, ...WORKER_OPTIONS[queue] },
      );
      worker.on('failed', (job, error) =>
        this.logger.warn(
          { queue, jobId: job?.id, attempt: job?.attemptsMade, err: error.message },
          'job failed',
        ),
      );
      worker.on('error', (error) => this.logger.error({ queue, err: error.message }, 'worker error'));
      this.workers.push({ worker, connection });
      this.logger.info({ component: 'queue', queue }, 'worker started');
    }
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
