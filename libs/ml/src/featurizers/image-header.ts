/**
 * The largest image (width x height) that is ever decoded: 16 megapixels, a 12 MP phone photo with room to
 * spare. Decoding makes 4 bytes per pixel, so this bounds one decode to 64 MB; a larger image is refused
 * from its header, before any memory is spent on it.
 */
export const MAX_IMAGE_PIXELS = 16_777_216;

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** An image refused before decoding: not PNG/JPEG, a broken header, or too large. */
export class ImageRejected extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Format and size of PNG or JPEG bytes from their header alone (PNG: the IHDR chunk; JPEG: the first
 * start-of-frame marker), checked against `maxPixels`. Throws ImageRejected naming the problem.
 */
export function readImageHeader(bytes: Uint8Array, maxPixels = MAX_IMAGE_PIXELS): ImageHeader {
  const header = parseHeader(bytes);
  if (header.width < 1 || header.height < 1) {
    throw new ImageRejected(
      `${header.format} header declares an empty image (${header.width}x${header.height})`,
    );
  }
  if (header.width * header.height > maxPixels) {
    throw new ImageRejected(
      `${header.format} image of ${header.width}x${header.height} pixels is over the limit of ${maxPixels} pixels`,
    );
  }
  return header;
}

function parseHeader(bytes: Uint8Array): ImageHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) {
    // Signature, then the IHDR chunk: length (4), type (4), width (4), height (4).
    const isIhdr = bytes.length >= 24 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
    if (!isIhdr) throw new ImageRejected('PNG without an IHDR header chunk');
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    let offset = 2;
    while (offset + 4 <= bytes.length) {
      if (bytes[offset] !== 0xff) throw new ImageRejected('JPEG with a broken marker sequence');
      const marker = bytes[offset + 1];
      if (marker === 0xff) {
        offset++; // fill byte
        continue;
      }
      // Markers without a length: restart markers, start and end of image.
      if ((marker >= 0xd0 && marker <= 0xd9) || marker === 0x01) {
        offset += 2;
        continue;
      }
      const length = view.getUint16(offset + 2);
      // Start of frame (SOF0-SOF15 except DHT, JPG and DAC): precision (1), height (2), width (2).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (offset + 9 > bytes.length) break;
        return { format: 'jpeg', width: view.getUint16(offset + 7), height: view.getUint16(offset + 5) };
      }
      if (marker === 0xda) break; // start of scan before any frame header
      offset += 2 + length;
    }
    throw new ImageRejected('JPEG without a frame header');
  }
  throw new ImageRejected('image bytes are neither PNG nor JPEG');
}
