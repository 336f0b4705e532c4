import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { InputKind } from '@labelloop/db';

const common = {
  externalId: z.string().min(1).max(512),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Optional known label; recorded as an annotation with source `import`. */
  label: z.string().min(1).optional(),
};

const textItem = z.strictObject({ ...common, text: z.string().min(1).max(1_000_000) });

const tabularItem = z.strictObject({
  ...common,
  features: z.union([
    z.array(z.number()).min(1).max(100_000),
    z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  ]),
});

const imageItem = z
  .strictObject({
    ...common,
    imageBase64: z.base64().min(1).optional(),
    pixels: z.array(z.number()).min(1).max(4_000_000).optional(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
  })
  .refine((item) => (item.imageBase64 === undefined) !== (item.pixels === undefined), {
    message: 'give exactly one of imageBase64 (PNG/JPEG bytes) or pixels (number array)',
  });

export const itemSchemas: Record<InputKind, z.ZodType> = { text: textItem, tabular: tabularItem, image: imageItem };

export type ItemInput = z.infer<typeof textItem> | z.infer<typeof tabularItem> | z.infer<typeof imageItem>;

/** What an item becomes in storage: JSON payload, or bytes bound for the object store. */
export interface PreparedItem {
  externalId: string;
  payloadJson: string | null;
  bytes: Buffer | null;
  contentHash: string;
  metadataJson: string;
  label: string | null;
}

export function prepareItem(input: ItemInput): PreparedItem {
  const base = {
    externalId: input.externalId,
    metadataJson: JSON.stringify(input.metadata ?? {}),
    label: input.label ?? null,
  };
  if ('imageBase64' in input && input.imageBase64 !== undefined) {
    const bytes = Buffer.from(input.imageBase64, 'base64');
    return { ...base, payloadJson: null, bytes, contentHash: sha256(bytes) };
  }
  let payload: object;
  if ('text' in input) payload = { text: input.text };
  else if ('features' in input) payload = { features: input.features };
  else payload = { pixels: input.pixels, width: input.width, height: input.height };
  const payloadJson = JSON.stringify(payload);
  return { ...base, payloadJson, bytes: null, contentHash: sha256(payloadJson) };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Image bytes are stored content-addressed, so re-imports and duplicates share one object. */
export function imageObjectKey(projectId: string, contentHash: string): string {
  return `projects/${projectId}/items/${contentHash}`;
}
