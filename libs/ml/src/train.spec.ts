import { resolveBackend } from './backend';
import { denseMatrix, rowsToTensor, takeRows } from './matrix';
import { fitFeaturizer } from './featurizers';
import { textConfig } from './featurizers/text';
import { Classifier } from './models/classifier';
import { evaluate } from './metrics';
import { predictProbabilities, scorePool, scoreRows } from './scoring';
import { acquisitionSpec, defaultModelSpec, modelSpec } from './spec';
import { blobs } from './test-data';
import { tf } from './tf';
import { classWeights, learningRateAt, trainClassifier } from './train';

beforeAll(() => resolveBackend({ prefer: 'cpu' }));

const spec = modelSpec({
  hiddenUnits: [16, 8],
  epochs: 15,
  batchSize: 16,
  minSteps: 0,
  seed: 3,
  dropout: 0.2,
});

describe('trainClassifier', () => {
  it('is deterministic on cpu: same spec and data give identical predictions', async () => {
    const { features, labels } = blobs(40, 3, 5, 2, 1.5);
    const a = await trainClassifier({ features, labels, numClasses: 3, spec });
    const b = await trainClassifier({ features, labels, numClasses: 3, spec });
    expect(Array.from(predictProbabilities(a.model, features))).toEqual(
      Array.from(predictProbabilities(b.model, features)),
    );
    const c = await trainClassifier({ features, labels, numClasses: 3, spec: { ...spec, seed: 4 } });
    expect(Array.from(predictProbabilities(c.model, features))).not.toEqual(
      Array.from(predictProbabilities(a.model, features)),
    );
    [a, b, c].forEach((r) => r.model.dispose());
  });

  it('learns a separable problem and stops early on a validation slice', async () => {
    const { features, labels } = blobs(100, 3, 5, 5);
    const res = await trainClassifier({
      features,
      labels,
      numClasses: 3,
      spec: { ...spec, epochs: 200, patience: 3, validationFraction: 0.2, minValidation: 20 },
    });
    expect(res.validationRows).toBe(60);
    expect(res.history.length).toBeLessThan(200);
    expect(evaluate(predictProbabilities(res.model, features), labels, 3).accuracy).toBeGreaterThan(0.95);
    res.model.dispose();
  });

  it('stops at maxSteps optimizer steps, part-way through an epoch, however many rows there are', async () => {
    const { features, labels } = blobs(200, 2, 4, 8);
    const steps: number[] = [];
    const res = await trainClassifier({
      features,
      labels,
      numClasses: 2,
      spec: { ...spec, epochs: 50, patience: 0, batchSize: 16, maxSteps: 30 },
      onEpoch: (log) => steps.push(log.epoch),
    });
    // 400 rows at batch 16 = 25 steps an epoch: 30 steps are one epoch and 5 steps of the next.
    expect(steps).toEqual([0, 1]);
    expect(res.history[1].trainLoss).toBeGreaterThan(0);
    res.model.dispose();
  });

  it('warm-starts from a previous model', async () => {
    const { features, labels } = blobs(50, 2, 4, 6);
    const first = await trainClassifier({ features, labels, numClasses: 2, spec });
    const warm = await trainClassifier({
      features,
      labels,
      numClasses: 2,
      spec: { ...spec, epochs: 1 },
      initFrom: first.model,
    });
    expect(warm.history[0].trainLoss).toBeLessThan(first.history[0].trainLoss);
    first.model.dispose();
    warm.model.dispose();
  });

  it('trains the same model from sparse rows as from the same rows densified', async () => {
    const docs = [
      'cheap pills now',
      'meeting at noon',
      'buy cheap pills',
      'lunch at noon today',
      'cheap cheap',
      'noon',
    ];
    const sparse = fitFeaturizer(textConfig({ dim: 512 }), docs).transform(docs);
    const dense = denseMatrix(
      sparse.rows,
      sparse.cols,
      rowsToTensor(sparse, [0, 1, 2, 3, 4, 5]).dataSync() as Float32Array,
    );
    for (const architecture of ['linear', 'mlp'] as const) {
      const s = modelSpec({
        architecture,
        hiddenUnits: [4],
        epochs: 5,
        batchSize: 4,
        minSteps: 0,
        dropout: 0,
      });
      const a = await trainClassifier({
        features: sparse,
        labels: [1, 0, 1, 0, 1, 0],
        numClasses: 2,
        spec: s,
      });
      const b = await trainClassifier({
        features: dense,
        labels: [1, 0, 1, 0, 1, 0],
        numClasses: 2,
        spec: s,
      });
      const pa = predictProbabilities(a.model, sparse);
      predictProbabilities(b.model, dense).forEach((p, i) => expect(p).toBeCloseTo(pa[i], 5));
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('trains the image default on every labeled row for its fixed epochs, without a validation slice', async () => {
    const { features, labels } = blobs(100, 3, 5, 5);
    const image = defaultModelSpec('image', { hiddenUnits: [16, 8], seed: 3 });
    const res = await trainClassifier({ features, labels, numClasses: 3, spec: image });
    expect(res.validationRows).toBe(0);
    expect(res.trainRows).toBe(300);
    expect(res.history).toHaveLength(image.epochs);
    expect(res.bestEpoch).toBe(image.epochs - 1);
    expect(evaluate(predictProbabilities(res.model, features), labels, 3).accuracy).toBeGreaterThan(0.95);
    res.model.dispose();
  });

  it('anneals the learning rate by a cosine from the spec rate to 0 over the planned steps', () => {
    const cosine = modelSpec({ learningRate: 0.004, learningRateDecay: 'cosine' });
    expect(learningRateAt(cosine, 0, 100)).toBeCloseTo(0.004, 10);
    expect(learningRateAt(cosine, 50, 100)).toBeCloseTo(0.002, 10);
    expect(learningRateAt(cosine, 99, 100)).toBeLessThan(0.004 * 0.001);
    const constant = modelSpec({ learningRate: 0.004, learningRateDecay: 'none' });
    expect([0, 50, 99].map((step) => learningRateAt(constant, step, 100))).toEqual([0.004, 0.004, 0.004]);
  });

  it('steps the optimizer at the annealed rates, over the steps maxSteps leaves', async () => {
    const { features, labels } = blobs(40, 3, 5, 2, 1.5);
    const rates: number[] = [];
    const applyGradients = jest
      .spyOn(tf.AdamOptimizer.prototype, 'applyGradients')
      .mockImplementation(function (this: { learningRate: number }) {
        rates.push(this.learningRate);
      });
    try {
      // 120 rows at batch 16 = 8 steps an epoch; 15 epochs would be 120 steps, maxSteps cuts them to 50.
      const res = await trainClassifier({
        features,
        labels,
        numClasses: 3,
        spec: { ...spec, patience: 0, learningRate: 0.01, learningRateDecay: 'cosine', maxSteps: 50 },
      });
      res.model.dispose();
    } finally {
      applyGradients.mockRestore();
    }
    expect(rates).toHaveLength(50);
    expect(rates[0]).toBeCloseTo(0.01, 10);
    expect(rates[25]).toBeCloseTo(0.005, 10);
    expect(rates[49]).toBeLessThan(0.01 * 0.01);
    expect(rates.every((r, i) => i === 0 || r < rates[i - 1])).toBe(true);
  });

  it('weights classes by inverse frequency', () => {
    expect(Array.from(classWeights([0, 0, 0, 1], 3))).toEqual([4 / 6, 2, 0]);
  });

  it('rejects labels outside the classes', async () => {
    const { features } = blobs(2, 2, 2, 0);
    await expect(trainClassifier({ features, labels: [0, 1, 2, 0], numClasses: 2, spec })).rejects.toThrow(
      /class index/,
    );
  });

  it('refuses to train a cnn on wasm with a clear message, and trains one on cpu', async () => {
    const { features, labels } = blobs(8, 2, 16, 7);
    const cnn = modelSpec({
      architecture: 'cnn',
      convFilters: [2],
      hiddenUnits: [4],
      epochs: 1,
      minSteps: 0,
      batchSize: 8,
    });
    const onCpu = await trainClassifier({
      features,
      labels,
      numClasses: 2,
      spec: cnn,
      imageShape: [4, 4, 1],
    });
    expect(onCpu.history).toHaveLength(1);
    onCpu.model.dispose();
    await resolveBackend({ prefer: 'wasm' });
    try {
      await expect(
        trainClassifier({ features, labels, numClasses: 2, spec: cnn, imageShape: [4, 4, 1] }),
      ).rejects.toThrow(/cannot be trained on the "wasm" backend.*Conv2DBackpropFilter/);
      // The wasm matMul gradient path trains an mlp to the same place as the stock op does on cpu.
      const wasm = await trainClassifier({ features, labels, numClasses: 2, spec });
      const wasmProbs = predictProbabilities(wasm.model, features);
      await resolveBackend({ prefer: 'cpu' });
      const cpu = await trainClassifier({ features, labels, numClasses: 2, spec });
      const cpuProbs = predictProbabilities(cpu.model, features);
      cpuProbs.forEach((p, i) => expect(p).toBeCloseTo(wasmProbs[i], 3));
      wasm.model.dispose();
      cpu.model.dispose();
    } finally {
      await resolveBackend({ prefer: 'cpu' });
    }
  });
});

describe('scoring', () => {
  it('returns probabilities, scores and penultimate embeddings in chunks, and frees its tensors', async () => {
    const { features, labels } = blobs(30, 3, 4, 8);
    const { model } = await trainClassifier({ features, labels, numClasses: 3, spec });
    const before = tf.memory().numTensors;
    const whole = scoreRows(model, features, acquisitionSpec({ strategy: 'entropy' }), { chunkSize: 1000 });
    const chunked = scoreRows(model, features, acquisitionSpec({ strategy: 'entropy' }), { chunkSize: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(whole.embeddings).toMatchObject({ kind: 'dense', rows: 90, cols: 8 });
    Array.from(chunked.scores).forEach((s, i) => expect(s).toBeCloseTo(whole.scores[i], 5));
    const baldScores = scoreRows(
      model,
      takeRows(features, [0, 1, 2]),
      acquisitionSpec({ strategy: 'bald', mcPasses: 8 }),
    );
    expect(baldScores.scores.every((s) => s >= 0)).toBe(true);
    model.dispose();
  });

  it('pages through a pool with the same result as one call', async () => {
    const { features, labels } = blobs(30, 3, 4, 9);
    const { model } = await trainClassifier({ features, labels, numClasses: 3, spec });
    const spec2 = acquisitionSpec({ strategy: 'margin' });
    const whole = scoreRows(model, features, spec2);
    const pages: number[] = [];
    const paged = scorePool(model, features, spec2, { pageSize: 20, onPage: (done) => pages.push(done) });
    expect(pages).toEqual([20, 40, 60, 80, 90]);
    Array.from(paged.scores).forEach((v, i) => expect(v).toBeCloseTo(whole.scores[i], 6));
    expect(paged.embeddings.rows).toBe(90);
    model.dispose();
  });

  it('refuses bald on a model without dropout', () => {
    const model = Classifier.create(modelSpec({ architecture: 'linear', dropout: 0 }), {
      inputDim: 3,
      numClasses: 2,
    });
    const { features } = blobs(2, 2, 3, 0);
    expect(() => scoreRows(model, features, acquisitionSpec({ strategy: 'bald' }))).toThrow(/dropout/);
    model.dispose();
  });
});
