import { EventEmitter } from 'node:events';
import type { DatasetVersionsRepository, ProjectsRepository } from '@labelloop/db';
import type { Redis } from 'ioredis';
import type { JobQueues, RetrainCounter } from '@labelloop/queue';
import type { Logger } from 'pino';
import { isRetrainCheckpoint, passesRetrainCheckpoint, RetrainTrigger } from './retrain-trigger';

describe('isRetrainCheckpoint', () => {
  it('checks at the threshold and at each further multiple of it', () => {
    expect([1, 4, 5, 6, 9, 10, 11].filter((n) => isRetrainCheckpoint(n, 5))).toEqual([5, 10]);
    expect(isRetrainCheckpoint(1, 1)).toBe(true);
    expect(isRetrainCheckpoint(0, 5)).toBe(false);
  });
});

describe('passesRetrainCheckpoint', () => {
  it('is true when a batch of labels reaches or passes a multiple of the threshold', () => {
    expect(passesRetrainCheckpoint(5, 1, 5)).toBe(true);
    expect(passesRetrainCheckpoint(4, 1, 5)).toBe(false);
    expect(passesRetrainCheckpoint(7, 3, 5)).toBe(true);
    expect(passesRetrainCheckpoint(9, 3, 5)).toBe(false);
    expect(passesRetrainCheckpoint(12, 3, 5)).toBe(true);
    expect(passesRetrainCheckpoint(3, 3, 5)).toBe(false);
    expect(passesRetrainCheckpoint(0, 0, 5)).toBe(false);
  });
});

describe('RetrainTrigger', () => {
  function setup(exactSinceLastVersion: number) {
    let count = 0;
    const counter = {
      increment: jest.fn(async (_: string, by = 1) => (count += by)),
      set: jest.fn(async (_: string, n: number) => void (count = n)),
    };
    const datasets = {
      annotationsSinceLastVersion: jest.fn(async () => exactSinceLastVersion),
      annotationsSinceLastVersionPerProject: jest.fn(async () => new Map<string, number>()),
    };
    const projects = { findById: jest.fn(async () => ({ acquisitionSpec: { retrainThreshold: 3 } })) };
    const add = jest.fn(async (): Promise<{ id?: string }> => ({}));
    const getJobState = jest.fn(async (): Promise<string> => 'waiting');
    const logger = { warn: jest.fn(), info: jest.fn() };
    const redis = Object.assign(new EventEmitter(), { status: 'connecting' });
    const trigger = new RetrainTrigger(
      counter as unknown as RetrainCounter,
      datasets as unknown as DatasetVersionsRepository,
      projects as unknown as ProjectsRepository,
      { training: { add, getJobState } } as unknown as JobQueues,
      redis as unknown as Redis,
      logger as unknown as Logger,
    );
    return { trigger, counter, datasets, projects, add, getJobState, logger, redis };
  }

  /** Lets the background catch-up run to its end. */
  const settle = () => new Promise((done) => setTimeout(done, 20));

  it('enqueues a threshold training once the count reaches the threshold and the log agrees', async () => {
    const { trigger, datasets, projects, add } = setup(3);
    for (let i = 0; i < 3; i++) trigger.labelWritten('p1');
    await trigger.flush();
    expect(datasets.annotationsSinceLastVersion).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledWith('train', { projectId: 'p1', reason: 'threshold' }, expect.anything());
    expect(projects.findById).toHaveBeenCalledTimes(1);
  });

  it('repairs a counter the annotation log contradicts instead of training', async () => {
    const { trigger, counter, add } = setup(1);
    for (let i = 0; i < 3; i++) {
      trigger.labelWritten('p1');
      await trigger.flush();
    }
    expect(add).not.toHaveBeenCalled();
    expect(counter.set).toHaveBeenCalledWith('p1', 1);
  });

  it('skips counting the log while the training it queued has not started, and checks again once it has', async () => {
    const { trigger, datasets, add, getJobState } = setup(3);
    add.mockResolvedValue({ id: 'job-1' });
    const label3 = async () => {
      for (let i = 0; i < 3; i++) trigger.labelWritten('p1');
      await trigger.flush();
    };
    await label3();
    expect(add).toHaveBeenCalledTimes(1);
    await label3();
    expect(getJobState).toHaveBeenCalledWith('job-1');
    expect(datasets.annotationsSinceLastVersion).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledTimes(1);
    getJobState.mockResolvedValue('active');
    await label3();
    expect(datasets.annotationsSinceLastVersion).toHaveBeenCalledTimes(2);
    expect(add).toHaveBeenCalledTimes(2);
  });

  it('never touches Redis on the write itself: labels are counted in one INCRBY per project shortly after', async () => {
    const { trigger, counter } = setup(0);
    trigger.labelWritten('p1');
    trigger.labelWritten('p1');
    trigger.labelWritten('p2');
    expect(counter.increment).not.toHaveBeenCalled();
    await new Promise((done) => setTimeout(done, 250));
    expect(counter.increment.mock.calls).toEqual([
      ['p1', 2],
      ['p2', 1],
    ]);
  });

  it('logs a failed check and never rejects', async () => {
    const { trigger, counter, logger } = setup(0);
    counter.increment.mockRejectedValueOnce(new Error('redis down'));
    trigger.labelWritten('p1');
    await expect(trigger.flush()).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith({ projectId: 'p1', err: 'redis down' }, 'retrain check failed');
  });

  it('flushes what is pending before the application shuts down', async () => {
    const { trigger, counter } = setup(0);
    trigger.labelWritten('p1');
    await trigger.beforeApplicationShutdown();
    expect(counter.increment).toHaveBeenCalledWith('p1', 1);
  });

  it('catches the counters up from the annotation log whenever Redis becomes ready, and trains where due', async () => {
    const { trigger, counter, datasets, add, redis } = setup(0);
    datasets.annotationsSinceLastVersionPerProject.mockResolvedValue(
      new Map([
        ['due', 4],
        ['short', 2],
      ]),
    );
    trigger.onApplicationBootstrap();
    expect(datasets.annotationsSinceLastVersionPerProject).not.toHaveBeenCalled();
    redis.emit('ready');
    await settle();
    expect(counter.set.mock.calls).toEqual([
      ['due', 4],
      ['short', 2],
    ]);
    expect(add).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledWith('train', { projectId: 'due', reason: 'threshold' }, expect.anything());
    // After an outage (a Redis that came back empty) it catches up again.
    redis.emit('ready');
    await settle();
    expect(datasets.annotationsSinceLastVersionPerProject).toHaveBeenCalledTimes(2);
    expect(add).toHaveBeenCalledTimes(2);
  });

  it('catches up at start-up when Redis was ready before the trigger was', async () => {
    const { trigger, datasets, redis } = setup(0);
    redis.status = 'ready';
    trigger.onApplicationBootstrap();
    await settle();
    expect(datasets.annotationsSinceLastVersionPerProject).toHaveBeenCalledTimes(1);
  });

  it('runs once more when Redis becomes ready again during a catch-up, never two at once', async () => {
    const { trigger, datasets, redis } = setup(0);
    let finish: (counts: Map<string, number>) => void = () => undefined;
    datasets.annotationsSinceLastVersionPerProject.mockImplementationOnce(
      () => new Promise((resolve) => (finish = resolve)),
    );
    trigger.onApplicationBootstrap();
    redis.emit('ready');
    redis.emit('ready');
    redis.emit('ready');
    expect(datasets.annotationsSinceLastVersionPerProject).toHaveBeenCalledTimes(1);
    finish(new Map());
    await settle();
    expect(datasets.annotationsSinceLastVersionPerProject).toHaveBeenCalledTimes(2);
  });

  it('logs a failed catch-up and stops listening at shutdown', async () => {
    const { trigger, datasets, logger, redis } = setup(0);
    datasets.annotationsSinceLastVersionPerProject.mockRejectedValueOnce(new Error('db down'));
    trigger.onApplicationBootstrap();
    redis.emit('ready');
    await settle();
    expect(logger.warn).toHaveBeenCalledWith({ err: 'db down' }, 'retrain catch-up failed');
    await trigger.beforeApplicationShutdown();
    redis.emit('ready');
    await settle();
    expect(datasets.annotationsSinceLastVersionPerProject).toHaveBeenCalledTimes(1);
  });
});
