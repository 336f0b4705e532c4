import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { denseMatrix, type DenseMatrix } from '../matrix';
import { MAX_IMAGE_PIXELS, readImageHeader } from './image-header';
import type { Featurizer, FeaturizerState, ImageFeaturizerConfig, ImageInput, RawImage } from './types';

export function imageConfig(partial: Partial<ImageFeaturizerConfig> = {}): ImageFeaturizerConfig {
  return { kind: 'image', width: 28, height: 28, channels: 1, scale: 'unit', ...partial };
}

/** Images have no fitted state: decoding, color conversion, bilinear resize and scaling are fixed by the config. */
export class ImageFeaturizer implements Featurizer<ImageInput> {
  readonly dim: number;
  readonly imageShape: [number, number, number];

  constructor(readonly config: ImageFeaturizerConfig) {
    this.dim = config.width * config.height * config.channels;
    this.imageShape = [config.height, config.width, config.channels];
  }

  transform(inputs: readonly ImageInput[]): DenseMatrix {
    const out = new Float32Array(inputs.length * this.dim);
    inputs.forEach((input, i) => this.writeRow(decodeImage(input), out, i * this.dim));
    return denseMatrix(inputs.length, this.dim, out);
  }

  toJSON(): FeaturizerState {
    return { config: this.config };
  }

  private writeRow(img: RawImage, out: Float32Array, offset: number): void {
    const { width: W, height: H, channels: C, scale } = this.config;
    if (img.width === W && img.height === H && img.channels === C) {
      // Already the model's size and color: the resize below would be an exact copy, 10x slower (the scorer
      // featurizes whole pools).
      for (let i = 0; i < this.dim; i++) {
        out[offset + i] = scale === 'unit' ? img.data[i] / 255 : img.data[i] / 127.5 - 1;
      }
      return;
    }
    const sx = img.width / W;
    const sy = img.height / H;
    const pixel = (x: number, y: number, c: number) => {
      const base = (y * img.width + x) * img.channels;
      if (C === 1) {
        if (img.channels === 1) return img.data[base];
        return 0.299 * img.data[base] + 0.587 * img.data[base + 1] + 0.114 * img.data[base + 2];
      }
      return img.channels === 1 ? img.data[base] : img.data[base + c];
    };
    for (let y = 0; y < H; y++) {
      // Pixel-center mapping, like tf.image.resizeBilinear with halfPixelCenters.
      const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, img.height - 1);
      const wy = fy - y0;
      for (let x = 0; x < W; x++) {
        const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
        const x0 = Math.floor(fx);
        const x1 = Math.min(x0 + 1, img.width - 1);
        const wx = fx - x0;
        for (let c = 0; c < C; c++) {
          const v =
            (1 - wy) * ((1 - wx) * pixel(x0, y0, c) + wx * pixel(x1, y0, c)) +
            wy * ((1 - wx) * pixel(x0, y1, c) + wx * pixel(x1, y1, c));
          out[offset + (y * W + x) * C + c] = scale === 'unit' ? v / 255 : v / 127.5 - 1;
        }
      }
    }
  }
}

/**
 * Raw pixels pass through; PNG and JPEG bytes are decoded in pure JS (no native image library needed), after
 * their header says they are at most MAX_IMAGE_PIXELS (a declared 100000x100000 PNG is refused before any
 * memory is spent on it).
 */
export function decodeImage(input: ImageInput): RawImage {
  if (!(input instanceof Uint8Array)) {
    if (input.data.length !== input.width * input.height * input.channels) {
      throw new Error(
        `raw image ${input.width}x${input.height}x${input.channels} has ${input.data.length} values`,
      );
    }
    return input;
  }
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (readImageHeader(bytes).format === 'png') {
    const png = PNG.sync.read(bytes);
    return { data: png.data, width: png.width, height: png.height, channels: 4 };
  }
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: MAX_IMAGE_PIXELS / 1_000_000,
  });
  return { data: img.data, width: img.width, height: img.height, channels: 4 };
}
