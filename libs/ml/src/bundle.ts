import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import * as tar from 'tar-stream';
import {
  type ArtifactFiles,
  type ArtifactManifest,
  MANIFEST_FILE,
  MODEL_FILE,
  WEIGHTS_FILE,
} from './artifact';

// A model bundle is one .tar.gz a person can open with tar: the model files, what the artifact manifest
// holds split into one readable file each (featurizer, labels, spec, metrics), where the model came from,
// and sha256 checksums of every file in `sha256sum` format (`sha256sum -c checksums.sha256` verifies it).

export const BUNDLE_FILE = 'bundle.json';
export const FEATURIZER_FILE = 'featurizer.json';
export const LABELS_FILE = 'labels.json';
export const SPEC_FILE = 'spec.json';
export const METRICS_FILE = 'metrics.json';
export const CHECKSUMS_FILE = 'checksums.sha256';

/** Every file a bundle holds besides the checksums, in archive order. */
export const BUNDLE_FILES = [
  BUNDLE_FILE,
  LABELS_FILE,
  SPEC_FILE,
  METRICS_FILE,
  FEATURIZER_FILE,
  MODEL_FILE,
  WEIGHTS_FILE,
] as const;

/** The default bound on a bundle's unpacked size (a gzip bomb stops there). */
export const DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;

/** bundle.json: what the bundle is and where its model came from. */
export interface BundleInfo {
  format: 'labelloop-model-bundle';
  version: 1;
  /** `text`, `image` or `tabular`: the inputs the featurizer takes. */
  inputKind: string;
  /** The backend the model was trained on. */
  backend: string;
  /** When the model was made (the artifact's createdAt). */
  createdAt: string;
  source: {
    projectId: string | null;
    modelVersionId: string | null;
    number: number | null;
    /** Number of the dataset version the model was trained on, in the source project. */
    datasetVersion: number | null;
  };
}

/** A bundle that cannot be read or does not hold a consistent model; the message says why. */
export class BundleError extends Error {}

export interface UnpackedBundle {
  info: BundleInfo;
  /** The artifact as the object store keeps it (manifest.json, model.json, weights.bin). */
  artifact: ArtifactFiles;
  manifest: ArtifactManifest;
}

/** Packs a stored artifact and where it came from into one gzipped tar archive. */
export async function packBundle(artifact: ArtifactFiles, source: BundleInfo['source']): Promise<Buffer> {
  const manifest = readManifest(artifact);
  const info: BundleInfo = {
    format: 'labelloop-model-bundle',
    version: 1,
    inputKind: manifest.featurizer.config.kind,
    backend: manifest.backend,
    createdAt: manifest.createdAt,
    source,
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2) + '\n');
  const files = new Map<string, Buffer>([
    [BUNDLE_FILE, json(info)],
    [LABELS_FILE, json(manifest.labels)],
    [SPEC_FILE, json({ spec: manifest.spec, shape: manifest.shape })],
    [METRICS_FILE, json(manifest.metrics)],
    [FEATURIZER_FILE, json(manifest.featurizer)],
    [MODEL_FILE, required(artifact, MODEL_FILE)],
    [WEIGHTS_FILE, required(artifact, WEIGHTS_FILE)],
  ]);
  const checksums = [...files].map(([name, body]) => `${sha256(body)}  ${name}\n`).join('');
  files.set(CHECKSUMS_FILE, Buffer.from(checksums));

  const pack = tar.pack();
  // A fixed mtime (the model's) makes the same model pack to the same bytes.
  const mtime = new Date(manifest.createdAt);
  for (const [name, body] of files) pack.entry({ name, size: body.length, mtime, mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return promisify(gzip)(Buffer.concat(chunks));
}

/**
 * Reads a bundle back into an artifact, checking everything a foreign or damaged file can get wrong:
 * gzip and tar framing, unpacked size, missing, extra or duplicate files, checksums, and the JSON files'
 * shapes and agreement (labels vs classes). Throws BundleError with the reason.
 */
export async function unpackBundle(
  archive: Buffer,
  maxUnpackedBytes = DEFAULT_MAX_UNPACKED_BYTES,
): Promise<UnpackedBundle> {
  let tarball: Buffer;
  try {
    tarball = await promisify(gunzip)(archive, { maxOutputLength: maxUnpackedBytes });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BundleError(`bundle unpacks to more than ${maxUnpackedBytes} bytes`);
    }
    throw new BundleError(`bundle is not gzip data (${(error as Error).message})`);
  }
  const files = await untar(tarball);

  const checksums = files.get(CHECKSUMS_FILE);
  if (!checksums) throw new BundleError(`bundle has no ${CHECKSUMS_FILE}`);
  const listed = parseChecksums(checksums);
  for (const name of BUNDLE_FILES) {
    if (!files.has(name)) throw new BundleError(`bundle is missing ${name}`);
    if (!listed.has(name)) throw new BundleError(`${CHECKSUMS_FILE} does not list ${name}`);
  }
  for (const name of files.keys()) {
    if (name !== CHECKSUMS_FILE && !listed.has(name))
      throw new BundleError(`unexpected file ${name} in bundle`);
  }
  for (const [name, expected] of listed) {
    const body = files.get(name);
    if (!body) throw new BundleError(`bundle is missing ${name} (listed in ${CHECKSUMS_FILE})`);
    if (sha256(body) !== expected) throw new BundleError(`checksum mismatch for ${name}`);
  }

  const info = parseJson<BundleInfo>(files, BUNDLE_FILE);
  if (info?.format !== 'labelloop-model-bundle' || info.version !== 1) {
    throw new BundleError(`${BUNDLE_FILE} is not a labelloop model bundle of version 1`);
  }
  const labels = parseJson<unknown>(files, LABELS_FILE);
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) {
    throw new BundleError(`${LABELS_FILE} must be an array of at least 2 label names`);
  }
  if (new Set(labels).size !== labels.length) throw new BundleError(`${LABELS_FILE} repeats a label`);
  const { spec, shape } = parseJson<Pick<ArtifactManifest, 'spec' | 'shape'>>(files, SPEC_FILE) ?? {};
  if (!spec || !shape || typeof shape.numClasses !== 'number') {
    throw new BundleError(`${SPEC_FILE} must hold the model's spec and shape`);
  }
  if (shape.numClasses !== labels.length) {
    throw new BundleError(`${labels.length} labels for a model with ${shape.numClasses} classes`);
  }
  const featurizer = parseJson<ArtifactManifest['featurizer']>(files, FEATURIZER_FILE);
  if (featurizer?.config?.kind !== info.inputKind) {
    throw new BundleError(`${FEATURIZER_FILE} does not match the bundle's input kind ${info.inputKind}`);
  }
  const metrics = parseJson<Record<string, unknown> | null>(files, METRICS_FILE);
  if (metrics !== null && (typeof metrics !== 'object' || Array.isArray(metrics))) {
    throw new BundleError(`${METRICS_FILE} must be an object or null`);
  }
  // Holdout accuracy decides promotions; anything but a number in [0, 1] there would poison them.
  const accuracy = metrics?.accuracy;
  if (accuracy !== undefined && !(typeof accuracy === 'number' && accuracy >= 0 && accuracy <= 1)) {
    throw new BundleError(`${METRICS_FILE}: accuracy must be a number in [0, 1]`);
  }
  const manifest: ArtifactManifest = {
    format: 'labelloop-model',
    version: 1,
    labels: labels as string[],
    featurizer,
    spec,
    shape,
    metrics,
    backend: info.backend,
    createdAt: info.createdAt,
  };
  const artifact: ArtifactFiles = new Map([
    [MANIFEST_FILE, Buffer.from(JSON.stringify(manifest, null, 2))],
    [MODEL_FILE, files.get(MODEL_FILE)!],
    [WEIGHTS_FILE, files.get(WEIGHTS_FILE)!],
  ]);
  return { info, artifact, manifest };
}

async function untar(tarball: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  Readable.from([tarball]).pipe(extract);
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (type !== 'file') throw new BundleError(`bundle entry ${name} is not a plain file`);
      if (files.has(name)) throw new BundleError(`bundle holds ${name} twice`);
      files.set(name, Buffer.concat(chunks));
    }
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`bundle is not a tar archive (${(error as Error).message})`);
  }
  if (files.size === 0) throw new BundleError('bundle is an empty archive');
  return files;
}

function parseChecksums(body: Buffer): Map<string, string> {
  const listed = new Map<string, string>();
  for (const line of body.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) throw new BundleError(`${CHECKSUMS_FILE} has a malformed line: ${line.slice(0, 100)}`);
    listed.set(match[2], match[1]);
  }
  return listed;
}

function parseJson<T>(files: Map<string, Buffer>, name: string): T {
  try {
    return JSON.parse(files.get(name)!.toString('utf8')) as T;
  } catch {
    throw new BundleError(`${name} is not valid JSON`);
  }
}

function readManifest(artifact: ArtifactFiles): ArtifactManifest {
  return JSON.parse(required(artifact, MANIFEST_FILE).toString('utf8')) as ArtifactManifest;
}

function required(artifact: ArtifactFiles, name: string): Buffer {
  const body = artifact.get(name);
  if (!body) throw new Error(`artifact is missing ${name}`);
  return body;
}

function sha256(body: Buffer): string {
  return hash('sha256', body, 'hex');
}
