import { handlerProblems } from './handlers';
import { SCORE_NEW_JOB, SCORING_JOB, scoreNewJobOptions, scoringJobOptions } from './scoring';
import { JOB_NAMES, TRAINING_JOB, trainingJobOptions } from './training';

describe('handlerProblems', () => {
  it('accepts one handler per job name of each consumed queue', () => {
    expect(handlerProblems(JOB_NAMES, [{ queue: 'training', name: TRAINING_JOB }])).toEqual([]);
    const scoring = [SCORING_JOB, SCORE_NEW_JOB].map((name) => ({ queue: 'scoring' as const, name }));
    expect(handlerProblems(JOB_NAMES, scoring)).toEqual([]);
  });

  it('requires a handler for each scoring job in a process that consumes the scoring queue', () => {
    expect(handlerProblems(JOB_NAMES, [{ queue: 'scoring', name: 'rescore' }])).toEqual([
      'job "score" of queue "scoring" has 0 handlers (expected exactly 1)',
      'job "score-new" of queue "scoring" has 0 handlers (expected exactly 1)',
      'a handler is registered for unknown job "rescore" of queue "scoring"',
    ]);
  });

  it('accepts a process that consumes nothing (the api role)', () => {
    expect(handlerProblems(JOB_NAMES, [])).toEqual([]);
  });

  it('names a missing, a duplicate and an unknown handler', () => {
    const names = { training: ['train', 'evaluate'] };
    expect(
      handlerProblems(names, [
        { queue: 'training', name: 'train' },
        { queue: 'training', name: 'train' },
        { queue: 'training', name: 'export' },
      ]),
    ).toEqual([
      'job "train" of queue "training" has 2 handlers (expected exactly 1)',
      'job "evaluate" of queue "training" has 0 handlers (expected exactly 1)',
      'a handler is registered for unknown job "export" of queue "training"',
    ]);
  });
});

describe('trainingJobOptions', () => {
  it('retries with backoff, keeps failed jobs and deduplicates per project', () => {
    expect(trainingJobOptions('p1')).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential' },
      removeOnFail: false,
      deduplication: { id: 'train:p1', keepLastIfActive: true },
    });
  });
});

describe('scoringJobOptions', () => {
  it('retries with backoff and deduplicates per project', () => {
    expect(scoringJobOptions('p1')).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential' },
      deduplication: { id: 'score:p1', keepLastIfActive: true },
    });
  });

  it('runs a waiting full pass before a waiting incremental one (BullMQ runs unprioritized jobs first)', () => {
    expect(scoringJobOptions('p1')).not.toHaveProperty('priority');
    expect(scoreNewJobOptions('p1')).toMatchObject({
      priority: 1,
      deduplication: { id: 'score-new:p1', keepLastIfActive: true },
    });
  });
});
