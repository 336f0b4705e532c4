import { trainsConvolutions } from './backend';
import { type FeatureMatrix, modelInput } from './matrix';
import { Classifier, type ClassifierShape } from './models/classifier';
import { createRng, deriveSeed, permutation } from './random';
import type { ModelSpec } from './spec';
import { tf } from './tf';

export interface TrainInput {
  features: FeatureMatrix;
  /** Class index per row, in [0, numClasses). */
  labels: ArrayLike<number>;
  numClasses: number;
  spec: ModelSpec;
  imageShape?: [number, number, number];
  /** Warm start: training begins from a copy of this model's weights (it must have the same architecture). */
  initFrom?: Classifier;
  onEpoch?: (log: EpochLog) => void;
}

export interface EpochLog {
  epoch: number;
  trainLoss: number;
  /** Null when the labeled set is too small to hold out a validation slice. */
  validationLoss: number | null;
}

export interface TrainResult {
  model: Classifier;
  history: EpochLog[];
  /** Epoch whose weights were kept (the best validation loss, else the last). */
  bestEpoch: number;
  trainRows: number;
  validationRows: number;
}

/**
 * Mini-batch Adam on weighted softmax cross-entropy, with early stopping on a seeded validation slice.
 * On the `cpu` backend two runs with the same spec and data give identical weights.
 */
export async function trainClassifier(input: TrainInput): Promise<TrainResult> {
  const { features, labels, numClasses, spec } = input;
  if (labels.length !== features.rows) throw new Error(`${features.rows} rows but ${labels.length} labels`);
  if (features.rows === 0) throw new Error('cannot train on zero labeled rows');
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < numClasses) || !Number.isInteger(labels[i])) {
      throw new Error(`label ${labels[i]} at row ${i} is not a class index in [0, ${numClasses})`);
    }
  }
  if (spec.architecture === 'cnn' && !trainsConvolutions()) {
    throw new Error(
      `architecture "cnn" cannot be trained on the "${tf.getBackend()}" backend: it has no Conv2DBackpropFilter ` +
        'kernel. Use architecture "mlp", or run on tensorflow (tfjs-node[-gpu]), webgpu or cpu (slow).',
    );
  }
  const shape: ClassifierShape = { inputDim: features.cols, numClasses, imageShape: input.imageShape };
  if (
    input.initFrom &&
    (input.initFrom.shape.inputDim !== features.cols || input.initFrom.shape.numClasses !== numClasses)
  ) {
    throw new Error('initFrom model was built for a different input width or class count');
  }
  let model: Classifier;
  if (input.initFrom) {
    const weights = input.initFrom.snapshot();
    try {
      model = Classifier.fromWeights(spec, shape, weights);
    } catch (err) {
      throw new Error(`initFrom model does not fit this spec: ${(err as Error).message}`);
    } finally {
      tf.dispose(weights);
    }
  } else model = Classifier.create(spec, shape);

  const rng = createRng(deriveSeed(spec.seed, 1));
  const order = permutation(features.rows, rng);
  const valCount = Math.floor(features.rows * spec.validationFraction);
  const useValidation = spec.patience > 0 && valCount >= spec.minValidation;
  const valRows = useValidation ? order.slice(0, valCount) : [];
  const trainRows = useValidation ? order.slice(valCount) : order;

  const weights = classWeights(labels, numClasses, spec.classWeights);
  const rowWeight = (rows: number[]) => tf.tensor1d(rows.map((r) => weights[labels[r]]));
  const oneHot = (rows: number[]) =>
    tf.oneHot(
      tf.tensor1d(
        rows.map((r) => labels[r]),
        'int32',
      ),
      numClasses,
    );

  const stepsPerEpoch = Math.ceil(trainRows.length / spec.batchSize);
  const epochs = Math.min(
    Math.max(spec.epochs, Math.ceil(spec.minSteps / stepsPerEpoch)),
    Math.ceil(spec.maxSteps / stepsPerEpoch),
  );
  const plannedSteps = Math.min(epochs * stepsPerEpoch, spec.maxSteps);
  let stepsDone = 0;
  const optimizer = new ScheduledAdam(spec.learningRate);
  const vars = model.variables();
  const history: EpochLog[] = [];
  let best = { loss: Infinity, epoch: 0, weights: null as tf.Tensor[] | null };
  let sinceBest = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = permutation(trainRows.length, rng).map((i) => trainRows[i]);
      let lossSum = tf.scalar(0);
      let seen = 0;
      for (let step = 0; step < stepsPerEpoch && stepsDone < plannedSteps; step++, stepsDone++) {
        optimizer.setLearningRate(learningRateAt(spec, stepsDone, plannedSteps));
        const rows = perm.slice(step * spec.batchSize, (step + 1) * spec.batchSize);
        seen += rows.length;
        const dropoutSeed = deriveSeed(spec.seed, 2, epoch, step);
        const loss = tf.tidy(() => {
          const x = modelInput(features, rows);
          const y = oneHot(rows);
          const w = rowWeight(rows);
          return optimizer.minimize(
            () => {
              const { logits } = model.forward(x, { dropoutSeed });
              const ce = tf.div(
                tf.sum(tf.mul(tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.NONE), w)),
                tf.sum(w),
              );
              return spec.l2 > 0
                ? tf.add(ce, tf.mul(spec.l2 / 2, model.kernelSquaredSum()))
                : (ce as tf.Scalar);
            },
            true,
            vars,
          )!;
        });
        const next = tf.add(lossSum, tf.mul(loss, rows.length));
        tf.dispose([lossSum, loss]);
        lossSum = next as tf.Scalar;
      }
      const trainLoss = (await lossSum.data())[0] / seen;
      lossSum.dispose();
      const validationLoss = useValidation
        ? await meanLoss(model, features, valRows, labels, numClasses)
        : null;
      const log = { epoch, trainLoss, validationLoss };
      history.push(log);
      input.onEpoch?.(log);
      if (validationLoss === null) continue;
      if (validationLoss < best.loss - 1e-4) {
        if (best.weights) tf.dispose(best.weights);
        best = { loss: validationLoss, epoch, weights: model.snapshot() };
        sinceBest = 0;
      } else if (++sinceBest >= spec.patience) {
        break;
      }
    }
    if (best.weights) model.setWeights(best.weights);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    if (best.weights) tf.dispose(best.weights);
    optimizer.dispose();
  }
  return {
    model,
    history,
    bestEpoch: best.weights ? best.epoch : history.length - 1,
    trainRows: trainRows.length,
    validationRows: valRows.length,
  };
}

/** The step size of optimizer step `step` of `total`: constant, or cosine-annealed from the spec's rate to 0. */
export function learningRateAt(spec: ModelSpec, step: number, total: number): number {
  if (spec.learningRateDecay === 'none') return spec.learningRate;
  return (spec.learningRate * (1 + Math.cos((Math.PI * step) / total))) / 2;
}

/** tfjs Adam reads its learning rate on every step; this lets the fit loop change it between steps. */
class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999);
  }

  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** Inverse-frequency weights normalized so a balanced set gets 1 everywhere; absent classes get 0. */
export function classWeights(labels: ArrayLike<number>, numClasses: number, enabled = true): Float64Array {
  const w = new Float64Array(numClasses).fill(1);
  if (!enabled) return w;
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const present = counts.filter((c) => c > 0).length;
  for (let c = 0; c < numClasses; c++) w[c] = counts[c] > 0 ? labels.length / (present * counts[c]) : 0;
  return w;
}

async function meanLoss(
  model: Classifier,
  features: FeatureMatrix,
  rows: number[],
  labels: ArrayLike<number>,
  numClasses: number,
): Promise<number> {
  let total = 0;
  for (let start = 0; start < rows.length; start += 512) {
    const chunk = rows.slice(start, start + 512);
    const loss = tf.tidy(() => {
      const { logits } = model.forward(modelInput(features, chunk));
      const y = tf.oneHot(
        tf.tensor1d(
          chunk.map((r) => labels[r]),
          'int32',
        ),
        numClasses,
      );
      return tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.SUM);
    });
    total += (await loss.data())[0];
    loss.dispose();
  }
  return total / rows.length;
}
