import type { DatasetVersionsRepository, ProjectsRepository } from '@labelloop/db';
import type { JobQueues, RetrainCounter } from '@labelloop/queue';
import type { Logger } from 'pino';
import { isRetrainCheckpoint, RetrainTrigger } from './retrain-trigger';

describe('isRetrainCheckpoint', () => {
  it('checks at the threshold and at each further multiple of it', () => {
    expect([1, 4, 5, 6, 9, 10, 11].filter((n) => isRetrainCheckpoint(n, 5))).toEqual([5, 10]);
    expect(isRetrainCheckpoint(1, 1)).toBe(true);
    expect(isRetrainCheckpoint(0, 5)).toBe(false);
  });
});

describe('RetrainTrigger', () => {
  function setup(exactSinceLastVersion: number) {
    let count = 0;
    const counter = {
      increment: jest.fn(async () => ++count),
      set: jest.fn(async (_: string, n: number) => void (count = n)),
    };
    const datasets = { annotationsSinceLastVersion: jest.fn(async () => exactSinceLastVersion) };
    const projects = { findById: jest.fn(async () => ({ acquisitionSpec: { retrainThreshold: 3 } })) };
    const add = jest.fn(async () => ({}));
    const logger = { warn: jest.fn() };
    const trigger = new RetrainTrigger(
      counter as unknown as RetrainCounter,
      datasets as unknown as DatasetVersionsRepository,
      projects as unknown as ProjectsRepository,
      { training: { add } } as unknown as JobQueues,
      logger as unknown as Logger,
    );
    return { trigger, counter, datasets, projects, add };
  }

  it('enqueues a threshold training once the count reaches the threshold and the log agrees', async () => {
    const { trigger, datasets, projects, add } = setup(3);
    for (let i = 0; i < 3; i++) await trigger.labelWritten('p1');
    expect(datasets.annotationsSinceLastVersion).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledWith('train', { projectId: 'p1', reason: 'threshold' }, expect.anything());
    expect(projects.findById).toHaveBeenCalledTimes(1);
  });

  it('repairs a counter the annotation log contradicts instead of training', async () => {
    const { trigger, counter, add } = setup(1);
    for (let i = 0; i < 3; i++) await trigger.labelWritten('p1');
    expect(add).not.toHaveBeenCalled();
    expect(counter.set).toHaveBeenCalledWith('p1', 1);
  });
});
