import { acquisitionSpec, modelSpec } from '@labelloop/ml';
import type { InputKind } from '@labelloop/db';
import { createComputeTasks } from './compute-tasks';
import {
  COMPUTE_ERRORS,
  type EpochProgress,
  type FitResult,
  type LabelRanking,
  type ScoreResponse,
} from './messages';

/** Tabular rows whose label is the sign of f0 (0 = neg, 1 = pos). */
function rows(n: number, offset = 0) {
  const inputs = Array.from({ length: n }, (_, i) => ({
    f0: ((i + offset) % 2 === 0 ? -1 : 1) * (1 + (i % 5) / 5),
    f1: i % 3,
  }));
  return { inputs, labels: inputs.map((row): number => (row.f0 > 0 ? 1 : 0)) };
}

describe('compute tasks (what a compute worker runs)', () => {
  const progress: unknown[] = [];
  const tasks = createComputeTasks('cpu', (p) => progress.push(p));
  const kind: InputKind = 'tabular';
  const spec = modelSpec({ architecture: 'linear', epochs: 20, learningRate: 0.1, seed: 3 });
  let fitted: FitResult;

  beforeAll(async () => {
    fitted = (await tasks.fit({
      kind,
      labels: ['neg', 'pos'],
      spec,
      train: rows(60),
      holdout: rows(20, 1),
    })) as FitResult;
  });

  it('fits, evaluates on the holdout, reports each epoch and returns the artifact files', () => {
    expect([...fitted.files.keys()].sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    expect(fitted.accuracy).toBeGreaterThan(0.9);
    expect(fitted.metrics).toMatchObject({
      holdoutRows: 20,
      trainRows: expect.any(Number),
      bestEpoch: expect.any(Number),
    });
    expect(fitted.backend).toBe('cpu');
    const epochs = (progress as EpochProgress[]).map((p) => p.epoch);
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs[0]).toBe(0);
    expect(progress[0]).toEqual({ epoch: 0, loss: expect.any(Number) });
  });

  it('refuses to score with a model it does not hold, then scores once the model is loaded', async () => {
    const request = { inputs: rows(4).inputs, spec: acquisitionSpec({ strategy: 'margin' }) };
    await expect(tasks.score('m1', request)).rejects.toMatchObject({ code: COMPUTE_ERRORS.modelNotLoaded });
    await tasks.loadModel('m1', fitted.files);
    const scored = (await tasks.score('m1', request)) as ScoreResponse;
    expect(scored.labels).toEqual(['neg', 'pos']);
    expect(scored.probabilities).toHaveLength(8);
    expect(scored.scores).toHaveLength(4);
  });

  it('predicts with a loaded model', async () => {
    await tasks.loadModel('m1', fitted.files);
    const predicted = (await tasks.predict('m1', [{ f0: 2, f1: 0 }])) as { probabilities: Float32Array };
    expect(predicted.probabilities[1]).toBeGreaterThan(0.5);
  });

  it('chooses a batch among candidates, with diversity over their embeddings', async () => {
    const candidates = rows(10).inputs;
    const scores = Float32Array.from(candidates.map((_, i) => 1 - i / 10));
    const chosen = (await tasks.choose('m1', {
      inputs: candidates,
      scores,
      probabilities: null,
      batchSize: 3,
      spec: acquisitionSpec({ strategy: 'margin', diversity: true, candidateMultiplier: 4 }),
    })) as number[];
    expect(chosen).toHaveLength(3);
    expect(chosen[0]).toBe(0);
    expect(new Set(chosen).size).toBe(3);
  });

  it('evaluates an artifact on labeled inputs, and refuses files that are no model', async () => {
    const { inputs, labels } = rows(10);
    expect(await tasks.evaluate({ files: fitted.files, inputs, labels })).toMatchObject({ n: 10 });
    expect(await tasks.evaluate({ files: fitted.files, inputs: [], labels: [] })).toBeNull();
    const broken = new Map(fitted.files);
    broken.set('weights.bin', new Uint8Array(3));
    await expect(tasks.evaluate({ files: broken, inputs, labels })).rejects.toMatchObject({
      code: COMPUTE_ERRORS.badArtifact,
    });
  });

  it('ranks every labeled row by the k-fold, flagging a flipped label', async () => {
    const { inputs, labels } = rows(40);
    labels[6] = 1 - labels[6];
    // Staged in two pages, as the suspects pipeline sends a large set.
    expect(await tasks.stageRows('set-1', { inputs: inputs.slice(0, 25), labels: labels.slice(0, 25) })).toBe(
      25,
    );
    expect(await tasks.stageRows('set-1', { inputs: inputs.slice(25), labels: labels.slice(25) })).toBe(40);
    const ranking = (await tasks.outOfSample({
      kind,
      numClasses: 2,
      spec,
      rowsId: 'set-1',
      folds: 4,
    })) as LabelRanking;
    expect(ranking.rows).toHaveLength(40);
    expect(new Set(ranking.rows).size).toBe(40);
    expect(ranking.rows[0]).toBe(6);
    expect(ranking.flagged[0]).toBe(1);
    expect(ranking.givenLabels[0]).toBe(labels[6]);
    expect(ranking.suggestedLabels[0]).toBe(1 - labels[6]);
    const confidence = Array.from(ranking.selfConfidence);
    expect(confidence).toEqual([...confidence].sort((a, b) => a - b));
    // The run consumed the staged set.
    await expect(tasks.outOfSample({ kind, numClasses: 2, spec, rowsId: 'set-1', folds: 4 })).rejects.toThrow(
      /no rows staged as set-1/,
    );
  });

  it('keeps one staged set: a new one drops the rows of a set that was never run', async () => {
    const { inputs, labels } = rows(10);
    await tasks.stageRows('abandoned', { inputs, labels });
    expect(await tasks.stageRows('next', { inputs: inputs.slice(0, 3), labels: labels.slice(0, 3) })).toBe(3);
    await expect(
      tasks.outOfSample({ kind, numClasses: 2, spec, rowsId: 'abandoned', folds: 2 }),
    ).rejects.toThrow(/no rows staged as abandoned/);
  });
});
