import type { InputKind } from '@labelloop/db';
import type { ImageInput, RawImage, TabularInput } from '@labelloop/ml';
import type { ObjectStore } from '@labelloop/storage';

// How an item becomes a featurizer input, shared by the trainer (fitting) and the scorer (scoring with the
// fitted featurizer from the artifact), so both see the same inputs.

export type ModelInput = string | TabularInput | ImageInput;

/**
 * The featurizer input of an item: text from `payload.text`; tabular from `payload.features` (an array
 * becomes columns f0, f1, ...; a record is kept; booleans become 0/1); an image from its object-store
 * bytes when it has them (`bytes`), else from `payload.pixels` with `width` / `height`.
 */
export function modelInput(kind: InputKind, payload: unknown, bytes?: Uint8Array): ModelInput {
  const value = payload as { text?: unknown; features?: unknown; pixels?: unknown } | null;
  if (kind === 'text') {
    if (typeof value?.text !== 'string') throw new Error('text item without a text payload');
    return value.text;
  }
  if (kind === 'image') {
    if (bytes) return bytes;
    if (!Array.isArray(value?.pixels)) throw new Error('image item without pixels or stored bytes');
    const size = value as { width?: number | null; height?: number | null };
    return rawImage(value.pixels as number[], size.width ?? undefined, size.height ?? undefined);
  }
  const features = value?.features;
  if (Array.isArray(features)) {
    return Object.fromEntries(features.map((v, i) => [`f${i}`, tabularValue(v)]));
  }
  if (features && typeof features === 'object') {
    return Object.fromEntries(Object.entries(features).map(([k, v]) => [k, tabularValue(v)]));
  }
  throw new Error('tabular item without a features payload');
}

/**
 * Raw pixels (row-major, channels interleaved). Without width and height the image is square and gray;
 * with one of them it is gray; with both the channel count is what the length implies (1, 3 or 4).
 */
export function rawImage(pixels: number[], width?: number, height?: number): RawImage {
  const n = pixels.length;
  const w = width ?? (height ? n / height : Math.sqrt(n));
  const h = height ?? n / w;
  const channels = n / (w * h);
  if (!Number.isInteger(w) || !Number.isInteger(h) || ![1, 3, 4].includes(channels)) {
    throw new Error(
      `${n} pixels do not make an image of ${width ?? '?'}x${height ?? '?'} with 1, 3 or 4 channels`,
    );
  }
  return { data: pixels, width: w, height: h, channels: channels as RawImage['channels'] };
}

function tabularValue(v: unknown): number | string | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return null;
}

/** The bytes of items stored in the object store (PNG/JPEG images), by item id. */
export async function storedBytes(
  store: ObjectStore,
  items: readonly { id: string; objectKey: string | null }[],
): Promise<Map<string, Uint8Array>> {
  const bytes = new Map<string, Uint8Array>();
  for (const item of items) {
    if (item.objectKey) bytes.set(item.id, new Uint8Array(await store.get(item.objectKey)));
  }
  return bytes;
}

/** Model inputs of pool items, in their order: image bytes read from the object store, decoded in the worker. */
export async function storedInputs(
  store: ObjectStore,
  kind: InputKind,
  items: readonly { id: string; payload: unknown; objectKey: string | null }[],
): Promise<ModelInput[]> {
  const bytes = await storedBytes(store, items);
  return items.map((item) => modelInput(kind, item.payload, bytes.get(item.id)));
}
