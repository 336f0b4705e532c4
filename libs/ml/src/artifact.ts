import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFeaturizer } from './featurizers';
import type { Featurizer, FeaturizerState } from './featurizers/types';
import { Classifier, type ClassifierShape } from './models/classifier';
import { modelSpec, type ModelSpec } from './spec';
import { tf } from './tf';

export const MANIFEST_FILE = 'manifest.json';
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

export interface ArtifactManifest {
  format: 'labelloop-model';
  version: 1;
  /** Class names; class index i is labels[i]. */
  labels: string[];
  featurizer: FeaturizerState;
  spec: ModelSpec;
  shape: ClassifierShape;
  metrics: Record<string, unknown> | null;
  /** The backend the model was trained on. */
  backend: string;
  createdAt: string;
}

export interface ModelArtifact {
  manifest: ArtifactManifest;
  model: Classifier;
  featurizer: Featurizer;
}

/** File name -> contents: how artifacts travel to and from the object store. */
export type ArtifactFiles = Map<string, Buffer>;

export interface ArtifactInput {
  model: Classifier;
  featurizer: Featurizer;
  labels: string[];
  metrics?: Record<string, unknown> | null;
  backend?: string;
}

/**
 * Serializes to three files: manifest.json (labels, featurizer state, spec, metrics, backend), model.json
 * (tfjs weights manifest, readable by tf.io) and weights.bin (the weights, tfjs binary encoding).
 */
export async function artifactToFiles(input: ArtifactInput): Promise<ArtifactFiles> {
  if (input.labels.length !== input.model.shape.numClasses) {
    throw new Error(`${input.labels.length} labels for a model with ${input.model.shape.numClasses} classes`);
  }
  const names = input.model.weightNames();
  const named = input.model.variables().map((v, i) => ({ name: names[i], tensor: v as tf.Tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const manifest: ArtifactManifest = {
    format: 'labelloop-model',
    version: 1,
    labels: input.labels,
    featurizer: input.featurizer.toJSON(),
    spec: input.model.spec,
    shape: input.model.shape,
    metrics: input.metrics ?? null,
    backend: input.backend ?? tf.getBackend(),
    createdAt: new Date().toISOString(),
  };
  const modelJson = {
    format: 'labelloop-classifier',
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core}`,
    modelTopology: { spec: input.model.spec, shape: input.model.shape },
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  return new Map([
    [MANIFEST_FILE, Buffer.from(JSON.stringify(manifest, null, 2))],
    [MODEL_FILE, Buffer.from(JSON.stringify(modelJson))],
    [WEIGHTS_FILE, Buffer.from(data)],
  ]);
}

export function artifactFromFiles(files: ArtifactFiles | Record<string, Buffer>): ModelArtifact {
  const get = (name: string) => {
    const b = files instanceof Map ? files.get(name) : files[name];
    if (!b) throw new Error(`artifact is missing ${name}`);
    return b;
  };
  const manifest = JSON.parse(get(MANIFEST_FILE).toString('utf8')) as ArtifactManifest;
  if (manifest.format !== 'labelloop-model' || manifest.version !== 1) {
    throw new Error(`unsupported artifact format ${manifest.format} v${manifest.version}`);
  }
  const modelJson = JSON.parse(get(MODEL_FILE).toString('utf8')) as {
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const weightsBuf = get(WEIGHTS_FILE);
  const buffer = weightsBuf.buffer.slice(
    weightsBuf.byteOffset,
    weightsBuf.byteOffset + weightsBuf.byteLength,
  );
  const tensors = tf.io.decodeWeights(buffer as ArrayBuffer, modelJson.weightsManifest[0].weights);
  const spec = modelSpec(manifest.spec);
  const model = Classifier.create(spec, manifest.shape);
  try {
    model.setWeights(model.weightNames().map((name) => tensors[name] ?? missing(name)));
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { manifest, model, featurizer: loadFeaturizer(manifest.featurizer) };
}

export async function saveArtifact(dir: string, input: ArtifactInput): Promise<void> {
  const files = await artifactToFiles(input);
  await mkdir(dir, { recursive: true });
  for (const [name, data] of files) await writeFile(join(dir, name), data);
}

export async function loadArtifact(dir: string): Promise<ModelArtifact> {
  const files: ArtifactFiles = new Map();
  for (const name of await readdir(dir)) files.set(name, await readFile(join(dir, name)));
  return artifactFromFiles(files);
}

function missing(name: string): never {
  throw new Error(`artifact weights have no tensor ${name}`);
}
