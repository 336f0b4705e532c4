import { resolveBackend } from './backend';
import { findLabelIssues, outOfSampleProbabilities, stratifiedFolds } from './label-issues';
import { createRng, sampleIndices } from './random';
import { modelSpec } from './spec';
import { blobs } from './test-data';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

describe('label issues', () => {
  it('ranks planted label flips first on a separable set and suggests the true class', async () => {
    const { features, labels: truth } = blobs(60, 3, 8, 1);
    const noisy = Int32Array.from(truth);
    const flipped = sampleIndices(noisy.length, 12, createRng(5));
    for (const i of flipped) noisy[i] = (noisy[i] + 1) % 3;
    const probs = await outOfSampleProbabilities({
      features,
      labels: noisy,
      numClasses: 3,
      spec: modelSpec({
        architecture: 'linear',
        epochs: 30,
        batchSize: 32,
        minSteps: 0,
        patience: 0,
        dropout: 0,
        learningRate: 0.05,
      }),
      folds: 4,
      seed: 0,
    });
    const report = findLabelIssues(probs, noisy, 3);
    const top = report.ranked.slice(0, flipped.length);
    const hits = top.filter((issue) => flipped.includes(issue.index));
    expect(hits.length).toBeGreaterThanOrEqual(11);
    for (const issue of hits) expect(issue.suggestedLabel).toBe(truth[issue.index]);
    expect(report.flaggedCount).toBeGreaterThanOrEqual(8);
    expect(report.flaggedCount).toBeLessThanOrEqual(16);
    const flaggedFirst = findLabelIssues(probs, noisy, 3, { flaggedFirst: true });
    expect(flaggedFirst.ranked.slice(0, report.flaggedCount).every((issue) => issue.flagged)).toBe(true);
  });

  it('uses per-class thresholds: a class the model is unsure about can still be confidently suggested', () => {
    // Class 1 averages p=0.4 on its own rows, so 0.45 on class 1 clears its threshold and beats the given 0.4 class 0.
    const probs = Float32Array.from([0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.6, 0.4, 0.55, 0.45]);
    const report = findLabelIssues(probs, [0, 0, 1, 1, 0], 2);
    expect(report.thresholds[1]).toBeCloseTo(0.4, 6);
    expect(report.ranked.find((issue) => issue.index === 4)).toMatchObject({
      flagged: true,
      suggestedLabel: 1,
    });
    expect(report.flaggedCount).toBe(1);
  });

  it('averages repeated k-fold runs into proper distributions', async () => {
    const { features, labels } = blobs(10, 2, 3, 4, 2);
    const spec = modelSpec({
      architecture: 'linear',
      epochs: 3,
      minSteps: 0,
      dropout: 0,
      learningRate: 0.05,
    });
    let folds = 0;
    const once = await outOfSampleProbabilities({ features, labels, numClasses: 2, spec, folds: 2, seed: 1 });
    const twice = await outOfSampleProbabilities({
      features,
      labels,
      numClasses: 2,
      spec,
      folds: 2,
      repeats: 2,
      seed: 1,
      onFold: () => folds++,
    });
    expect(folds).toBe(4);
    for (let i = 0; i < 20; i++) expect(twice[2 * i] + twice[2 * i + 1]).toBeCloseTo(1, 5);
    expect(Array.from(twice)).not.toEqual(Array.from(once));
  });

  it('stratified folds keep every class in every fold', () => {
    const labels = Array.from({ length: 40 }, (_, i) => i % 4);
    const folds = stratifiedFolds(labels, 4, 5, 0);
    for (let f = 0; f < 5; f++) {
      const classes = new Set(labels.filter((_, i) => folds[i] === f));
      expect(classes.size).toBe(4);
    }
  });
});
