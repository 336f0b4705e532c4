import { loadConfig } from '@labelloop/config';
import type { Logger } from 'pino';
import { Metrics } from '@labelloop/observability';
import { QueueWorkers } from './queue.module';
import { TRAINING_JOB } from './training';

describe('QueueWorkers', () => {
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' });
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as Logger;

  it('refuses to start when a job name has two handlers, before connecting anywhere', () => {
    const workers = new QueueWorkers(config, logger, new Metrics());
    workers.register('training', TRAINING_JOB, async () => undefined);
    workers.register('training', TRAINING_JOB, async () => undefined);
    expect(() => workers.onApplicationBootstrap()).toThrow(
      'queue handlers: job "train" of queue "training" has 2 handlers (expected exactly 1)',
    );
  });

  it('refuses a handler for a job name its queue does not have', () => {
    const workers = new QueueWorkers(config, logger, new Metrics());
    workers.register('training', TRAINING_JOB, async () => undefined);
    workers.register('training', 'retrain', async () => undefined);
    expect(() => workers.onApplicationBootstrap()).toThrow(/unknown job "retrain" of queue "training"/);
  });
});
