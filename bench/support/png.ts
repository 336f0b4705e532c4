import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';

/** A width x height grayscale-looking PNG, every channel at `shade` (0-255). */
export function solidPng(width: number, height: number, shade: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(shade);
  return PNG.sync.write(image);
}

/**
 * A few hundred bytes of valid PNG whose header (IHDR, with its CRC) declares width x height: a decoder that
 * trusts the header allocates width * height * 4 bytes before it finds the pixel data short.
 */
export function pngDeclaring(width: number, height: number): Buffer {
  const bytes = Buffer.from(solidPng(4, 4, 0));
  // Signature (8) + IHDR length (4); the CRC covers the chunk type and data: bytes 12-28.
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  bytes.writeUInt32BE(crc32(bytes.subarray(12, 29)), 29);
  return bytes;
}
