import { tf } from '../tf';
import { denseMatMul } from './matmul';
import { sparseDropout, sparseMatMul } from './sparse';
import { rowsToTensor, rowRange, type SparseMatrix } from '../matrix';
import { deriveSeed } from '../random';
import type { ModelSpec } from '../spec';

/** What the network is built for; stored in the artifact next to the spec. */
export interface ClassifierShape {
  inputDim: number;
  numClasses: number;
  /** [height, width, channels] of image rows; required by `cnn`. */
  imageShape?: [number, number, number];
}

export interface ForwardOptions {
  /** When set, dropout is active with masks derived from this seed (training and MC-dropout passes). */
  dropoutSeed?: number;
}

export interface ForwardResult {
  logits: tf.Tensor2D;
  /**
   * Activations feeding the output layer: the embedding used for batch diversity. Null for a `linear` model
   * fed sparse rows (its penultimate layer is that sparse input).
   */
  penultimate: tf.Tensor2D | null;
}

interface Dense {
  name: string;
  kernel: tf.Variable;
  bias: tf.Variable;
}

// tfjs variable names are global to the engine; each model instance gets its own prefix.
let instances = 0;

/**
 * A classifier as plain variables and a forward function rather than a tf.layers model: that gives control of
 * dropout masks (seeded per step, so training is deterministic and MC dropout draws distinct masks) and lets
 * training and scoring skip the layers API overhead.
 */
export class Classifier {
  private constructor(
    readonly spec: ModelSpec,
    readonly shape: ClassifierShape,
    private readonly convs: Dense[],
    private readonly dense: Dense[],
  ) {}

  /** A freshly initialized network (He-uniform kernels seeded from spec.seed, zero biases). */
  static create(spec: ModelSpec, shape: ClassifierShape): Classifier {
    const convs: Dense[] = [];
    const dense: Dense[] = [];
    let n = 0;
    const prefix = `classifier${instances++}`;
    const he = (dims: number[], fanIn: number) => {
      const limit = Math.sqrt(6 / fanIn);
      return tf.randomUniform(dims, -limit, limit, 'float32', deriveSeed(spec.seed, 1000 + n++));
    };
    const layer = (dims: number[], fanIn: number, units: number, name: string): Dense => ({
      name,
      kernel: tf.variable(he(dims, fanIn), true, `${prefix}/${name}/kernel`),
      bias: tf.variable(tf.zeros([units]), true, `${prefix}/${name}/bias`),
    });
    let width = shape.inputDim;
    if (spec.architecture === 'cnn') {
      if (!shape.imageShape) throw new Error('cnn needs image rows: use an image featurizer');
      let [h, w, c] = shape.imageShape;
      if (h * w * c !== shape.inputDim)
        throw new Error(`imageShape ${shape.imageShape} does not match ${shape.inputDim}`);
      spec.convFilters.forEach((filters, i) => {
        convs.push(layer([3, 3, c, filters], 9 * c, filters, `conv${i}`));
        c = filters;
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
      });
      width = h * w * c;
    }
    const hidden = spec.architecture === 'cnn' ? spec.hiddenUnits.slice(0, 1) : spec.hiddenUnits;
    hidden.forEach((units, i) => {
      dense.push(layer([width, units], width, units, `dense${i}`));
      width = units;
    });
    dense.push(layer([width, shape.numClasses], width, shape.numClasses, 'output'));
    return new Classifier(spec, shape, convs, dense);
  }

  /** A network with the given weights (in `variables()` order, shapes checked); the tensors are copied. */
  static fromWeights(spec: ModelSpec, shape: ClassifierShape, weights: tf.Tensor[]): Classifier {
    const model = Classifier.create(spec, shape);
    try {
      model.setWeights(weights);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  get penultimateDim(): number {
    const last = this.dense[this.dense.length - 1];
    return last.kernel.shape[0];
  }

  /** Trainable variables in a fixed order (kernel, bias per layer): the order weights are saved in. */
  variables(): tf.Variable[] {
    return [...this.convs, ...this.dense].flatMap((l) => [l.kernel, l.bias]);
  }

  /** Stable names of `variables()` (the same in every instance), used as weight names in artifacts. */
  weightNames(): string[] {
    return [...this.convs, ...this.dense].flatMap((l) => [`${l.name}/kernel`, `${l.name}/bias`]);
  }

  setWeights(weights: tf.Tensor[]): void {
    const vars = this.variables();
    if (weights.length !== vars.length)
      throw new Error(`expected ${vars.length} weight tensors, got ${weights.length}`);
    vars.forEach((v, i) => {
      if (!tf.util.arraysEqual(v.shape, weights[i].shape)) {
        throw new Error(`weight ${v.name}: shape ${weights[i].shape} does not fit ${v.shape}`);
      }
      v.assign(weights[i]);
    });
  }

  /** Copies of the current weights; the caller disposes them. */
  snapshot(): tf.Tensor[] {
    return this.variables().map((v) => tf.clone(v));
  }

  /** Sparse rows go through a sparse first layer (except into a cnn, which gets them densified). */
  forward(input: tf.Tensor2D | SparseMatrix, options: ForwardOptions = {}): ForwardResult {
    const seed = options.dropoutSeed;
    const rate = this.spec.dropout;
    const dropping = seed !== undefined && rate > 0;
    const drop = (t: tf.Tensor2D, layer: number): tf.Tensor2D =>
      dropping ? (tf.dropout(t, rate, undefined, deriveSeed(seed, layer)) as tf.Tensor2D) : t;
    let sparse: SparseMatrix | null = null;
    let h: tf.Tensor2D;
    if (input instanceof tf.Tensor) h = input;
    else if (this.convs.length > 0) h = rowsToTensor(input, rowRange(input.rows));
    else {
      sparse = input;
      h = tf.zeros([0, 0]);
    }
    if (this.spec.architecture === 'linear') {
      if (sparse && dropping) sparse = sparseDropout(sparse, rate, deriveSeed(seed, 0));
      else if (!sparse) h = drop(h, 0);
    }
    if (this.convs.length > 0) {
      const [height, width, channels] = this.shape.imageShape!;
      let img: tf.Tensor4D = tf.reshape(h, [-1, height, width, channels]);
      for (const conv of this.convs) {
        img = tf.relu(tf.add(tf.conv2d(img, conv.kernel as tf.Tensor4D, 1, 'same'), conv.bias));
        img = tf.maxPool(img, 2, 2, 'valid');
      }
      h = tf.reshape(img, [img.shape[0], -1]);
    }
    // Only the raw input (first dense layer of a non-cnn model) has no use for its gradient.
    const matMul = (i: number, kernel: tf.Variable) =>
      i === 0 && sparse
        ? sparseMatMul(sparse, kernel as tf.Tensor2D)
        : denseMatMul(h, kernel as tf.Tensor2D, i > 0 || this.convs.length > 0);
    for (let i = 0; i < this.dense.length - 1; i++) {
      const layer = this.dense[i];
      h = drop(tf.relu(tf.add(matMul(i, layer.kernel), layer.bias)), i + 1);
    }
    const last = this.dense.length - 1;
    const out = this.dense[last];
    const logits = tf.add(matMul(last, out.kernel), out.bias) as tf.Tensor2D;
    return { logits, penultimate: last === 0 && sparse ? null : h };
  }

  /** Sum of squared kernels (biases are not penalized). */
  kernelSquaredSum(): tf.Scalar {
    return tf.addN([...this.convs, ...this.dense].map((l) => tf.sum(tf.square(l.kernel)))) as tf.Scalar;
  }

  dispose(): void {
    tf.dispose(this.variables());
  }
}
