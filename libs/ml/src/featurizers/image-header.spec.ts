import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage } from './image';
import { ImageRejected, MAX_IMAGE_PIXELS, readImageHeader } from './image-header';

function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(128);
  return PNG.sync.write(image);
}

/** A PNG whose IHDR says width x height (the pixel data does not match: only the header is read). */
function pngDeclaring(width: number, height: number): Buffer {
  const bytes = Buffer.from(png(1, 1));
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}

describe('readImageHeader', () => {
  it('reads the size of PNG and JPEG images from their headers', () => {
    expect(readImageHeader(png(7, 3))).toEqual({ format: 'png', width: 7, height: 3 });
    const jpg = jpeg.encode({ data: Buffer.alloc(5 * 9 * 4, 200), width: 5, height: 9 }, 90).data;
    expect(readImageHeader(jpg)).toEqual({ format: 'jpeg', width: 5, height: 9 });
  });

  it('refuses images over the pixel limit before decoding them', () => {
    expect(() => readImageHeader(pngDeclaring(100_000, 100_000))).toThrow(ImageRejected);
    expect(() => readImageHeader(pngDeclaring(16_000, 16_000))).toThrow(/over the limit of 16777216 pixels/);
    expect(() => decodeImage(pngDeclaring(16_000, 16_000))).toThrow(ImageRejected);
    expect(readImageHeader(pngDeclaring(4096, 4096)).width).toBe(4096);
    expect(4097 * 4096).toBeGreaterThan(MAX_IMAGE_PIXELS);
    expect(() => readImageHeader(pngDeclaring(4097, 4096))).toThrow(ImageRejected);
  });

  it('refuses bytes that are no image, and broken headers', () => {
    expect(() => readImageHeader(Buffer.from('hello, world'))).toThrow(/neither PNG nor JPEG/);
    expect(() => readImageHeader(png(2, 2).subarray(0, 12))).toThrow(/IHDR/);
    expect(() => readImageHeader(pngDeclaring(0, 5))).toThrow(/empty image/);
    expect(() => readImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toThrow(/JPEG/);
  });
});
